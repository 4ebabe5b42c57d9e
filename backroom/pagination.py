"""Keyset (cursor) pagination: stable while rows are inserted, unlike OFFSET."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, StringConstraints
from sqlalchemy import Select, TypeDecorator, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.errors import NotFound

T = TypeVar("T")
MAX_LIMIT = 200

# A cursor as the API hands it out: URL-safe base64. Anything else is a 422 at the edge; a
# cursor of that shape that is not one of ours names no page (404, see CursorNotFound).
CursorText = Annotated[str, StringConstraints(max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")]


class CursorNotFound(NotFound):
    """A cursor we did not hand out points at no page: like an unknown `starting_after` at
    Stripe, the page it names does not exist (404), and the client starts again."""

    code = "cursor_not_found"


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


R = TypeVar("R", bound=BaseModel)


class PageRead(BaseModel, Generic[R]):
    """One page of a list as the API returns it: the items and the cursor of the next page
    (None on the last page)."""

    items: list[R]
    next_cursor: str | None = None

    @classmethod
    def of(cls, page: Page, read: type[R]) -> PageRead[R]:
        """Wrap a query page, reading each row (ORM object) as `read`."""
        return cls(items=[read.model_validate(x) for x in page.items], next_cursor=page.next_cursor)


def _encode(value: Any, ident: Any) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    raw = json.dumps([value, ident], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor() -> CursorNotFound:
    return CursorNotFound("The cursor is not valid; start again from the first page.", field="cursor")


def _decode(cursor: str) -> tuple[Any, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, ident = json.loads(raw)
        if isinstance(value, dict) and "dt" in value:
            value = datetime.fromisoformat(value["dt"])
    except (ValueError, TypeError) as exc:
        raise _bad_cursor() from exc
    return value, ident


def _typed(value: Any, col) -> Any:
    """The cursor's value if it fits the column's type; a forged cursor is a 404, never a
    database error."""
    kind = col.type
    if isinstance(kind, TypeDecorator):  # e.g. UTCDateTime: the stored type decides
        kind = kind.impl_instance
    try:
        expected = kind.python_type
    except (NotImplementedError, AttributeError):
        expected = None
    if value is None or expected is None:
        return value
    if expected is datetime:
        ok = isinstance(value, datetime) and value.tzinfo is not None
    elif expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    else:
        ok = isinstance(value, expected)
    if not ok:
        raise _bad_cursor()
    return value


async def paginate(
    session: AsyncSession,
    stmt: Select,
    *,
    sort_col,
    id_col,
    limit: int = 50,
    cursor: str | None = None,
    descending: bool = False,
    sort_attr: str | None = None,
) -> Page:
    """Run `stmt` ordered by (sort_col, id_col), returning one page and the next cursor.
    `stmt` selects ORM entities (or rows); sort_col/id_col are its columns. Read-only.
    `sort_col` may be an expression; `sort_attr` then names the row attribute holding its value."""
    limit = max(1, min(limit, MAX_LIMIT))
    if cursor:
        value, ident = _decode(cursor)
        value, ident = _typed(value, sort_col), _typed(ident, id_col)
        if descending:
            stmt = stmt.where(or_(sort_col < value, and_(sort_col == value, id_col < ident)))
        else:
            stmt = stmt.where(or_(sort_col > value, and_(sort_col == value, id_col > ident)))
    order = (sort_col.desc(), id_col.desc()) if descending else (sort_col.asc(), id_col.asc())
    rows = list((await session.execute(stmt.order_by(*order).limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = _encode(getattr(last, sort_attr or sort_col.key), getattr(last, id_col.key))
    return Page(rows, next_cursor)
