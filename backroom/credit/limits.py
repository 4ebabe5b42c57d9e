"""Credit-limit changes: requested by staff, decided through the approval gate, applied once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.credit.errors import CreditLimitChangeNotPending
from backroom.credit.flow import limit_change_workflow_id as workflow_id
from backroom.credit.flow import limit_status
from backroom.credit.models import CreditLimitRequest, LimitRequestStatus
from backroom.credit.schemas import LimitChangeIn
from backroom.customers.models import Customer
from backroom.customers.service import writable
from backroom.db.base import utcnow
from backroom.errors import Conflict, Refused, not_found

if TYPE_CHECKING:
    from backroom.approvals.models import ApprovalRequest
    from backroom.approvals.schemas import ApprovalOutcome


async def request_change(
    session: AsyncSession, *, actor: Actor, customer_id: int, data: LimitChangeIn
) -> CreditLimitRequest:
    """Record a limit-change request (the caller then starts its workflow). One pending
    request per customer at a time."""
    customer = await writable(session, customer_id)
    if data.requested_limit_minor == customer.credit_limit_minor:
        raise Refused("The requested limit equals the current limit.", field="requested_limit_minor")
    pending = await session.scalar(
        select(CreditLimitRequest.id).where(
            CreditLimitRequest.customer_id == customer_id,
            CreditLimitRequest.status == LimitRequestStatus.pending,
        )
    )
    if pending:
        raise CreditLimitChangeNotPending(
            f"Request #{pending} for this customer is still pending.", request_id=pending
        )
    req = CreditLimitRequest(
        customer_id=customer.id,
        branch_id=customer.home_branch_id,
        current_limit_minor=customer.credit_limit_minor,
        requested_limit_minor=data.requested_limit_minor,
        currency=customer.currency,
        reason=data.reason,
        status=LimitRequestStatus.pending,
        created_by_id=actor.user_id,
        shift_id=actor.shift_id,
    )
    session.add(req)
    await session.flush()
    req.workflow_id = workflow_id(req.id)
    await audit.record(
        session,
        actor=actor,
        action="credit_limit.request",
        entity_type="customer",
        entity_id=customer.id,
        branch_id=customer.home_branch_id,
        after=audit.snapshot(req),
    )
    return req


async def get_request(session: AsyncSession, request_id: int) -> CreditLimitRequest:
    req = await session.get(CreditLimitRequest, request_id)
    if req is None:
        raise not_found("Credit limit request", request_id)
    return req


async def requests_for(
    session: AsyncSession, *, customer_id: int, limit: int = 50
) -> list[CreditLimitRequest]:
    rows = await session.execute(
        select(CreditLimitRequest)
        .where(CreditLimitRequest.customer_id == customer_id)
        .order_by(CreditLimitRequest.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


def _which(request: int | str):
    """The WHERE clause of one request: by its id, or by its workflow's id (a decision's
    settling step knows only the workflow)."""
    if isinstance(request, str):
        return CreditLimitRequest.workflow_id == request
    return CreditLimitRequest.id == request


async def _find(session: AsyncSession, request: int | str) -> CreditLimitRequest:
    if isinstance(request, int):
        return await get_request(session, request)
    req = await session.scalar(select(CreditLimitRequest).where(_which(request)))
    if req is None:
        raise Conflict("The credit limit request behind this approval no longer exists.")
    return req


async def apply_change(
    session: AsyncSession,
    *,
    actor: Actor,
    request_id: int | str,
    decided_by_id: int | None,
    reason: str | None,
) -> None:
    """Apply an approved limit to request `request_id` (its id, or its workflow's id).
    Idempotent: a request already applied changes nothing. Refuses (not found, not pending)
    before it writes anything. Two statements and the audit event in the common case (issue 17:
    a decision's write transaction is held for as few round trips as it can be): the request
    moved and read back by one UPDATE, the customer's limit moved by one UPDATE while it is the
    limit the request was made against (the audit's "before" is then known without a read)."""
    moved = (
        await session.execute(
            update(CreditLimitRequest)
            .where(_which(request_id), CreditLimitRequest.status == LimitRequestStatus.pending)
            .values(
                status=LimitRequestStatus.applied,
                decided_by_id=decided_by_id,
                decision_reason=reason,
                updated_at=utcnow(),
            )
            .returning(
                CreditLimitRequest.id,
                CreditLimitRequest.customer_id,
                CreditLimitRequest.current_limit_minor,
                CreditLimitRequest.requested_limit_minor,
            )
        )
    ).first()
    if moved is None:
        req = await _find(session, request_id)
        if req.status == LimitRequestStatus.applied:
            return
        raise Conflict(f"Credit limit request {req.id} is {req.status}, not pending.")
    before = moved.current_limit_minor
    branch_id = await session.scalar(
        update(Customer)
        .where(Customer.id == moved.customer_id, Customer.credit_limit_minor == before)
        .values(credit_limit_minor=moved.requested_limit_minor)
        .returning(Customer.home_branch_id)
    )
    if branch_id is None:  # changed since the request was made (another request won a race)
        customer = await session.get(Customer, moved.customer_id, with_for_update=True)
        before, branch_id = customer.credit_limit_minor, customer.home_branch_id
        customer.credit_limit_minor = moved.requested_limit_minor
        await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="credit_limit.apply",
        entity_type="customer",
        entity_id=moved.customer_id,
        branch_id=branch_id,
        before={"credit_limit_minor": before},
        after={
            "credit_limit_minor": moved.requested_limit_minor,
            "request_id": moved.id,
            "approved_by_id": decided_by_id,
        },
    )


async def close_request(
    session: AsyncSession,
    *,
    actor: Actor,
    request_id: int | str,
    status: LimitRequestStatus,
    decided_by_id: int | None,
    reason: str | None,
) -> None:
    """Mark request `request_id` (its id, or its workflow's id) rejected or expired.
    Idempotent: only a pending request changes."""
    moved = (
        await session.execute(
            update(CreditLimitRequest)
            .where(_which(request_id), CreditLimitRequest.status == LimitRequestStatus.pending)
            .values(status=status, decided_by_id=decided_by_id, decision_reason=reason, updated_at=utcnow())
            .returning(CreditLimitRequest.id, CreditLimitRequest.customer_id, CreditLimitRequest.branch_id)
        )
    ).first()
    if moved is None:
        await _find(session, request_id)  # not found, or closed already (idempotent)
        return
    await audit.record(
        session,
        actor=actor,
        action=f"credit_limit.{status}",
        entity_type="customer",
        entity_id=moved.customer_id,
        branch_id=moved.branch_id,
        before={"status": LimitRequestStatus.pending},
        after={"status": status, "request_id": moved.id, "reason": reason},
    )


async def conclude(
    session: AsyncSession,
    *,
    actor: Actor,
    request_id: int | str,
    status: str,
    decided_by_id: int | None,
    reason: str | None,
) -> None:
    """Give request `request_id` (its id, or its workflow's id) its final status
    (backroom.credit.flow.limit_status): apply it, or mark it rejected or expired. Idempotent,
    like apply_change and close_request."""
    if status == LimitRequestStatus.applied:
        await apply_change(
            session, actor=actor, request_id=request_id, decided_by_id=decided_by_id, reason=reason
        )
    else:
        await close_request(
            session,
            actor=actor,
            request_id=request_id,
            status=status,
            decided_by_id=decided_by_id,
            reason=reason,
        )


async def settle_decision(
    session: AsyncSession, *, row: ApprovalRequest, outcome: ApprovalOutcome, actor: Actor
) -> None:
    """The approvals settler for limit changes (flow.SETTLED_BY): apply an approved change, or
    close a rejected one, in the decision's own transaction. Idempotent. Refuses (Conflict) a
    request that is no longer pending, and the decision with it."""
    await conclude(
        session,
        actor=actor,
        request_id=row.workflow_id,
        status=limit_status(outcome.status),
        decided_by_id=outcome.decided_by_id,
        reason=outcome.reason,
    )
