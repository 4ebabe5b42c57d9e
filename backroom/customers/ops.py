"""Customer operations beyond create/list/detail: search, duplicate detection, merge, erasure,
export, contacts and addresses, and the timeline. Services only flush."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Text, and_, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.customers import hooks, links  # noqa: F401  (hooks registers our providers)
from backroom.customers.errors import CustomerNotActive, DuplicateCustomer, InvalidMerge
from backroom.customers.models import Customer, CustomerAddress, CustomerContact
from backroom.customers.normalize import digits, lower_or_none
from backroom.db.session import is_postgres
from backroom.errors import not_found
from backroom.pagination import Page, paginate

_PHONE_CHARS = re.compile(r"[0-9+()\-. ]+")
# Above this trigram similarity two names count as "similar" for duplicate detection.
SIMILAR_NAME = 0.6


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_kind(q: str) -> str:
    q = q.strip()
    if "@" in q:
        return "email"
    d = digits(q)
    if d and len(d) >= 3 and _PHONE_CHARS.fullmatch(q):  # only phone characters: a phone number
        return "phone"
    return "name"


def search_filter(session: AsyncSession, q: str, *, fuzzy: bool = False):
    """The WHERE clause of a customer search: prefix on email or phone digits, substring on the
    name, or (fuzzy) trigram similarity. Each is served by its own index on PostgreSQL."""
    q = q.strip()
    kind = search_kind(q)
    if kind == "email":
        return Customer.email_norm.like(_like_escape(q.lower()) + "%", escape="\\")
    if kind == "phone":
        return Customer.phone_digits.like(_like_escape(digits(q)) + "%", escape="\\")
    if fuzzy:
        return Customer.name_norm.op("%")(q.lower())
    name = q.lower()
    if len(name) < 3:
        # Too short for trigrams: names starting with it, as a range the name btree can seek.
        upper = name[:-1] + chr(ord(name[-1]) + 1)
        return and_(
            Customer.name_norm >= name,
            Customer.name_norm < upper,
            Customer.name_norm.like(_like_escape(name) + "%", escape="\\"),
        )
    return Customer.name_norm.like(f"%{_like_escape(name)}%", escape="\\")


async def search(
    session: AsyncSession,
    *,
    q: str | None = None,
    branch_ids: set[int] | None = None,
    status: str | None = "active",
    tag: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    exclude_status: str | None = None,
) -> Page:
    """Customers matching `q`, ordered by name with a keyset cursor. Read-only.
    A name with no substring match falls back to trigram similarity (typos) on PostgreSQL: the
    fallback costs ~20x a substring search on a million rows, so it runs only when needed."""
    kw = {"branch_ids": branch_ids, "status": status, "tag": tag, "exclude_status": exclude_status}
    page = await _search(session, q=q, limit=limit, cursor=cursor, **kw)
    if (
        not page.items
        and q
        and cursor is None
        and len(q.strip()) >= 3
        and is_postgres(session)
        and search_kind(q) == "name"
    ):
        await session.execute(text("SET LOCAL pg_trgm.similarity_threshold = 0.6"))
        page = await _search(session, q=q, limit=limit, cursor=None, fuzzy=True, **kw)
    return page


def search_statement(
    session: AsyncSession,
    *,
    q: str | None,
    branch_ids: set[int] | None = None,
    status: str | None = "active",
    tag: str | None = None,
    exclude_status: str | None = None,
    fuzzy: bool = False,
):
    """(statement, sort column) of a search, before keyset ordering and limit. Pure."""
    stmt = select(Customer)
    if exclude_status:
        stmt = stmt.where(Customer.status != exclude_status)
    if q and q.strip():
        stmt = stmt.where(search_filter(session, q, fuzzy=fuzzy))
    if status:
        stmt = stmt.where(Customer.status == status)
    if branch_ids is not None:
        stmt = stmt.where(Customer.home_branch_id.in_(branch_ids or {-1}))
    if tag:
        # JSON arrays are stored as text on SQLite and json on PostgreSQL; a quoted match works on both.
        stmt = stmt.where(func.cast(Customer.tags, Text()).like(f'%"{_like_escape(tag)}"%', escape="\\"))
    sort_col = Customer.name_norm
    if q and q.strip() and not (search_kind(q) == "name" and len(q.strip()) < 3):
        # Same order, but not the btree's: otherwise PostgreSQL may walk ix_customers_name_sort
        # filtering row by row (1-2 s on a million rows when the matches sort late) instead of
        # taking the trigram/prefix index's matches and sorting them. Short names are a range
        # of that btree, where walking it is the fast plan.
        sort_col = Customer.name_norm.concat("")
    return stmt, sort_col


async def _search(session: AsyncSession, *, q, limit, cursor, **kw) -> Page:
    stmt, sort_col = search_statement(session, q=q, **kw)
    return await paginate(
        session,
        stmt,
        sort_col=sort_col,
        id_col=Customer.id,
        limit=limit,
        cursor=cursor,
        sort_attr="name_norm",
    )


async def find_duplicates(
    session: AsyncSession,
    *,
    name: str | None,
    email: str | None,
    phone: str | None,
    exclude_id: int | None = None,
    limit: int = 10,
) -> list[Customer]:
    """Active customers with the same email or phone, or a very similar name. Read-only."""
    conds = []
    if lower_or_none(email):
        conds.append(Customer.email_norm == lower_or_none(email))
    if digits(phone) and len(digits(phone)) >= 6:
        conds.append(Customer.phone_digits == digits(phone))
    n = lower_or_none(name)
    if n:
        if is_postgres(session):
            conds.append(func.similarity(Customer.name_norm, n) >= SIMILAR_NAME)
        else:
            conds.append(Customer.name_norm == n)
    if not conds:
        return []
    stmt = select(Customer).where(or_(*conds), Customer.status == "active")
    if exclude_id:
        stmt = stmt.where(Customer.id != exclude_id)
    return list((await session.execute(stmt.order_by(Customer.id).limit(limit))).scalars())


async def check_duplicates(
    session: AsyncSession,
    *,
    name: str | None,
    email: str | None,
    phone: str | None,
    allow_duplicate: bool = False,
    exclude_id: int | None = None,
) -> None:
    """Raise DuplicateCustomer (409, with the candidates) unless none or allowed."""
    if allow_duplicate:
        return
    found = await find_duplicates(session, name=name, email=email, phone=phone, exclude_id=exclude_id)
    if found:
        raise DuplicateCustomer(
            f"{len(found)} existing customer(s) look like the same person. Merge, or send allow_duplicate=true.",
            candidates=[{"id": c.id, "name": c.name, "email": c.email, "phone": c.phone} for c in found],
        )


async def get(session: AsyncSession, customer_id: int) -> Customer:
    c = await session.get(Customer, customer_id)
    if not c:
        raise not_found("Customer", customer_id)
    return c


async def merge(session: AsyncSession, *, actor: Actor, loser_id: int, survivor_id: int) -> Customer:
    """Move everything linked to `loser_id` onto `survivor_id` (through the links registry) and
    mark the loser merged. Audited on both records. Not repeatable: the loser must be active."""
    if loser_id == survivor_id:
        raise InvalidMerge("A customer cannot be merged into itself.", field="survivor_id")
    loser, survivor = await get(session, loser_id), await get(session, survivor_id)
    for c in (loser, survivor):
        if c.status != "active":
            raise CustomerNotActive(f"Customer #{c.id} is {c.status}.")
    if loser.currency != survivor.currency:
        raise InvalidMerge("Customers with different currencies cannot be merged.", field="survivor_id")
    before_loser, before_survivor = audit.snapshot(loser), audit.snapshot(survivor)
    moved: dict[str, int] = {}
    links.load_plugins()
    for handler in links.MERGE_HANDLERS:
        await handler(session, actor=actor, loser_id=loser.id, survivor_id=survivor.id)
    for table, column in links.LINKS:
        res = await session.execute(
            text(f'UPDATE "{table}" SET "{column}" = :s WHERE "{column}" = :l'),
            {"s": survivor.id, "l": loser.id},
        )
        moved[table] = res.rowcount or 0
    # Fill gaps on the survivor from the loser; keep the survivor's own values.
    survivor.email = survivor.email or loser.email
    survivor.phone = survivor.phone or loser.phone
    survivor.tags = sorted(set(survivor.tags or []) | set(loser.tags or []))
    if loser.notes:
        survivor.notes = ((survivor.notes or "") + f"\n[merged from #{loser.id}] {loser.notes}").strip()
    loser.status, loser.merged_into_id = "merged", survivor.id
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="customer.merge",
        entity_type="customer",
        entity_id=loser.id,
        branch_id=loser.home_branch_id,
        before=before_loser,
        after={"status": "merged", "merged_into_id": survivor.id, "moved": moved},
    )
    await audit.record(
        session,
        actor=actor,
        action="customer.merge_in",
        entity_type="customer",
        entity_id=survivor.id,
        branch_id=survivor.home_branch_id,
        before=before_survivor,
        after={**audit.snapshot(survivor), "merged_from_id": loser.id, "moved": moved},
    )
    return survivor


PERSONAL = ("name", "email", "phone", "notes", "tags", "consent_email", "consent_sms")


async def erase(session: AsyncSession, *, actor: Actor, customer_id: int, reason: str) -> Customer:
    """Anonymize a customer on request: personal fields, contacts and addresses go; financial
    history (credit ledger, complaints' records) stays. The audit event names the erased
    fields, never their values. Idempotent: erasing twice changes nothing more."""
    c = await get(session, customer_id)
    if c.status == "erased":
        return c
    c.name = f"Erased customer #{c.id}"
    c.email = c.phone = c.notes = None
    c.tags, c.consent_email, c.consent_sms = [], False, False
    c.status = "erased"
    contacts = (
        await session.execute(delete(CustomerContact).where(CustomerContact.customer_id == c.id))
    ).rowcount
    addresses = (
        await session.execute(delete(CustomerAddress).where(CustomerAddress.customer_id == c.id))
    ).rowcount
    # Messages not yet sent would still carry the address; cancel them.
    from backroom.notifications.models import Notification

    await session.execute(
        update(Notification)
        .where(Notification.to_customer_id == c.id, Notification.status == "pending")
        .values(status="failed", last_error="customer erased", to_address=None)
    )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="customer.erase",
        entity_type="customer",
        entity_id=c.id,
        branch_id=c.home_branch_id,
        before=None,
        after={
            "status": "erased",
            "erased_fields": list(PERSONAL),
            "contacts_removed": contacts,
            "addresses_removed": addresses,
            "reason": reason,
        },
    )
    return c


EXPORT_COLUMNS = (
    "id",
    "kind",
    "name",
    "email",
    "phone",
    "home_branch_id",
    "currency",
    "credit_limit_minor",
    "tags",
    "consent_email",
    "consent_sms",
    "status",
    "created_at",
)


async def export_rows(
    session: AsyncSession, *, branch_ids: set[int] | None, batch: int = 1000
) -> AsyncIterator[list]:
    """Customer rows for CSV export, in id order, batch by batch (keyset). Read-only."""
    last = 0
    while True:
        stmt = select(Customer).where(Customer.id > last, Customer.status != "merged")
        if branch_ids is not None:
            stmt = stmt.where(Customer.home_branch_id.in_(branch_ids or {-1}))
        rows = list((await session.execute(stmt.order_by(Customer.id).limit(batch))).scalars())
        if not rows:
            return
        for c in rows:
            yield [_cell(getattr(c, col)) for col in EXPORT_COLUMNS]
        last = rows[-1].id
        session.expunge_all()


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(map(str, value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# --- contacts and addresses ---


async def add_contact(session: AsyncSession, *, actor: Actor, customer_id: int, **fields) -> CustomerContact:
    """Add a contact person. Not idempotent."""
    c = await get(session, customer_id)
    if c.status != "active":
        raise CustomerNotActive(f"Customer #{c.id} is {c.status}.")
    row = CustomerContact(customer_id=c.id, **fields)
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="customer.contact_add",
        entity_type="customer",
        entity_id=c.id,
        branch_id=c.home_branch_id,
        after=audit.snapshot(row),
    )
    return row


async def add_address(session: AsyncSession, *, actor: Actor, customer_id: int, **fields) -> CustomerAddress:
    """Add an address; a default one replaces the previous default of its kind."""
    c = await get(session, customer_id)
    if c.status != "active":
        raise CustomerNotActive(f"Customer #{c.id} is {c.status}.")
    if fields.get("is_default"):
        await session.execute(
            update(CustomerAddress)
            .where(
                CustomerAddress.customer_id == c.id, CustomerAddress.kind == fields.get("kind", "shipping")
            )
            .values(is_default=False)
        )
    row = CustomerAddress(customer_id=c.id, **fields)
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="customer.address_add",
        entity_type="customer",
        entity_id=c.id,
        branch_id=c.home_branch_id,
        after=audit.snapshot(row),
    )
    return row


async def remove_record(
    session: AsyncSession, *, actor: Actor, customer_id: int, model, record_id: int
) -> None:
    """Delete one contact or address of the customer. Idempotent."""
    c = await get(session, customer_id)
    row = await session.get(model, record_id)
    if row is None or row.customer_id != c.id:
        return
    before = audit.snapshot(row)
    await session.delete(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"customer.{model.__tablename__.removeprefix('customer_')}_remove",
        entity_type="customer",
        entity_id=c.id,
        branch_id=c.home_branch_id,
        before=before,
    )


async def contacts(session: AsyncSession, customer_id: int) -> list[CustomerContact]:
    rows = await session.execute(
        select(CustomerContact).where(CustomerContact.customer_id == customer_id).order_by(CustomerContact.id)
    )
    return list(rows.scalars())


async def addresses(session: AsyncSession, customer_id: int) -> list[CustomerAddress]:
    rows = await session.execute(
        select(CustomerAddress)
        .where(CustomerAddress.customer_id == customer_id)
        .order_by(CustomerAddress.kind, CustomerAddress.id)
    )
    return list(rows.scalars())


async def timeline(session: AsyncSession, *, customer_id: int, limit: int = 100) -> list[links.TimelineItem]:
    """Interactions, orders, complaints, credit and audit events of a customer, newest first."""
    items: list[links.TimelineItem] = []
    links.load_plugins()
    for provider in links.TIMELINE:
        items.extend(await provider(session, customer_id, limit))
    items.sort(key=lambda i: i.at, reverse=True)
    return items[:limit]
