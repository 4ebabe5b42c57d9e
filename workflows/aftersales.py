"""RmaCaseWorkflow (rma-{id}): one return or repair from request to closing, through the
explicit states of backroom.aftersales.flow. People's steps arrive as the `act` Update (its
validator refuses a step the state does not allow, at once); the workflow does the rest:
labels both ways, the quote with its deadline and one reminder, the approval gate above the
refund threshold, the refund, the replacement order, and the SLA clock (stopped while waiting
on the customer; a breach raises an alert)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.aftersales import AftersalesActivities
    from backroom.aftersales.flow import (
        FINAL,
        RMA_WORKFLOW,
        STEPS,
        WAITING_ON_CUSTOMER,
        Breach,
        CaseAction,
        CaseView,
        LabelAsk,
        MoneyAsk,
        QuoteMail,
        RmaInput,
        Transition,
        refusal,
    )
    from backroom.aftersales.models import CaseKind, CaseState
    from backroom.sla import ALWAYS
    from backroom.temporal import GATEWAY_CALL, SHORT_DB_STEP
    from workflows.approval import ApprovalAsk, ApprovalGate

S = CaseState


@workflow.defn(name=RMA_WORKFLOW)
class RmaCaseWorkflow(ApprovalGate):
    def __init__(self) -> None:
        super().__init__()
        self._inp: RmaInput | None = None
        self._state: str = S.REQUESTED
        self._version = 0
        self._seq = 0
        # True while the workflow itself works (labels, money, approval): people's steps wait.
        self._busy = True
        self._done = False
        self._breached = False
        self._sla_left: timedelta | None = None
        self._stretch = None
        self._cal = ALWAYS

    # ---- run ---------------------------------------------------------------------------------
    @workflow.run
    async def run(self, inp: RmaInput) -> str:
        """Drive the case to closed or cancelled; returns the final state."""
        self._inp = inp
        self._state = inp.start_state
        self._sla_left = timedelta(minutes=inp.sla_minutes)
        self._cal = inp.calendar or ALWAYS
        clock = asyncio.create_task(self._clock())
        await self._flow()
        if self._state not in FINAL:
            await self._move("close", S.CLOSED, "Case closed.")
        self._done = True
        self._version += 1
        await clock
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    async def _flow(self) -> None:
        # Each stage runs when the case is at it, so a case imported (or seeded) in a later
        # state starts where it stands (RmaInput.start_state).
        inp = self._inp
        if self._state == S.REQUESTED and not await self._wait_person(S.REQUESTED):
            return
        if self._state == S.APPROVED:
            if inp.by_post:
                await self._label("return")
            await self._move("await_item", S.AWAITING_ITEM, "Waiting for the customer's item.")
        if self._state == S.AWAITING_ITEM and not await self._wait_person(S.AWAITING_ITEM):
            if inp.by_post:
                await workflow.execute_activity_method(
                    AftersalesActivities.void_label, self._label_ask("return"), **GATEWAY_CALL
                )
            return
        if inp.kind == CaseKind.REPAIR:
            await self._repair()
        elif self._state == S.RECEIVED:
            await self._settle()
        elif self._state == S.READY:
            await self._send_back()

    async def _repair(self) -> None:
        inp = self._inp
        if self._state == S.RECEIVED and not await self._wait_person(S.RECEIVED):  # diagnosis
            return
        if self._state == S.DIAGNOSED:
            if inp.under_warranty:
                await self._move("free_repair", S.IN_REPAIR, "Under warranty: repaired free of charge.")
            elif not await self._wait_person(S.DIAGNOSED):  # the technician's quote
                return
        if self._state == S.QUOTE_SENT:
            await self._quote()
            if self._state == S.CANCELLED:
                return
        if self._state == S.QUOTE_DECLINED:
            await self._move("return_unrepaired", S.READY, "Quote declined: the item goes back unrepaired.")
        if self._state == S.QUOTE_APPROVED:
            await self._move("start_repair", S.IN_REPAIR, "Quote approved: repair started.")
        while self._state in (S.IN_REPAIR, S.QUALITY_CHECK):
            await self._wait_person(self._state)
        await self._send_back()

    async def _quote(self) -> None:
        """Mail the quote, wait N days, remind once, wait the grace days, then count it declined."""
        inp = self._inp
        for reminder, days in ((False, inp.quote_days), (True, inp.quote_grace_days)):
            await workflow.execute_activity_method(
                AftersalesActivities.send_quote,
                QuoteMail(
                    case_id=inp.case_id,
                    reminder=reminder,
                    key=f"{workflow.info().workflow_id}:quote:{'reminder' if reminder else 'sent'}",
                    due_at=workflow.now() + timedelta(days=days),
                ),
                **SHORT_DB_STEP,
            )
            self._busy = False
            try:
                await workflow.wait_condition(
                    lambda: self._state != S.QUOTE_SENT, timeout=timedelta(days=days)
                )
                return
            except TimeoutError:
                self._busy = True  # no await before the move: a late answer is refused from here
        await self._move("quote_expired", S.QUOTE_DECLINED, "No answer to the quote in time.")

    async def _settle(self) -> None:
        """Refund or replace; above the threshold only after the approval gate."""
        inp = self._inp
        what = "refund" if inp.kind == CaseKind.REFUND else "replacement"
        if inp.money_minor > inp.approval_over_minor:
            outcome = await self.request_approval(
                ApprovalAsk(
                    key=f"rma-{inp.case_id}-{what}",
                    branch_id=inp.branch_id,
                    subject_type="rma_case",
                    subject_id=str(inp.case_id),
                    title=f"{what.title()} for {inp.title}",
                    reason=f"{what.title()} above the approval threshold",
                    amount_minor=inp.money_minor,
                    currency=inp.currency,
                    requested_by_id=None,
                    requested_by_name="after-sales",
                    function="service",
                    action="approve",
                    levels=inp.approval_levels,
                )
            )
            if outcome.status != "approved":
                await self._move(
                    f"{what}_{outcome.status}",
                    S.READY,
                    f"{what.title()} {outcome.status}: the item goes back to the customer.",
                )
                await self._send_back()
                return
        if inp.kind == CaseKind.REFUND:
            await workflow.execute_activity_method(
                AftersalesActivities.refund,
                MoneyAsk(case_id=inp.case_id, key=f"{workflow.info().workflow_id}:refund"),
                **GATEWAY_CALL,
            )
            await self._move("refund", S.REFUNDED, "Refunded to the card.")
        else:
            order_id = await workflow.execute_activity_method(
                AftersalesActivities.create_replacement, inp.case_id, **SHORT_DB_STEP
            )
            await self._move("replace", S.REPLACED, f"Replacement sent as order #{order_id}.")

    async def _send_back(self) -> None:
        """The item goes back: an outbound label when it ships, then the warehouse's hand-over."""
        if self._inp.by_post:
            await self._label("outbound")
        await self._wait_person(S.READY)

    # ---- steps -------------------------------------------------------------------------------
    async def _wait_person(self, state: str) -> bool:
        """Let people act and wait until one moves the case on; False when it was cancelled."""
        self._busy = False
        await workflow.wait_condition(lambda: self._state != state)
        return self._state != S.CANCELLED

    async def _move(
        self, action: str, to: str, detail: str | None = None, step: CaseAction | None = None
    ) -> None:
        self._seq += 1
        await workflow.execute_activity_method(
            AftersalesActivities.transition,
            Transition(
                case_id=self._inp.case_id,
                action=action,
                to_state=to,
                key=f"{workflow.info().workflow_id}:{self._seq}:{action}",
                at=workflow.now(),
                detail=detail,
                step=step,
            ),
            **SHORT_DB_STEP,
        )
        self._state = to
        self._version += 1

    def _label_ask(self, leg: str) -> LabelAsk:
        return LabelAsk(
            case_id=self._inp.case_id,
            leg=leg,
            key=f"{workflow.info().workflow_id}:label:{leg}",
            promised_days=self._inp.promised_days,
        )

    async def _label(self, leg: str) -> None:
        """Quote, then buy, as two activities with the same key: never two labels per leg."""
        ask = self._label_ask(leg)
        try:
            rate = await workflow.execute_activity_method(
                AftersalesActivities.quote_label, ask, **GATEWAY_CALL
            )
            await workflow.execute_activity_method(
                AftersalesActivities.buy_label, ask.model_copy(update={"rate": rate}), **GATEWAY_CALL
            )
        except ActivityError as err:
            # The carrier refused for good: the case goes on over the counter; people see why.
            await self._move("label_failed", self._state, f"No {leg} label: {err.cause or err}")

    async def _clock(self) -> None:
        """The turnaround clock: runs except while waiting on the customer; breaches once."""
        while not self._done and not self._breached:
            version = self._version
            if self._state in WAITING_ON_CUSTOMER:
                await workflow.wait_condition(lambda: self._version != version)  # noqa: B023
                continue
            started = self._stretch = workflow.now()
            # Working time only: the deadline is where the branch calendar has used up what is left.
            due = self._cal.add(started, max(self._sla_left, timedelta(seconds=1)))
            try:
                await workflow.wait_condition(
                    lambda: self._version != version,  # noqa: B023
                    timeout=max(due - started, timedelta(seconds=1)),
                )
            except TimeoutError:
                pass
            self._stretch = None
            self._sla_left -= self._cal.between(started, workflow.now())
            if self._sla_left <= timedelta(0) and not self._done:
                self._breached = True
                await workflow.execute_activity_method(
                    AftersalesActivities.record_breach,
                    Breach(
                        case_id=self._inp.case_id,
                        key=f"{workflow.info().workflow_id}:breach",
                        at=workflow.now(),
                    ),
                    **SHORT_DB_STEP,
                )

    # ---- handlers ----------------------------------------------------------------------------
    @workflow.update
    async def act(self, step: CaseAction) -> CaseView:
        """A person's step (authorized by the API); returns once the case shows it."""
        self._busy = True  # one step at a time; the main flow clears it when people may act again
        await self._move(step.action, STEPS[step.action].to, step=step)
        return self.view()

    def _processing(self) -> bool:
        """Whether a person's step is refused now: the run has not started, or it is doing its
        own part (CaseView.busy says so to callers)."""
        return self._inp is None or self._busy

    @act.validator
    def _validate_act(self, step: CaseAction) -> None:
        if self._processing():
            raise ValueError("The case is being processed; try again in a moment.")
        why = refusal(
            step.action, kind=self._inp.kind, state=self._state, under_warranty=self._inp.under_warranty
        )
        if why:
            raise ValueError(why)
        if step.action == "quote" and not step.lines:
            raise ValueError("A quote needs at least one part or labour line.")
        if step.action == "diagnose" and not (step.diagnosis or step.note):
            raise ValueError("Write what is wrong with the item.")

    @workflow.query
    def view(self) -> CaseView:
        left = None
        if self._sla_left is not None:
            running = self._cal.between(self._stretch, workflow.now()) if self._stretch else timedelta(0)
            left = (self._sla_left - running).total_seconds()
        return CaseView(
            state=self._state,
            paused=self._state in WAITING_ON_CUSTOMER,
            sla_left_s=left,
            breached=self._breached,
            busy=self._processing(),
        )


WORKFLOWS = [RmaCaseWorkflow]
