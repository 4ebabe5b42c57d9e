"""ComplaintWorkflow (complaint-{id}): runs the severity's SLA clocks, escalates on breach,
pauses while waiting on the customer, asks approval for refunds, and stays open for reopening."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.complaints import ComplaintActivities
    from backroom.complaints.flow import (
        COMPLAINT_WORKFLOW,
        GOODWILL_GATE_PATCH,
        REFUND_MOVES_MONEY_PATCH,
        Breach,
        ComplaintInput,
        ComplaintState,
        RefundDecision,
        Resolution,
    )
    from backroom.money import format_money
    from backroom.sla import ALWAYS
    from backroom.temporal import GATEWAY_CALL, SHORT_DB_STEP
    from workflows.approval import ApprovalAsk, ApprovalGate, ApprovalLevel


LEVELS = ("agent", "supervisor", "manager")


@workflow.defn(name=COMPLAINT_WORKFLOW)
class ComplaintWorkflow(ApprovalGate):
    def __init__(self) -> None:
        super().__init__()
        self._version = 0
        self._paused = False
        self._responded = False
        self._resolution: Resolution | None = None
        self._reopened = False
        self._level = 0
        self._breaches = 0
        self._fr_left: timedelta | None = None
        self._res_left: timedelta | None = None
        self._status = "open"
        self._stretch_start = None  # when the clocks last started running (None: stopped)
        self._cal = ALWAYS

    def _bump(self) -> None:
        self._version += 1

    @workflow.run
    async def run(self, inp: ComplaintInput) -> str:
        """Drive the complaint until it is closed (resolved and not reopened within the window)."""
        self._cal = inp.calendar or ALWAYS
        self._fr_left = timedelta(minutes=inp.first_response_minutes)
        self._res_left = timedelta(minutes=inp.resolution_minutes)
        round_no = 0
        while True:
            await self._run_clocks(inp)
            round_no += 1
            self._status = "resolved"
            res = self._resolution
            # Goodwill above the threshold waits here for finance (runs from before skip this).
            if res and res.goodwill_minor and workflow.patched(GOODWILL_GATE_PATCH):
                await self._ask_goodwill(inp, res, round_no)
            if res and res.refund_minor:
                await self._ask_refund(inp, res, round_no)
            await workflow.execute_activity_method(
                ComplaintActivities.send_satisfaction,
                args=[inp.complaint_id, round_no],
                **SHORT_DB_STEP,
            )
            try:
                await workflow.wait_condition(
                    lambda: self._reopened, timeout=timedelta(minutes=inp.reopen_window_minutes)
                )
            except TimeoutError:
                await workflow.execute_activity_method(
                    ComplaintActivities.close_complaint, inp.complaint_id, **SHORT_DB_STEP
                )
                self._status = "closed"
                return "closed"
            # Reopened: the same workflow resumes with a fresh resolution clock.
            self._reopened, self._resolution, self._status = False, None, "open"
            self._res_left = timedelta(minutes=inp.resolution_minutes)

    async def _run_clocks(self, inp: ComplaintInput) -> None:
        while self._resolution is None:
            if self._paused:
                await workflow.wait_condition(lambda: not self._paused or self._resolution is not None)
                continue
            running = [
                t for t in (None if self._responded else self._fr_left, self._res_left) if t is not None
            ]
            version, started = self._version, workflow.now()
            self._stretch_start = started
            # The clocks count the branch's working time: the wait ends where the calendar has
            # used up the shortest clock.
            timeout = self._cal.add(started, min(running)) - started if running else None
            try:
                await workflow.wait_condition(
                    lambda: self._version != version,  # noqa: B023 (awaited at once)
                    timeout=timeout,
                )
            except TimeoutError:
                pass
            self._stretch_start = None
            # Working time passed while the clocks ran (a state change ends the stretch early).
            spent = self._cal.between(started, workflow.now())
            if self._fr_left is not None and not self._responded:
                self._fr_left -= spent
            if self._res_left is not None:
                self._res_left -= spent
            if self._resolution is not None:
                return
            if self._fr_left is not None and not self._responded and self._fr_left <= timedelta(0):
                self._fr_left = None  # a missed first response is breached once
                await self._breach(inp, "first_response")
            if self._res_left is not None and self._res_left <= timedelta(0):
                await self._breach(inp, "resolution")
                # The next level gets a fresh resolution window; at the top the clock stops.
                self._res_left = (
                    timedelta(minutes=inp.resolution_minutes) if self._level < len(LEVELS) - 1 else None
                )

    async def _breach(self, inp: ComplaintInput, clock: str) -> None:
        self._breaches += 1
        self._level = min(self._level + 1, len(LEVELS) - 1)
        await workflow.execute_activity_method(
            ComplaintActivities.record_breach,
            Breach(
                complaint_id=inp.complaint_id,
                clock=clock,
                to_level=LEVELS[self._level],
                key=f"complaint-{inp.complaint_id}:breach:{self._breaches}",
                at=workflow.now(),
            ),
            **SHORT_DB_STEP,
        )

    async def _ask(self, inp: ComplaintInput, res: Resolution, round_no: int, what: str) -> RefundDecision:
        """Open the approval gate for the round's refund or goodwill and wait for its outcome."""
        goodwill = what == "goodwill"
        amount = res.goodwill_minor if goodwill else res.refund_minor
        outcome = await self.request_approval(
            ApprovalAsk(
                key=f"complaint-{inp.complaint_id}-{what}-{round_no}",
                branch_id=inp.branch_id,
                subject_type="complaint",
                subject_id=str(inp.complaint_id),
                title=f"Goodwill credit of {format_money(amount, res.currency or 'USD')} for {inp.title}"
                if goodwill
                else f"Refund for {inp.title}",
                reason="Complaint resolution above the branch's goodwill threshold"
                if goodwill
                else "Complaint resolution",
                amount_minor=amount,
                currency=res.currency,
                requested_by_id=res.requested_by_id,
                requested_by_name=res.requested_by_name,
                function="credit" if goodwill else "complaints",
                action="approve",
                levels=(res.goodwill_levels if goodwill else inp.refund_levels)
                or [
                    ApprovalLevel(role="finance" if goodwill else "supervisor", hours=24),
                    ApprovalLevel(role="manager", hours=24),
                ],
            )
        )
        return RefundDecision(
            complaint_id=inp.complaint_id,
            status=outcome.status,
            key=f"complaint-{inp.complaint_id}:{what}:{round_no}",
            decided_by_id=outcome.decided_by_id,
            decided_by_name=outcome.decided_by_name,
        )

    async def _ask_refund(self, inp: ComplaintInput, res: Resolution, round_no: int) -> None:
        decision = await self._ask(inp, res, round_no, "refund")
        if workflow.patched(REFUND_MOVES_MONEY_PATCH):
            # Approved, the money goes back (card or credit account) once, keyed by the round.
            await workflow.execute_activity_method(
                ComplaintActivities.settle_refund, decision, **GATEWAY_CALL
            )
            return
        await workflow.execute_activity_method(
            ComplaintActivities.record_refund,
            RefundDecision(complaint_id=decision.complaint_id, status=decision.status, key=decision.key),
            **SHORT_DB_STEP,
        )

    async def _ask_goodwill(self, inp: ComplaintInput, res: Resolution, round_no: int) -> None:
        decision = await self._ask(inp, res, round_no, "goodwill")
        await workflow.execute_activity_method(ComplaintActivities.settle_goodwill, decision, **SHORT_DB_STEP)

    @workflow.signal
    def responded(self) -> None:
        self._responded = True
        self._bump()

    @workflow.signal
    def awaiting_customer(self) -> None:
        self._paused = True
        self._bump()

    @workflow.signal
    def customer_replied(self) -> None:
        self._paused = False
        self._bump()

    @workflow.signal
    def resolved(self, res: Resolution) -> None:
        self._responded = True
        self._paused = False
        self._resolution = res
        self._bump()

    @workflow.signal
    def reopen(self) -> None:
        if self._status == "resolved":
            self._reopened = True
            self._bump()

    @workflow.query
    def state(self) -> ComplaintState:
        running = (
            self._cal.between(self._stretch_start, workflow.now()) if self._stretch_start else timedelta(0)
        )
        fr = None if self._fr_left is None or self._responded else (self._fr_left - running).total_seconds()
        res = None if self._res_left is None else (self._res_left - running).total_seconds()
        return ComplaintState(
            status=self._status,
            level=LEVELS[self._level],
            paused=self._paused,
            first_response_left_s=fr,
            resolution_left_s=res,
            breaches=self._breaches,
        )


WORKFLOWS = [ComplaintWorkflow]
