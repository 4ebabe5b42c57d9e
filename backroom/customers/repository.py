"""Customer queries: the indexed search (name, email prefix, phone digits; trigram fallback on
PostgreSQL), duplicate candidates, the CSV export and the contact/address lists. Read-only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Select, Text, and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from backroom.customers.models import Customer, CustomerAddress, CustomerContact, CustomerStatus
from backroom.customers.normalize import digits, lower_or_none, national_digits
from backroom.db.base import like_escape
from backroom.db.session import is_postgres
from backroom.pagination import Page, paginate

_PHONE_CHARS = re.compile(r"[0-9+()\-. ]+")
# Above this trigram similarity two names count as "similar" for duplicate detection.
SIMILAR_NAME = 0.6


def search_kind(q: str) -> str:
    q = q.strip()
    if "@" in q:
        return "email"
    d = digits(q)
    if d and len(d) >= 3 and _PHONE_CHARS.fullmatch(q):  # only phone characters: a phone number
        return "phone"
    return "name"


def search_filter(session: AsyncSession, q: str, *, fuzzy: bool = False):
    """The WHERE clause of a customer search: prefix on email or on the phone's national digits
    (any way it is written), each word of a name as a substring, or (fuzzy) trigram similarity. Each is served by its own index on PostgreSQL."""
    q = q.strip()
    kind = search_kind(q)
    if kind == "email":
        return Customer.email_norm.like(like_escape(q.lower()) + "%", escape="\\")
    if kind == "phone":
        return Customer.phone_national.like(like_escape(national_digits(q) or "") + "%", escape="\\")
    if fuzzy:
        return Customer.name_norm.op("%")(q.lower())
    name = q.lower()
    words = name.split()
    if len(words) > 1:  # every word somewhere in the name, in any order: "smith ann" finds Ann Smith
        return and_(*(Customer.name_norm.like(f"%{like_escape(w)}%", escape="\\") for w in words))
    if len(name) < 3:
        # Too short for trigrams: names starting with it, as a range the name btree can seek.
        upper = name[:-1] + chr(ord(name[-1]) + 1)
        return and_(
            Customer.name_norm >= name,
            Customer.name_norm < upper,
            Customer.name_norm.like(like_escape(name) + "%", escape="\\"),
        )
    return Customer.name_norm.like(f"%{like_escape(name)}%", escape="\\")


async def search(
    session: AsyncSession,
    *,
    q: str | None = None,
    branch_ids: set[int] | None = None,
    status: CustomerStatus | None = CustomerStatus.active,
    tag: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    exclude_status: CustomerStatus | None = None,
    where: ColumnElement | None = None,
) -> Page:
    """Customers matching `q`, ordered by name with a keyset cursor. Read-only.
    A name with no substring match falls back to trigram similarity (typos) on PostgreSQL: the
    fallback costs ~20x a substring search on a million rows, so it runs only when needed."""
    kw = {
        "branch_ids": branch_ids,
        "status": status,
        "tag": tag,
        "exclude_status": exclude_status,
        "where": where,
    }
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
    status: CustomerStatus | None = CustomerStatus.active,
    tag: str | None = None,
    exclude_status: CustomerStatus | None = None,
    fuzzy: bool = False,
    where: ColumnElement | None = None,
):
    """(statement, sort column) of a search, before keyset ordering and limit. Pure."""
    stmt = select(Customer)
    if where is not None:  # a caller's extra condition (a segment: backroom/segments)
        stmt = stmt.where(where)
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
        stmt = stmt.where(func.cast(Customer.tags, Text()).like(f'%"{like_escape(tag)}"%', escape="\\"))
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
    if len(national_digits(phone) or "") >= 6:
        conds.append(Customer.phone_national == national_digits(phone))
    n = lower_or_none(name)
    if n:
        if is_postgres(session):
            conds.append(func.similarity(Customer.name_norm, n) >= SIMILAR_NAME)
        else:
            conds.append(Customer.name_norm == n)
    if not conds:
        return []
    stmt = select(Customer).where(or_(*conds), Customer.status == CustomerStatus.active)
    if exclude_id:
        stmt = stmt.where(Customer.id != exclude_id)
    return list((await session.execute(stmt.order_by(Customer.id).limit(limit))).scalars())


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
    session: AsyncSession,
    *,
    branch_ids: set[int] | None,
    batch: int = 1000,
    where: ColumnElement | None = None,
) -> AsyncIterator[list]:
    """Customer rows for CSV export, in id order, batch by batch (keyset). Read-only."""
    last = 0
    while True:
        stmt = _exported(select(Customer).where(Customer.id > last), branch_ids, where)
        rows = list((await session.execute(stmt.order_by(Customer.id).limit(batch))).scalars())
        if not rows:
            return
        for c in rows:
            yield [_cell(getattr(c, col)) for col in EXPORT_COLUMNS]
        last = rows[-1].id
        session.expunge_all()


def _exported(stmt: Select, branch_ids: set[int] | None, where: ColumnElement | None) -> Select:
    stmt = stmt.where(Customer.status != CustomerStatus.merged)
    if branch_ids is not None:
        stmt = stmt.where(Customer.home_branch_id.in_(branch_ids or {-1}))
    return stmt if where is None else stmt.where(where)


async def export_count(
    session: AsyncSession, *, branch_ids: set[int] | None, where: ColumnElement | None = None
) -> int:
    """How many rows export_rows yields for the same filters. Read-only."""
    return await session.scalar(_exported(select(func.count()).select_from(Customer), branch_ids, where))


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(map(str, value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


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


async def names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    """{id: name} of the given customers, for pages that list records of many. Read-only."""
    if not ids:
        return {}
    return dict((await session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))).all())
