"""Approval requests: the inbox projection written by the gate's activities, the inbox
queries, and sending a staff decision to the workflow."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from backroom.approvals.errors import ApprovalNotOpen, DecisionRefused, NotAnApprover
from backroom.approvals.models import ApprovalRequest, ApprovalStatus
from backroom.approvals.schemas import ApprovalOutcome, CloseRequest, Decision, EscalateRequest, OpenRequest
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.auth.principal import Principal
from backroom.branches.models import Branch
from backroom.db.base import utcnow
from backroom.errors import not_found
from backroom.temporal import Connect, raise_if_unreachable

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


async def close(session: AsyncSession, *, req: CloseRequest) -> None:
    """Record the final state of a request. Idempotent: only a pending request changes."""
    result = await session.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == req.request_id, ApprovalRequest.status == ApprovalStatus.PENDING)
        .values(
            status=req.status,
            decided_by_id=req.decided_by_id,
            decided_by_name=req.decided_by_name,
            decision_reason=req.reason,
            decided_at=utcnow(),
            updated_at=utcnow(),
        )
    )
    if not result.rowcount:
        return
    row = await session.get(ApprovalRequest, req.request_id)
    await session.refresh(row)
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


async def send_decision(
    client: Client, *, row: ApprovalRequest, p: Principal, approve: bool, reason: str | None
) -> ApprovalOutcome:
    """Authorize the user for this request, then send the `decide` Update and wait for the
    outcome. Not idempotent by design: a repeated decision is refused by the workflow."""
    if row.status != ApprovalStatus.PENDING:
        raise ApprovalNotOpen(f"Request #{row.id} is already {row.status}.")
    if not may_decide(p, row):
        raise NotAnApprover(f"You may not decide request #{row.id} in this branch.")
    if row.requested_by_id == p.user_id:
        raise DecisionRefused("You cannot decide on your own request.")
    if not approve and not (reason or "").strip():
        raise DecisionRefused("A reason is required to reject.", field="reason")
    handle = client.get_workflow_handle(row.workflow_id)
    decision = Decision(
        request_id=row.id,
        approve=approve,
        reason=(reason or "").strip() or None,
        user_id=p.user_id,
        user_name=p.full_name,
    )
    try:
        return await handle.execute_update("decide", decision, result_type=ApprovalOutcome)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        raise DecisionRefused(getattr(cause, "message", None) or str(cause)) from exc
    except RPCError as exc:
        raise_if_unreachable(exc)  # Temporal down: 503, the request is still open
        # The workflow has closed (or closed while the update was in flight).
        raise ApprovalNotOpen(f"Request #{row.id} is no longer open.") from exc


async def decide(
    session: AsyncSession,
    connect: Connect,
    *,
    request_id: int,
    p: Principal,
    approve: bool,
    reason: str | None,
) -> ApprovalOutcome:
    """Read the request, then `send_decision`: the API and the inbox page share this. Reads only:
    the workflow's activity records the decision, so the session must hold no write transaction."""
    row = await get(session, request_id)
    return await send_decision(await connect(), row=row, p=p, approve=approve, reason=reason)
