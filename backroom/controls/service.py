"""Four-eyes controls: record a requested action and queue FourEyesWorkflow (four-eyes-{id}),
which asks a second person through the approval gate; list and read the requests. The
domains' request use cases call `request`; apply.py applies the approved ones."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.approvals.schemas import ApprovalLevel
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.controls.flow import FOUR_EYES_WORKFLOW, FourEyesInput, four_eyes_workflow_id
from backroom.controls.models import GatedAction, GatedKind, GatedStatus
from backroom.errors import Conflict, InvalidInput, not_found
from backroom.starts import service as starts


@dataclass(frozen=True)
class Rule:
    function: str  # the permission an approver holds (with "approve") in the branch
    role: str  # who is asked first; an admin after as long again


RULES: dict[GatedKind, Rule] = {
    GatedKind.customer_merge: Rule("customers", "manager"),
    GatedKind.customer_erasure: Rule("customers", "manager"),
    GatedKind.credit_adjustment: Rule("credit", "finance"),
    GatedKind.stock_writeoff: Rule("vendors", "manager"),
    GatedKind.price_change: Rule("vendors", "manager"),
    GatedKind.cash_payout: Rule("payments", "manager"),
}


class ActionPending(Conflict):
    code, title = "action_pending", "Already waiting for approval"


async def request(
    session: AsyncSession,
    *,
    actor: Actor,
    kind: GatedKind,
    branch_id: int,
    subject_type: str,
    subject_id: str,
    title: str,
    payload: dict,
    hours: float,
    reason: str | None = None,
    amount_minor: int | None = None,
    currency: str | None = None,
) -> GatedAction:
    """Record the action and queue its approval workflow; nothing changes until another person
    approves. One pending request per action and subject at a time."""
    if actor.user_id is None:
        raise InvalidInput("Only a signed-in person can ask for this; another approves it.")
    pending = await session.scalar(
        select(GatedAction.id).where(
            GatedAction.kind == kind,
            GatedAction.subject_type == subject_type,
            GatedAction.subject_id == subject_id,
            GatedAction.status == GatedStatus.pending,
        )
    )
    if pending:
        raise ActionPending(f"Request #{pending} for this is already waiting for approval.")
    row = GatedAction(
        kind=kind,
        branch_id=branch_id,
        subject_type=subject_type,
        subject_id=subject_id,
        title=title[:200],
        reason=reason,
        payload=payload,
        amount_minor=amount_minor,
        currency=currency,
        status=GatedStatus.pending,
        requested_by_name=actor.name,
        created_by_id=actor.user_id,
        shift_id=actor.shift_id,
    )
    session.add(row)
    await session.flush()
    row.workflow_id = four_eyes_workflow_id(row.id)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"four_eyes.request.{kind}",
        entity_type=subject_type,
        entity_id=subject_id,
        branch_id=branch_id,
        after=audit.snapshot(row),
    )
    rule = RULES[kind]
    await starts.enqueue(
        session,
        run=FOUR_EYES_WORKFLOW,
        arg=FourEyesInput(
            action_id=row.id,
            branch_id=branch_id,
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            title=row.title,
            reason=reason,
            amount_minor=amount_minor,
            currency=currency,
            requested_by_id=actor.user_id,
            requested_by_name=actor.name or str(actor.user_id),
            function=rule.function,
            levels=[ApprovalLevel(role=rule.role, hours=hours), ApprovalLevel(role="admin", hours=hours)],
        ),
        workflow_id=row.workflow_id,
        branch_id=branch_id,
    )
    return row


async def get(session: AsyncSession, action_id: int) -> GatedAction:
    row = await session.get(GatedAction, action_id)
    if row is None:
        raise not_found("Request", action_id)
    return row


async def for_subject(session: AsyncSession, *, subject_type: str, subject_id: str) -> list[GatedAction]:
    """The requests about one record, newest first. Read-only."""
    rows = await session.execute(
        select(GatedAction)
        .where(GatedAction.subject_type == subject_type, GatedAction.subject_id == subject_id)
        .order_by(GatedAction.id.desc())
    )
    return list(rows.scalars())
