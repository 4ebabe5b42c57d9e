"""The approval gate every workflow uses: ask, wait for a decision (an Update), escalate, expire.

A workflow class inherits `ApprovalGate` and calls `await self.request_approval(ask)`. Staff
decide through the inbox; the API checks Casbin and sends the `decide` Update, whose validator
refuses stale, repeated and self-approvals. The gate's activities keep the inbox projection
(approval_requests) in step, so the inbox is strongly consistent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

from workflows.steps import db_step

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


async def _step(method, arg):
    """One step of the gate (open, escalate, close the inbox row), a local activity: a decision is
    one workflow task (Update accepted, inbox closed, Update answered) instead of an activity task
    and a second workflow task, which held every decision behind three rounds of Temporal's
    persistence (issue 17: about 10 decisions per second whatever the number of clients)."""
    return await db_step(LOCAL_STEPS_PATCH, method, arg)


@dataclass
class _Gate:
    ask: ApprovalAsk
    level: int = 1
    decision: Decision | None = None
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

    async def request_approval(self, ask: ApprovalAsk) -> ApprovalOutcome:
        """Open the gate and wait for approval, rejection, expiry or withdrawal."""
        info = workflow.info()
        first = ask.levels[0]
        request_id = await _step(
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
        await _step(ApprovalActivities.close, close)
        gate.outcome = ApprovalOutcome(
            request_id=request_id,
            status=status,
            level=gate.level,
            decided_by_id=close.decided_by_id,
            decided_by_name=close.decided_by_name,
            reason=close.reason,
        )
        return gate.outcome

    def cancel_approval(self, reason: str) -> None:
        """Withdraw every open request (e.g. a payment made the approval unnecessary)."""
        for gate in self._gates.values():
            if gate.outcome is None and gate.decision is None:
                gate.cancel_reason = reason

    def approval_open(self) -> bool:
        return any(g.outcome is None for g in self._gates.values())

    @workflow.update
    async def decide(self, decision: Decision) -> ApprovalOutcome:
        """Record a staff decision; returns once the inbox projection shows it."""
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
