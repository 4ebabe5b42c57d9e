"""Approval requests: the inbox rows the gate's activities open, escalate and expire, the inbox
queries, and a staff decision, recorded here in the caller's transaction and then told to the
workflow through the outbox."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.approvals import settlers
from backroom.approvals.errors import ApprovalNotOpen, DecisionRefused, NotAnApprover
from backroom.approvals.models import ApprovalRequest, ApprovalStatus
from backroom.approvals.schemas import ApprovalOutcome, CloseRequest, Decision, EscalateRequest, OpenRequest
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.auth.principal import Principal
from backroom.branches.models import Branch
from backroom.db.base import utcnow
from backroom.errors import not_found
from backroom.starts import service as starts

# The signal that tells a gate's workflow of a recorded decision (workflows.approval).
DECIDED_SIGNAL = "approval_decided"

INBOX_LIMIT = 500


async def open_request(session: AsyncSession, *, req: OpenRequest) -> ApprovalRequest:
    """Create the inbox row for a gate. Idempotent: the key (workflow run + gate key) is unique."""
    key = f"{req.workflow_id}/{req.run_id}/{req.ask.key}"
    existing = await session.scalar(select(ApprovalRequest).where(ApprovalRequest.key == key))
    if existing:
        return existing
    ask = req.ask
    # An inbox row nobody can see would only expire; refuse it (the branch's key would fail anyway).
    if await session.get(Branch, ask.branch_id) is None:
        raise not_found("Branch", ask.branch_id)
    row = ApprovalRequest(
        key=key,
        workflow_id=req.workflow_id,
        branch_id=ask.branch_id,
        subject_type=ask.subject_type,
        subject_id=ask.subject_id,
        title=ask.title,
        reason=ask.reason,
        amount_minor=ask.amount_minor,
        currency=ask.currency,
        requested_by_id=ask.requested_by_id,
        requested_by_name=ask.requested_by_name,
        function=ask.function,
        action=ask.action,
        roles=ask.levels[0].role,
        level=1,
        status=ApprovalStatus.PENDING,
        deadline_at=req.deadline_at,
        settled_by=ask.settled_by,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=Actor.workflow(req.workflow_id, on_behalf_of=ask.requested_by_id),
        action="approval.open",
        entity_type="approval",
        entity_id=row.id,
        branch_id=row.branch_id,
        after=audit.snapshot(row),
    )
    return row


async def escalate(session: AsyncSession, *, req: EscalateRequest) -> None:
    """Move a pending request to the next level. Idempotent: only a lower level moves."""
    row = await session.get(ApprovalRequest, req.request_id)
    if row is None or row.status != ApprovalStatus.PENDING or row.level >= req.level:
        return
    before = {"level": row.level, "roles": row.roles, "deadline_at": row.deadline_at}
    row.level, row.roles, row.deadline_at = req.level, ",".join(req.roles), req.deadline_at
    await session.flush()
    await audit.record(
        session,
        actor=Actor.workflow(req.workflow_id),
        action="approval.escalate",
        entity_type="approval",
        entity_id=row.id,
        branch_id=row.branch_id,
        before=before,
        after={"level": row.level, "roles": row.roles, "deadline_at": row.deadline_at},
    )


async def close(session: AsyncSession, *, req: CloseRequest) -> CloseRequest | None:
    """Record the final state of a request, if it is still pending; None when this call (or an
    earlier try of it) closed it, else the decision that closed it first (a person's, recorded
    by `decide`), which the gate then adopts. Idempotent. One statement and the audit event: the
    write transaction (on SQLite, the one writer's turn) is held for few round trips (issue 17)."""
    actor = (
        Actor(
            "user",
            str(req.decided_by_id),
            req.decided_by_name,
            user_id=req.decided_by_id,
            workflow_id=req.workflow_id,
        )
        if req.decided_by_id
        else Actor.workflow(req.workflow_id)
    )
    closed = await _close_pending(session, req)
    if closed is not None:
        await _audit_close(session, closed, req, actor=actor)
        return None
    return _closed_before(await get(session, req.request_id), req)


async def _close_pending(session: AsyncSession, req: CloseRequest) -> ApprovalRequest | None:
    """Close the request as `req` says, only while it is pending: one UPDATE that returns the
    row as it now is; None if it was not pending (closed by someone else first, or no such
    request). Not audited here: the caller audits it as whoever closed it."""
    now = utcnow()
    return await session.scalar(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == req.request_id, ApprovalRequest.status == ApprovalStatus.PENDING)
        .values(
            status=req.status,
            decided_by_id=req.decided_by_id,
            decided_by_name=req.decided_by_name,
            decision_reason=req.reason,
            decided_at=now,
            updated_at=now,
        )
        .returning(ApprovalRequest)
        # The row as closed, also where this session had loaded it before.
        .execution_options(populate_existing=True)
    )


async def _audit_close(
    session: AsyncSession, row: ApprovalRequest, req: CloseRequest, *, actor: Actor
) -> None:
    await audit.record(
        session,
        actor=actor,
        action=f"approval.{req.status}",
        entity_type="approval",
        entity_id=row.id,
        branch_id=row.branch_id,
        before={"status": ApprovalStatus.PENDING},
        after={"status": req.status, "decided_by_id": req.decided_by_id, "reason": req.reason},
    )


