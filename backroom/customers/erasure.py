"""What erasure does beyond blanking the customer row (service.erase calls these, in its one
transaction): find the person's data wherever the database keeps a copy of it, blank or scrub
it, and destroy the keys of the audit trail's encrypted fields (backroom.audit.shred).

- Rows linked to the customer (links.LINKS: complaints, interactions, orders, carts, credit
  holds, warranties...): every text column has the person's name, e-mail and phone replaced by
  REPLACEMENT, so a complaint's description keeps its sense without naming them. Domains blank
  what is wholly personal themselves (an order's shipping address, a CRM note) in their erase
  handlers.
- Four-eyes requests, their approvals and their outbox rows name the customer in their title.
- Audit events: nothing is rewritten (the chain is immutable); the subject keys are destroyed.
  Events written before encryption existed keep their plain text: `plain_events` counts them,
  so the erasure can say so (docs/audit.md)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import String, Text, and_, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.approvals.models import ApprovalRequest
from backroom.audit.models import AuditEvent
from backroom.audit.shred import MARK, PERSONAL
from backroom.controls.flow import four_eyes_workflow_id
from backroom.controls.models import GatedAction
from backroom.customers import links
from backroom.customers.models import Customer, CustomerAddress, CustomerContact
from backroom.db.base import Base
from backroom.starts.models import WorkflowSignal, WorkflowStart

REPLACEMENT = "(erased)"
_SHORTEST = 3  # shorter strings would match inside unrelated words


async def needles(session: AsyncSession, people: list[Customer]) -> tuple[str, ...]:
    """The person's strings as stored (name, e-mail, phone; contacts' and addresses' too) in
    these customer rows, longest first, so a name is replaced before a part of it."""
    found: set[str | None] = set()
    ids = [c.id for c in people]
    for c in people:
        found |= {c.name, c.email, c.phone, c.email_norm}
    for row in (
        await session.scalars(select(CustomerContact).where(CustomerContact.customer_id.in_(ids)))
    ).all():
        found |= {row.name, row.email, row.phone}
    for row in (
        await session.scalars(select(CustomerAddress).where(CustomerAddress.customer_id.in_(ids)))
    ).all():
        found |= {row.line1, row.line2}
    return tuple(sorted((s for s in found if s and len(s) >= _SHORTEST), key=len, reverse=True))


def _replaced(column, needles: tuple[str, ...]):
    expr = column
    for n in needles:
        expr = func.replace(expr, literal(n), literal(REPLACEMENT))
    return expr


async def scrub_linked(session: AsyncSession, customer_id: int, needles: tuple[str, ...]) -> int:
    """Replace the person's strings in every text column of the rows linked to the customer.
    Returns how many rows changed."""
    if not needles:
        return 0
    changed = 0
    for table_name, column in links.LINKS:
        table = Base.metadata.tables.get(table_name)
        if table is None or table_name in ("customer_contacts", "customer_addresses"):
            continue
        texts = [col for col in table.columns if isinstance(col.type, String | Text) and col.name != column]
        if not texts:
            continue
        hit = or_(*(col.contains(n, autoescape=True) for col in texts for n in needles))
        res = await session.execute(
            update(table)
            .where(and_(table.c[column] == customer_id, hit))
            .values({col.name: _replaced(col, needles) for col in texts})
            .execution_options(synchronize_session=False)
        )
        changed += res.rowcount or 0
    return changed


def _scrub_json(value, needles: tuple[str, ...]):
    if isinstance(value, str):
        for n in needles:
            value = value.replace(n, REPLACEMENT)
        return value
    if isinstance(value, dict):
        return {k: _scrub_json(v, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(v, needles) for v in value]
    return value


async def scrub_requests(session: AsyncSession, customer_id: int, needles: tuple[str, ...]) -> None:
    """Four-eyes requests about the customer (or about a customer merged into it), their
    approvals and their outbox rows: titles and arguments without the person's strings."""
    if not needles:
        return
    merged = select(Customer.id).where(Customer.merged_into_id == customer_id)
    ids = [str(customer_id), *(str(i) for i in (await session.scalars(merged)).all())]
    for model in (GatedAction, ApprovalRequest):
        await session.execute(
            update(model)
            .where(model.subject_type == "customer", model.subject_id.in_(ids))
            .values(title=_replaced(model.title, needles))
            .execution_options(synchronize_session=False)
        )
    gated = select(GatedAction.id).where(
        GatedAction.subject_type == "customer", GatedAction.subject_id.in_(ids)
    )
    workflows = [four_eyes_workflow_id(i) for i in (await session.scalars(gated)).all()]
    starts = select(WorkflowStart).where(
        or_(WorkflowStart.customer_id == customer_id, WorkflowStart.workflow_id.in_(workflows))
    )
    for row in (await session.scalars(starts)).all():
        row.args = _scrub_json(row.args, needles)
    if workflows:
        for row in (
            await session.scalars(select(WorkflowSignal).where(WorkflowSignal.workflow_id.in_(workflows)))
        ).all():
            row.args = _scrub_json(row.args, needles)


def _plain_personal(payload: dict | None) -> bool:
    return any(
        k in PERSONAL and v not in (None, "", [], REPLACEMENT) and not (isinstance(v, dict) and MARK in v)
        for k, v in (payload or {}).items()
    )


async def plain_events(session: AsyncSession, customer_id: int, order_ids: Iterable[int]) -> int:
    """Audit events about the customer or its orders that hold personal fields in plain text
    (written before audit encryption): the chain covers them, so they stay as they are."""
    order_ids = [str(i) for i in order_ids]
    where = and_(AuditEvent.entity_type == "customer", AuditEvent.entity_id == str(customer_id))
    if order_ids:
        where = or_(where, and_(AuditEvent.entity_type == "order", AuditEvent.entity_id.in_(order_ids)))
    rows = await session.execute(select(AuditEvent.before, AuditEvent.after).where(where))
    return sum(1 for before, after in rows if _plain_personal(before) or _plain_personal(after))
