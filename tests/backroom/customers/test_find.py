"""Issue 15 item 9: a phone number finds its customer however either was written (national or
international), names match in any word order, and migration 0960 fills the search column of
customers that exist already."""

from __future__ import annotations

import sqlite3

from backroom.customers import repository
from backroom.customers.normalize import national_digits
from backroom.db.migrate import upgrade_async
from tests.helpers import create_branch, create_customer, uniq

FORMS = ["+1 212 555 0102", "212-555-0102", "(212) 555-0102", "2125550102", "1 212 555 0102", "+1-212-555"]


def test_national_digits_of_national_and_international_forms():
    assert {national_digits(f) for f in FORMS[:5]} == {"2125550102"}
    assert national_digits("+44 20 7946 0000") == national_digits("020 7946 0000") == "2079460000"
    assert national_digits("+353 1 234 5678") == "12345678"
    assert national_digits("") is None and national_digits("n/a") is None


async def test_phone_search_finds_every_way_of_writing_the_number(db):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        stored = await create_customer(s, branch=b, phone="+1 212 555 0102")
        local = await create_customer(s, branch=b, phone="(212) 555-0102")
    async with db.read_sessionmaker() as s:
        for q in FORMS:
            found = {c.id for c in (await repository.search(s, q=q, branch_ids={b.id})).items}
            assert found == {stored.id, local.id}, q


async def test_names_match_in_any_word_order(db):
    last = uniq("Smith").lower()
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        ann = await create_customer(s, branch=b, name=f"Ann Marie {last.title()}")
        await create_customer(s, branch=b, name=f"Bob {last.title()}")
    async with db.read_sessionmaker() as s:
        for q in (f"{last} ann", f"Ann {last}", f"{last.upper()}, Marie", f"marie ann {last}"):
            q = q.replace(",", "")
            assert [c.id for c in (await repository.search(s, q=q, branch_ids={b.id})).items] == [ann.id], q


async def test_migration_0960_fills_the_national_digits_of_existing_customers(tmp_path):
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url, "0950")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO branches (code, name, timezone, currency, created_at, updated_at)"
            " VALUES ('B', 'B', 'UTC', 'USD', '2026-01-01', '2026-01-01')"
        )
        for phone in ("+1 212 555 0102", "(020) 7946 0000", None):
            conn.execute(
                "INSERT INTO customers (kind, name, phone, home_branch_id, credit_limit_minor, currency, tags,"
                " consent_email, consent_sms, status, created_at, updated_at)"
                " VALUES ('person', 'X', ?, 1, 0, 'USD', '[]', 0, 0, 'active', '2026-01-01', '2026-01-01')",
                (phone,),
            )
    await upgrade_async(url, "0960")
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT phone_national FROM customers ORDER BY id").fetchall()
    assert rows == [("2125550102",), ("2079460000",), (None,)]