def _closed_before(row: ApprovalRequest, req: CloseRequest) -> CloseRequest | None:
    """What closed the row, unless it was this same close (a retried step)."""
    if row.status == req.status and row.decided_by_id == req.decided_by_id:
        return None
    return CloseRequest(
        request_id=row.id,
        workflow_id=row.workflow_id,
        status=row.status,
        decided_by_id=row.decided_by_id,
        decided_by_name=row.decided_by_name,
        reason=row.decision_reason,
        # A person's decision ran the row's settling step in its own transaction.
        settled=bool(row.settled_by and row.decided_by_id),
    )


async def get(session: AsyncSession, request_id: int) -> ApprovalRequest:
    row = await session.get(ApprovalRequest, request_id)
    if row is None:
        raise not_found("Approval request", request_id)
    return row


def may_decide(p: Principal, row: ApprovalRequest) -> bool:
    """Holds the permission in the request's branch and a role the request is addressed to."""
    if not p.can(row.function, row.action, row.branch_id):
        return False
    roles = p.roles_in(row.branch_id)
    return "admin" in roles or bool(roles & set(row.roles.split(",")))


def waits_for(p: Principal, row: ApprovalRequest) -> bool:
    """The request waits for this user's decision: they may decide it and did not ask for it
    (nobody approves their own request; it shows under their requests instead)."""
    return row.requested_by_id != p.user_id and may_decide(p, row)


def may_see(p: Principal, row: ApprovalRequest) -> bool:
    return (
        may_decide(p, row) or p.can(row.function, "read", row.branch_id) or row.requested_by_id == p.user_id
    )


async def inbox(
    session: AsyncSession, *, p: Principal, status: Literal["pending", "decided"] = "pending"
) -> list[ApprovalRequest]:
    """Requests the user can decide (pending) or has seen decided, soonest deadline first.
    Filtering by role happens in Python: inboxes are short, and Casbin decides per branch."""
    stmt = select(ApprovalRequest)
    if status == "pending":
        stmt = stmt.where(ApprovalRequest.status == ApprovalStatus.PENDING).order_by(
            ApprovalRequest.deadline_at, ApprovalRequest.id
        )
    else:
        stmt = stmt.where(ApprovalRequest.status != ApprovalStatus.PENDING).order_by(
            ApprovalRequest.decided_at.desc(), ApprovalRequest.id.desc()
        )
    if not p.all_branches:
        stmt = stmt.where(ApprovalRequest.branch_id.in_({b for _, b in p.grants}))
    rows = (await session.execute(stmt.limit(INBOX_LIMIT))).scalars()
    if status == "pending":
        return [r for r in rows if waits_for(p, r)]
    return [r for r in rows if may_decide(p, r) or r.decided_by_id == p.user_id]


async def my_requests(session: AsyncSession, *, p: Principal, limit: int = 50) -> list[ApprovalRequest]:
    rows = await session.execute(
        select(ApprovalRequest)
        .where(ApprovalRequest.requested_by_id == p.user_id)
        .order_by(ApprovalRequest.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def decide(
    session: AsyncSession, *, request_id: int, p: Principal, approve: bool, reason: str | None
) -> ApprovalOutcome:
    """Record a staff decision in the caller's transaction: the request closed (only while it is
    pending; the decider checked against the row as closed, a refusal raising for the caller's
    transaction to roll back, as every caller's does), audited as the decider, its subject settled
    where the ask names a settling step (approvals.settlers), and the `approval_decided` signal
    queued for the workflow, sent just after the reply (the outbox delivers it if Temporal is down).
    Not idempotent by design: a second decision finds the request closed and is refused."""
    reason = (reason or "").strip() or None
    closing = CloseRequest(
        request_id=request_id,
        workflow_id="",  # the row's, once it is read back
        status=ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED,
        decided_by_id=p.user_id,
        decided_by_name=p.full_name,
        reason=reason,
    )
    # Closed first and checked after, from the row the UPDATE returns: one statement, and what
    # is checked is the row as it was closed (an escalation a moment earlier is seen). A refusal
    # raises, and the caller's transaction rolls the close back with it.
    row = await _close_pending(session, closing)
    if row is None:
        row = await get(session, request_id)  # no such request (404), or closed already
        raise ApprovalNotOpen(f"Request #{row.id} is already {row.status}.")
    if not may_decide(p, row):
        raise NotAnApprover(f"You may not decide request #{row.id} in this branch.")
    if row.requested_by_id == p.user_id:
        raise DecisionRefused("You cannot decide on your own request.")
    if not approve and not reason:
        raise DecisionRefused("A reason is required to reject.", field="reason")
    closing.workflow_id = row.workflow_id
    # The decider's own write, linked to the gate's workflow as the gate's steps are.
    actor = replace(p.actor(), workflow_id=row.workflow_id)
    await _audit_close(session, row, closing, actor=actor)
    outcome = ApprovalOutcome(
        request_id=row.id,
        status=closing.status,
        level=row.level,
        decided_by_id=p.user_id,
        decided_by_name=p.full_name,
        reason=reason,
    )
    outcome.settled = await settlers.settle(session, row=row, outcome=outcome, actor=actor)
    decision = Decision(
        request_id=row.id,
        approve=approve,
        reason=reason,
        user_id=p.user_id,
        user_name=p.full_name,
        settled=outcome.settled,
    )
    # After the reply: the decision and its effect are committed; the approver waits for no
    # round trip to Temporal, and the workflow is told a moment later (or by the poller).
    await starts.enqueue_signal(
        session, workflow_id=row.workflow_id, signal=DECIDED_SIGNAL, arg=decision, after_reply=True
    )
    return outcome
