"""The approval gate every workflow uses: ask, wait for a decision, escalate, expire.

A workflow class inherits `ApprovalGate` and calls `await self.request_approval(ask)`. The gate's
steps open and escalate the inbox row (approval_requests). Staff decide through the inbox: the
API checks Casbin and records the decision in its own transaction (approvals.service.decide:
the row closed only while pending, audited, the subject settled where the ask says how), then
tells the workflow with the `approval_decided` signal through the outbox. The database is where
a decision and an expiry meet: each closes the row only while it is pending, and a gate that
expires or is withdrawn adopts a decision that committed first. Runs from before that design
still take the `decide` Update their histories hold."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

from workflows.steps import db_step, since

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalActivities
    from backroom.approvals.schemas import (
        ApprovalAsk,
        ApprovalLevel,
        ApprovalOutcome,
        CloseRequest,
        Decision,
        EscalateRequest,
        OpenRequest,
    )

__all__ = ["ApprovalAsk", "ApprovalGate", "ApprovalLevel", "ApprovalOutcome", "Decision"]


# Gates opened from here on write the inbox with local activities; older runs replay as before.
LOCAL_STEPS_PATCH = "approval-gate-local-activities"
# Decisions from here on are settled by the workflow's own step when it passes one (the inbox row
# closed and the decision applied in one transaction); older runs replay their separate close.
SETTLE_PATCH = "approval-gate-settle"
# Decisions from here on arrive recorded (the `approval_decided` signal): the gate closes the row
# only when it ends on its own, and adopts a decision that closed it first.
RECORDED_PATCH = "approval-gate-recorded-decisions"


async def _step(rev: int, method, arg):
    """One step of the gate (open, escalate, close the inbox row), a local activity: a decision is
    one workflow task (Update accepted, inbox closed, Update answered) instead of an activity task
    and a second workflow task, which held every decision behind three rounds of Temporal's
    persistence (issue 17: about 10 decisions per second whatever the number of clients)."""
    return await db_step(since(rev, 1, LOCAL_STEPS_PATCH), method, arg)


@dataclass
class _Gate:
    ask: ApprovalAsk
    level: int = 1
    decision: Decision | None = None
    recorded: bool = False  # the decision came by `approval_decided`: the inbox row is closed
    cancel_reason: str | None = None
    outcome: ApprovalOutcome | None = None


class ApprovalGate:
    """Mixin for workflow classes: provides `request_approval`, `cancel_approval` and the
    `decide` Update. Several gates may be open at once; each has its own request id."""

    @property
    def _gates(self) -> dict[int, _Gate]:
        gates = self.__dict__.get("_approval_gates")
        if gates is None:
            gates = self.__dict__["_approval_gates"] = {}
        return gates

    async def request_approval(
        self, ask: ApprovalAsk, settle: Callable[[CloseRequest], Awaitable[None]] | None = None
    ) -> ApprovalOutcome:
        """Open the gate and wait for approval, rejection, expiry or withdrawal. `settle`, if
        given, replaces the gate's own close step: one local activity of the workflow that
        closes the inbox row (approvals.service.close) and applies the outcome in the same
        transaction, so a decision takes the database's write turn once (issue 17). The
        decision's Update is answered once it has run."""
        info = workflow.info()
        first = ask.levels[0]
        request_id = await _step(
            ask.rev,
            ApprovalActivities.open,
            OpenRequest(
                ask=ask,
                workflow_id=info.workflow_id,
                run_id=info.run_id,
                deadline_at=workflow.now() + timedelta(hours=first.hours),
            ),
        )
        gate = self._gates[request_id] = _Gate(ask=ask)
        roles: list[str] = []
        status = "expired"
        for n, level in enumerate(ask.levels, start=1):
            roles.append(level.role)
            if n > 1:
                gate.level = n
                await _step(
                    ask.rev,
                    ApprovalActivities.escalate,
                    EscalateRequest(
                        request_id=request_id,
                        workflow_id=info.workflow_id,
                        level=n,
                        roles=roles,
                        deadline_at=workflow.now() + timedelta(hours=level.hours),
                    ),
                )
            try:
                await workflow.wait_condition(
                    lambda: gate.decision is not None or gate.cancel_reason is not None,
                    timeout=timedelta(hours=level.hours),
                )
            except TimeoutError:
                continue
            status = (
                "cancelled"
                if gate.decision is None
                else ("approved" if gate.decision.approve else "rejected")
            )
            break
        d = gate.decision
        close = CloseRequest(
            request_id=request_id,
            workflow_id=info.workflow_id,
            status=status,
            decided_by_id=d.user_id if d else None,
            decided_by_name=d.user_name if d else None,
            reason=(d.reason if d else gate.cancel_reason),
        )
        settled = False
        if since(ask.rev, 1, RECORDED_PATCH):
            close, settled = await self._close(close, gate, settle=settle)
            status = close.status
        elif settle is not None and workflow.patched(SETTLE_PATCH):
            await settle(close)
        else:
            await _step(ask.rev, ApprovalActivities.close, close)
        gate.outcome = ApprovalOutcome(
            request_id=request_id,
            status=status,
            level=gate.level,
            decided_by_id=close.decided_by_id,
            decided_by_name=close.decided_by_name,
            reason=close.reason,
            settled=settled,
        )
        return gate.outcome

    async def _close(
        self,
        close: CloseRequest,
        gate: _Gate,
        *,
        settle: Callable[[CloseRequest], Awaitable[None]] | None,
    ) -> tuple[CloseRequest, bool]:
        """End the gate: what closed the inbox row, and whether its subject is settled. A recorded
        decision closed it already. Otherwise (expiry, withdrawal; a decision by the `decide`
        Update of older callers) the gate closes it, unless a decision committed first: then
        that decision is the outcome, settled by its own transaction where the ask says how."""
        settled = gate.recorded and gate.decision.settled
        if not gate.recorded:
            first = await _step(gate.ask.rev, ApprovalActivities.close, close)
            if first is not None:
                close, settled = first, first.settled
        if settle is not None and not settled:
            await settle(close)  # its own close of the inbox row changes nothing now
            settled = True
        return close, settled

    def cancel_approval(self, reason: str) -> None:
        """Withdraw every open request (e.g. a payment made the approval unnecessary)."""
        for gate in self._gates.values():
            if gate.outcome is None and gate.decision is None:
                gate.cancel_reason = reason

    def approval_open(self) -> bool:
        return any(g.outcome is None for g in self._gates.values())

    @workflow.signal(name="approval_decided")
    def approval_decided(self, decision: Decision) -> None:
        """A decision the API has recorded (approvals.service.decide). Sent through the outbox,
        so it may come twice, or after the gate expired or was withdrawn; a gate that has a
        decision or an outcome keeps it (its close step has read the database's answer)."""
        gate = self._gates.get(decision.request_id)
        if gate is None or gate.outcome is not None or gate.decision is not None:
            return
        gate.decision, gate.recorded = decision, True

    @workflow.update
    async def decide(self, decision: Decision) -> ApprovalOutcome:
        """A staff decision sent to the workflow, as the API did before it recorded decisions
        itself (runs whose histories hold it replay it); returns once the inbox shows it."""
        gate = self._gates[decision.request_id]
        gate.decision = decision
        await workflow.wait_condition(lambda: gate.outcome is not None)
        return gate.outcome

    @decide.validator
    def _validate_decision(self, decision: Decision) -> None:
        gate = self._gates.get(decision.request_id)
        if gate is None or gate.outcome is not None or gate.cancel_reason is not None:
            raise ValueError("This request is no longer open: it was decided, expired or withdrawn.")
        if gate.decision is not None:
            raise ValueError("This request has already been decided.")
        if gate.ask.requested_by_id is not None and gate.ask.requested_by_id == decision.user_id:
            raise ValueError("You cannot decide on your own request.")
        if not decision.approve and not (decision.reason or "").strip():
            raise ValueError("A reason is required to reject.")
