"""Keyset pagination: pages follow each other; a forged cursor is refused, never a DB error."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from backroom.branches.models import Branch
from backroom.pagination import CursorNotFound, paginate
from tests.helpers import create_branch


def forged(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


async def test_pages_by_datetime_follow_each_other_and_forged_cursors_are_refused(db):
    async with db.sessionmaker.begin() as s:
        made = [(await create_branch(s)).id for _ in range(3)]
    stmt = select(Branch).where(Branch.id.in_(made))
    async with db.read_sessionmaker() as s:
        seen, cursor = [], None
        while True:
            page = await paginate(
                s, stmt, sort_col=Branch.created_at, id_col=Branch.id, limit=2, cursor=cursor, descending=True
            )
            seen += [b.id for b in page.items]
            if not (cursor := page.next_cursor):
                break
        assert seen == sorted(made, reverse=True)
        for bad in (
            forged(["text", "id"]),
            forged([{"dt": "yesterday"}, 1]),
            forged([{"dt": "2026-01-01T00:00:00"}, 1]),
            forged([[1], {"a": 2}]),
            forged([1, 2**70]),
            "%%%",
            forged([1, 2, 3]),
        ):
            with pytest.raises(CursorNotFound):
                await paginate(s, stmt, sort_col=Branch.created_at, id_col=Branch.id, cursor=bad)
