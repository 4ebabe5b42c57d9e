"""Report totals against independent SQL written here, on SQLite and PostgreSQL. Each function's
records sit on both sides of the local day's edges (00:00, 23:59:59.999, next 00:00)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, text

from backroom.db.base import UTCDateTime
from backroom.reports import service
from tests.backroom.reports import records as r
from tests.helpers import create_branch, create_user

NY = ZoneInfo("America/New_York")
DAY = date(2026, 11, 10)


def local(d: date, h=0, m=0, s=0, us=0) -> datetime:
    return datetime(d.year, d.month, d.day, h, m, s, us, tzinfo=NY).astimezone(UTC)


START, END = local(DAY), local(DAY + timedelta(days=1))
# Inside the day: its first instant, midday, its last millisecond. Outside: just before, at the end.
INSIDE = [START, local(DAY, 12), local(DAY, 23, 59, 59, 999_000)]
OUTSIDE = [START - timedelta(microseconds=1), END]


async def scalar_sql(session, sql: str, **params):
    stmt = text(sql).bindparams(bindparam("s", type_=UTCDateTime()), bindparam("e", type_=UTCDateTime()))
    return await session.scalar(stmt, {"s": START, "e": END, **params})


def summary(report, name):
    return next(line for line in report.summary if line.measure == name)


async def build(session, function, branch, edition="daily", **kw):
    return await service.build_report(
        session, function=function, edition=edition, day=DAY, branch_ids=[branch.id], **kw
    )


async def test_orders_and_payments_and_labels(db):
    async with db.sessionmaker.begin() as session:
        branch = await create_branch(session, timezone="America/New_York")
        shoes = await r.product(session, category="shoes", price_minor=2500)
        hats = await r.product(session, category="hats", price_minor=1250)
        for i, at in enumerate(INSIDE + OUTSIDE):
            o = await r.order(session, branch=branch, at=at, lines=[(shoes, 1 + i), (hats, 2)])
            await r.payment(
                session, order=o, kind="capture", status="succeeded", at=at, amount_minor=o.total_minor
            )
            await r.payment(session, order=o, kind="failure", status="declined", at=at)
            await r.parcel(session, order=o, at=at, rate_minor=650 + i)
        # Another currency in the same branch: never summed with dollars.
        eur = await r.order(session, branch=branch, at=INSIDE[1], lines=[(hats, 1)], currency="EUR")

        report = await build(session, "orders", branch)
        placed = await scalar_sql(
            session,
            "SELECT count(*) FROM orders WHERE branch_id = :b AND placed_at >= :s AND placed_at < :e",
            b=branch.id,
        )
        assert placed == 4
        assert summary(report, "placed").current.value == placed
        usd = await scalar_sql(
            session,
            "SELECT sum(total_minor) FROM orders WHERE branch_id = :b AND currency = 'USD' "
            "AND placed_at >= :s AND placed_at < :e",
            b=branch.id,
        )
        money = {a.currency: a.amount_minor for a in summary(report, "value").current.money}
        assert money == {"USD": usd, "EUR": eur.total_minor}
        assert (
            summary(report, "value").current.display
            == f"{eur.total_minor / 100:,.2f} EUR; {usd / 100:,.2f} USD"
        )
        shoes_qty = await scalar_sql(
            session,
            "SELECT sum(l.qty) FROM order_lines l JOIN orders o ON o.id = l.order_id "
            "JOIN products p ON p.id = l.product_id WHERE o.branch_id = :b AND p.category = 'shoes' "
            "AND o.placed_at >= :s AND o.placed_at < :e",
            b=branch.id,
        )
        by_cat = next(b for b in report.breakdowns if b.dimension == "category")
        row = next(x for x in by_cat.rows if x.key == "shoes")
        assert row.figures["items"].value == shoes_qty == 1 + 2 + 3
        # The previous day holds exactly the record one microsecond before midnight.
        assert summary(report, "placed").previous.value == 1

        pay = await build(session, "payments", branch)
        captured = await scalar_sql(
            session,
            "SELECT sum(amount_minor) FROM payments WHERE branch_id = :b AND kind = 'capture' "
            "AND currency = 'USD' AND created_at >= :s AND created_at < :e",
            b=branch.id,
        )
        assert [a.amount_minor for a in summary(pay, "captured_value").current.money] == [captured]
        assert summary(pay, "declined").current.value == 3
        assert summary(pay, "decline_rate").current.value == 1.0
        assert len([e for e in pay.exceptions if e.kind == "payment_failed"]) == 3

        labels = await build(session, "shipping", branch)
        cost = await scalar_sql(
            session,
            "SELECT sum(rate_minor) FROM parcels WHERE branch_id = :b AND labelled_at >= :s AND labelled_at < :e",
            b=branch.id,
        )
        assert summary(labels, "labels").current.value == 3
        assert (
            [a.amount_minor for a in summary(labels, "label_cost").current.money]
            == [cost]
            == [650 + 651 + 652]
        )

        drill = await service.drilldown(
            session,
            function="orders",
            measure="placed",
            edition="daily",
            day=DAY,
            branch_ids=[branch.id],
            limit=2,
        )
        assert len(drill.items) == 2 and drill.next_cursor
        more = await service.drilldown(
            session,
            function="orders",
            measure="placed",
            edition="daily",
            day=DAY,
            branch_ids=[branch.id],
            limit=2,
            cursor=drill.next_cursor,
        )
        ids = {i.id for i in drill.items + more.items}
        assert len(ids) == placed and more.next_cursor is None


async def test_carts_complaints_credit_crm_customers(db):
    async with db.sessionmaker.begin() as session:
        branch = await create_branch(session, timezone="America/New_York")
        agent = await create_user(session, grants=[("agent", branch.id)], full_name="Ana Agent")
        for i, at in enumerate(INSIDE + OUTSIDE):
            await r.cart(
                session,
                branch=branch,
                at=at,
                status="abandoned" if i % 2 else "checked_out",
                total_minor=1000,
            )
            cust = await r.customer(session, branch=branch, at=at)
            c = await r.complaint(
                session, branch=branch, customer=cust, at=at, resolved_at=at + timedelta(hours=3)
            )
            await r.complaint_event(session, complaint=c, kind="reopened", at=at)
            await r.interaction(
                session,
                branch=branch,
                customer=cust,
                at=at,
                channel="email" if i else "call",
                staff_id=agent.id,
            )
            acct = await r.credit_account(session, branch=branch, customer=cust)
            await r.credit_entry(
                session, account=acct, kind="sale", amount_minor=5000, at=at, due_at=at + timedelta(days=30)
            )
            await r.followup(
                session,
                branch=branch,
                customer=cust,
                assignee=agent,
                due_at=at,
                completed_at=at + timedelta(hours=i),
            )

        carts = await build(session, "carts", branch)
        abandoned = await scalar_sql(
            session,
            "SELECT count(*) FROM carts WHERE branch_id = :b AND status = 'abandoned' "
            "AND created_at >= :s AND created_at < :e",
            b=branch.id,
        )
        assert summary(carts, "abandoned").current.value == abandoned == 1
        assert summary(carts, "conversion").current.value == 2 / 3

        comp = await build(session, "complaints", branch)
        logged = await scalar_sql(
            session,
            "SELECT count(*) FROM complaints WHERE branch_id = :b AND created_at >= :s AND created_at < :e",
            b=branch.id,
        )
        assert summary(comp, "logged").current.value == logged == 3
        assert summary(comp, "reopened").current.value == 3
        resolved = summary(comp, "time_to_resolve").current
        assert resolved.value == 3 * 3600 and resolved.display == "3 h 00 min"

        credit = await build(session, "credit", branch)
        sales = await scalar_sql(
            session,
            "SELECT sum(amount_minor) FROM credit_entries WHERE branch_id = :b AND kind = 'sale' "
            "AND occurred_at >= :s AND occurred_at < :e",
            b=branch.id,
        )
        assert [a.amount_minor for a in summary(credit, "sales_value").current.money] == [sales] == [15000]
        # Nothing is due yet at the end of the day: nothing is overdue.
        assert summary(credit, "overdue").current.money[0].amount_minor == 0
        month_later = await service.build_report(
            session, function="credit", edition="daily", day=DAY + timedelta(days=45), branch_ids=[branch.id]
        )
        assert summary(month_later, "overdue").current.money[0].amount_minor == 5 * 5000
        assert summary(month_later, "overdue_accounts").current.value == 5
        overdue = [e for e in month_later.exceptions if e.kind == "account_overdue"]
        assert len(overdue) == 5 and all("50.00 USD past due" in e.description for e in overdue)

        crm = await build(session, "crm", branch)
        emails = await scalar_sql(
            session,
            "SELECT count(*) FROM interactions WHERE branch_id = :b AND channel = 'email' "
            "AND occurred_at >= :s AND occurred_at < :e",
            b=branch.id,
        )
        assert summary(crm, "interactions_email").current.value == emails == 2
        by_user = next(b for b in crm.breakdowns if b.dimension == "user")
        ana = next(row for row in by_user.rows if row.name == "Ana Agent")
        assert ana.figures["interactions"].value == 3
        assert summary(crm, "followups_late").current.value == 2

        cust = await build(session, "customers", branch)
        created = await scalar_sql(
            session,
            "SELECT count(*) FROM customers WHERE home_branch_id = :b AND created_at >= :s AND created_at < :e",
            b=branch.id,
        )
        assert summary(cust, "created").current.value == created == 3


async def test_grouping_sets_and_the_flat_cube_agree_and_the_rest_is_merged(db, monkeypatch):
    """PostgreSQL builds breakdowns with GROUPING SETS, SQLite with one fine-grained GROUP BY;
    both must give the same report. A long staff list keeps its top rows and sums the rest."""
    async with db.sessionmaker.begin() as session:
        branch = await create_branch(session, timezone="America/New_York")
        hats = await r.product(session, category="hats", price_minor=1000)
        staff = [
            await create_user(session, grants=[("clerk", branch.id)], full_name=f"Clerk {i}")
            for i in range(4)
        ]
        for i, who in enumerate(staff):
            for _ in range(i + 1):
                await r.order(session, branch=branch, at=INSIDE[1], lines=[(hats, 1)], created_by_id=who.id)
        await r.order(session, branch=branch, at=OUTSIDE[0], lines=[(hats, 3)], created_by_id=staff[0].id)

        def comparable(report):
            return [b.model_dump() for b in report.breakdowns], [s.model_dump() for s in report.summary]

        monkeypatch.setattr(service, "GROUPING_SETS", True)
        grouped = await build(session, "orders", branch, edition="weekly")
        monkeypatch.setattr(service, "GROUPING_SETS", False)
        flat = await build(session, "orders", branch, edition="weekly")
        assert comparable(grouped) == comparable(flat)

        monkeypatch.setattr(service, "MAX_ROWS", 3)
        capped = await build(session, "orders", branch, edition="weekly")
    by_user = next(b for b in capped.breakdowns if b.dimension == "user")
    rows = {row.name: row.figures["placed"].value for row in by_user.rows}
    # Clerk 0 also has the order a microsecond before the day, inside the same week.
    assert rows == {"Clerk 3": 4, "Clerk 2": 3, "2 more staff members together": 2 + 2}
    assert by_user.rows[-1].key == service.OTHER_KEY
    assert summary(capped, "placed").current.value == 11
