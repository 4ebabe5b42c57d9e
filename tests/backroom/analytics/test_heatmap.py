"""Heatmap counts against an independent SQL query (local weekday and hour computed by the
database itself), on SQLite and PostgreSQL; cells link to their records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from backroom.alerts import service as alerts
from backroom.analytics import heatmap as heat
from backroom.analytics.modules import MODULES
from backroom.audit.context import Actor
from backroom.orders.models import Alert as OrderAlert
from tests.helpers import create_branch, uniq

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SWEEP = Actor.system("test")
# Tokyo has no daylight saving: +9 hours all year, so the independent query can shift by hand.
INDEPENDENT = {
    "sqlite": """
        SELECT (CAST(strftime('%w', at, '+9 hours') AS INTEGER) + 6) % 7 AS dow,
               CAST(strftime('%H', at, '+9 hours') AS INTEGER) AS hour, count(*) AS n
        FROM (SELECT raised_at AS at FROM exception_alerts WHERE branch_id = :b AND module = 'commerce'
              UNION ALL
              SELECT created_at AS at FROM alerts WHERE branch_id = :b AND subject_type = 'order'
                AND kind IN ('order_failed', 'pick_timeout')) AS x
        GROUP BY 1, 2""",
    "postgres": """
        SELECT (extract(isodow FROM at AT TIME ZONE 'Asia/Tokyo'))::int - 1 AS dow,
               (extract(hour FROM at AT TIME ZONE 'Asia/Tokyo'))::int AS hour, count(*) AS n
        FROM (SELECT raised_at AS at FROM exception_alerts WHERE branch_id = :b AND module = 'commerce'
              UNION ALL
              SELECT created_at AS at FROM alerts WHERE branch_id = :b AND subject_type = 'order'
                AND kind IN ('order_failed', 'pick_timeout')) AS x
        GROUP BY 1, 2""",
}


async def test_weekday_hour_counts_match_an_independent_query(db):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s, timezone="Asia/Tokyo")
        other = await create_branch(s, timezone="Asia/Tokyo")
        # Alerts at chosen UTC times over the last three weeks, some crossing local midnight.
        for i in range(40):
            at = NOW - timedelta(days=i % 20, hours=(i * 7) % 24, minutes=i + 1)
            await alerts.raise_alert(
                s,
                key=uniq("t:"),
                kind="pick_timeout",
                severity="warning",
                branch_id=b.id,
                title="x",
                link=None,
                actor=SWEEP,
                at=at,
            )
        await alerts.raise_alert(
            s,
            key=uniq("t:"),
            kind="pick_timeout",
            severity="warning",
            branch_id=other.id,
            title="x",
            link=None,
            actor=SWEEP,
            at=NOW - timedelta(hours=1),
        )
        for i in range(12):  # the fulfilment workflow's own alerts (the orders report's exception list)
            at = NOW - timedelta(days=i, hours=15)
            s.add(
                OrderAlert(
                    kind="order_failed" if i % 2 else "pick_timeout",
                    severity="critical",
                    subject_type="order",
                    subject_id=str(1000 + i),
                    message="failed",
                    status="open",
                    key=uniq("oa"),
                    branch_id=b.id,
                    created_at=at,
                    updated_at=at,
                )
            )
        await s.flush()
        got = await heat.heatmap(s, module=MODULES["commerce"], branches={b.id: b}, days=30, now=NOW)
        rows = (await s.execute(text(INDEPENDENT[db.kind]), {"b": b.id})).all()
        expected = {(heat.WEEKDAYS[d], f"{h:02d}"): n for d, h, n in rows}
        assert {(c.row, c.column): c.count for c in got.cells} == expected
        assert got.total == 52 == sum(expected.values())
        # A cell's link lists exactly its records.
        cell = max(got.cells, key=lambda c: c.count)
        records = await heat.cell_records(
            s,
            module=MODULES["commerce"],
            branches={b.id: b},
            days=30,
            dow=heat.WEEKDAYS.index(cell.row),
            hour=int(cell.column),
            now=NOW,
        )
        assert len(records) == cell.count and "dow=" in cell.link
        assert all(r["link"].startswith(("/alerts/", "/orders/")) for r in records)
        by_category = await heat.heatmap(
            s,
            module=MODULES["commerce"],
            branches={b.id: b, other.id: other},
            mode="category_branch",
            days=30,
            now=NOW,
        )
        counts = {(c.row, c.column): c.count for c in by_category.cells}
        assert counts[("Alert: Pick timeout", b.name)] == 40
        assert counts[("Alert: Pick timeout", other.name)] == 1
        assert counts[("Fulfilment alerts", b.name)] == 12
