"""Dashboard benchmark, on the reports benchmark's data set (its `_seed`: N orders, default
1,000,000, with lines, payments and parcels over 18 months in 20 branches in five zones):

- the E-commerce dashboard for one branch and for all branches, p50/p95 over 50 loads (each load
  runs the three below in turn, so a busy moment on the shared machine hits all alike), twice:
  `build` (backroom.analytics.dashboard.build: KPI cards, queue, alerts, timeline) and `api`
  (GET /api/v1/dashboards/commerce through the ASGI app with a bearer token: auth, filters,
  JSON); against `raw_sql`: the KPI cards' numbers written by hand (one statement per source,
  grouped by each branch's local day with `AT TIME ZONE`, spans summed in Python), in the same
  run; the two agree on this month's orders (checked);
- after the seed the daily rollups are built (as in bench/reports.py): `build` and `api` read the
  KPI cards from them; `build_records` is the same dashboard with rollups off (every number from
  the records), in the same loads; the cards are checked equal both ways; `cards` and
  `cards_records` time `dashboard.cards` alone (the KPI cards, what the rollups serve) both ways;
- the forecast of one measure (orders placed per day) for the 20 branches
  (backroom.analytics.service.forecast_by_branch), p50 over 5 runs.

"Now" is 2026-10-29 12:00 UTC, inside the seeded 18 months. `run() -> dict`;
`python -m bench.dashboard [orders]`."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg

from bench.reports import PG_ADMIN, _build_rollups, _pct, _seed

NOW = datetime(2026, 10, 29, 12, 0, tzinfo=UTC)
LOADS, WARMUP = 50, 3

RAW = {
    "orders": """SELECT (o.placed_at AT TIME ZONE b.timezone)::date AS d, count(*) AS placed,
                        coalesce(sum(o.total_minor) FILTER (WHERE o.currency = %(cur)s), 0) AS value
                 FROM orders o JOIN branches b ON b.id = o.branch_id
                 WHERE o.branch_id = ANY(%(ids)s) AND o.placed_at >= %(lo)s AND o.placed_at < %(hi)s
                 GROUP BY 1""",
    "payments": """SELECT (p.created_at AT TIME ZONE b.timezone)::date AS d,
                          count(*) FILTER (WHERE p.kind = 'capture') AS captured
                   FROM payments p JOIN orders o ON o.id = p.order_id JOIN branches b ON b.id = p.branch_id
                   WHERE p.branch_id = ANY(%(ids)s) AND p.created_at >= %(lo)s AND p.created_at < %(hi)s
                   GROUP BY 1""",
    "parcels": """SELECT (p.shipped_at AT TIME ZONE b.timezone)::date AS d, count(*) AS shipped
                  FROM parcels p JOIN orders o ON o.id = p.order_id JOIN branches b ON b.id = p.branch_id
                  WHERE p.branch_id = ANY(%(ids)s) AND p.shipped_at >= %(lo)s AND p.shipped_at < %(hi)s
                  GROUP BY 1""",
    "carts": """SELECT (c.created_at AT TIME ZONE b.timezone)::date AS d, count(*) AS opened,
                       count(*) FILTER (WHERE c.status = 'checked_out') AS checked_out
                FROM carts c JOIN branches b ON b.id = c.branch_id
                WHERE c.branch_id = ANY(%(ids)s) AND c.created_at >= %(lo)s AND c.created_at < %(hi)s
                GROUP BY 1""",
}


def _spans(today: date) -> list[tuple[date, date]]:
    """Today, this week so far, this month so far, each with the same span before (the cards')."""
    week, month = today - timedelta(days=today.weekday()), today.replace(day=1)
    end = today + timedelta(days=1)
    prev_month = (month - timedelta(days=1)).replace(day=1)
    return [
        (today, end),
        (today - timedelta(days=1), today),
        (week, end),
        (week - timedelta(days=7), week - timedelta(days=7) + (end - week)),
        (month, end),
        (prev_month, min(prev_month + (end - month), month)),
    ]


def _raw_params(ids: list[int], currency: str) -> dict:
    today = NOW.date()
    start = min(today.replace(day=1) - timedelta(days=31), today - timedelta(days=29))
    return {
        "ids": ids,
        "cur": currency,
        "lo": datetime.combine(start - timedelta(days=1), datetime.min.time(), UTC),
        "hi": datetime.combine(today + timedelta(days=2), datetime.min.time(), UTC),
    }


def _raw_once(conn, params: dict) -> int:
    """The KPI cards by hand: per source one grouped statement over ~60 days, then the six spans
    and the 30-day trend per measure. Returns this month's orders placed."""
    today = NOW.date()
    with conn.transaction():
        by_day = {k: conn.execute(sql, params).fetchall() for k, sql in RAW.items()}
    cols: dict = {}
    for rows in by_day.values():
        for row in rows:
            for n, v in enumerate(row[1:]):
                cols.setdefault(n, []).append((row[0], v))
    sums = [[sum(v for d, v in col if a <= d < b) for a, b in _spans(today)] for col in cols.values()]
    trend = [
        [sum(v for d, v in col if d == today - timedelta(days=k)) for k in range(30)] for col in cols.values()
    ]
    assert sums and trend
    return sum(n for d, n, _ in by_day["orders"] if today.replace(day=1) <= d <= today)


async def _app_runs(url: str, branch_id: int, currency: dict[int, str]) -> dict:
    """Per load, in turn: the hand-written KPI SQL, the dashboard through the service, and through
    the API (interleaved, so a busy moment on the machine hits all three alike); then the
    forecast for 20 branches."""
    import httpx
    from sqlalchemy import select

    from api.app import create_app
    from backroom.analytics import dashboard, service
    from backroom.analytics.modules import MODULES
    from backroom.analytics.series import scope_for
    from backroom.audit.context import Actor
    from backroom.auth import service as auth
    from backroom.auth.models import User
    from backroom.branches.models import Branch
    from backroom.db.session import make_engine, make_sessionmaker
    from backroom.reports import service as reports_service
    from backroom.settings import Settings
    from policies import load_enforcer

    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    maker, reader = make_sessionmaker(engine), make_sessionmaker(engine, readonly=True)
    out: dict = {}
    try:
        async with maker.begin() as s:
            admin = await auth.create_user(
                s,
                actor=Actor.system("bench"),
                username=f"bench{uuid.uuid4().hex[:6]}",
                full_name="Bench Admin",
                password="bench-password-1",
                grants=[("admin", None)],
            )
            secret, _ = await auth.create_token(
                s, actor=Actor.system("bench"), user_id=admin.id, name="bench"
            )
            ids = sorted((await s.execute(select(Branch.id))).scalars())
            branch_rows = {b.id: b for b in (await s.execute(select(Branch).order_by(Branch.name))).scalars()}
        async with reader() as s:
            user = await s.get(User, admin.id)
            p = await auth.principal_for(s, user, load_enforcer(await auth.all_grants(s)))
        commerce = MODULES["commerce"]
        settings = Settings(SECRET_KEY="bench", TEMPORAL_ADDRESS="127.0.0.1:1")
        app = create_app(settings, sessionmaker=maker, read_sessionmaker=reader)
        app.state.clock = lambda: NOW  # the API reads the same day as `build` (the seed ends before today)
        cases = (
            ("one_branch", [branch_id], f"?branch={branch_id}", currency[branch_id]),
            ("all_branches", None, "", sorted(set(currency.values()))[0]),
        )
        with psycopg.connect(url, prepare_threshold=None) as conn:
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="https://bench",
                    headers={"Authorization": f"Bearer {secret}"},
                ) as client,
            ):
                for case, branch_ids, qs, cur in cases:
                    params = _raw_params(branch_ids or ids, cur)
                    runs: dict[str, list[float]] = {
                        "raw": [],
                        "build": [],
                        "api": [],
                        "build_records": [],
                        "cards": [],
                        "cards_records": [],
                    }
                    in_scope = {i: b for i, b in branch_rows.items() if branch_ids is None or i in branch_ids}
                    for i in range(WARMUP + LOADS):
                        t = time.perf_counter()
                        raw_placed = _raw_once(conn, params)
                        t1 = time.perf_counter()
                        async with reader() as s:
                            board = await dashboard.build(
                                s, module=commerce, p=p, branch_ids=branch_ids, now=NOW
                            )
                        t2 = time.perf_counter()
                        r = await client.get(f"/api/v1/dashboards/commerce{qs}")
                        t3 = time.perf_counter()
                        assert r.status_code == 200, r.text[:300]
                        # The same dashboard with every number from the records (before rollups).
                        reports_service.ROLLUPS = False
                        try:
                            async with reader() as s:
                                from_records = await dashboard.build(
                                    s, module=commerce, p=p, branch_ids=branch_ids, now=NOW
                                )
                        finally:
                            reports_service.ROLLUPS = True
                        t4 = time.perf_counter()
                        # The KPI cards alone (what the rollups serve), both ways.
                        cards = {}
                        for rolled in (True, False):
                            reports_service.ROLLUPS = rolled
                            try:
                                c0 = time.perf_counter()
                                async with reader() as s:
                                    await dashboard.cards(
                                        s,
                                        module=commerce,
                                        branches=in_scope,
                                        user_id=None,
                                        shift_ids=None,
                                        category=None,
                                        now=NOW,
                                    )
                                cards[rolled] = time.perf_counter() - c0
                            finally:
                                reports_service.ROLLUPS = True
                        if i >= WARMUP:
                            runs["cards"].append(cards[True])
                            runs["cards_records"].append(cards[False])
                            runs["raw"].append(t1 - t)
                            runs["build"].append(t2 - t1)
                            runs["api"].append(t3 - t2)
                            runs["build_records"].append(t4 - t3)
                    for b in (board, from_records):
                        card = next(c for c in b.cards if c.measure == "placed")
                        if raw_placed != card.spans[2].value:
                            raise AssertionError(
                                f"{case}: hand-written SQL {raw_placed} != dashboard {card.spans[2].value}"
                            )
                    cards = [[(x.value, x.previous) for x in c.spans] for c in board.cards]
                    if cards != [[(x.value, x.previous) for x in c.spans] for c in from_records.cards]:
                        raise AssertionError(f"{case}: KPI cards from the rollups != from the records")
                    out[case] = {**runs, "month_placed": raw_placed}
        runs = []
        for _ in range(1 + 5):
            t = time.perf_counter()
            async with reader() as s:
                scope = await scope_for(s, function="orders", measure="placed", branch_ids=ids)
                results = await service.forecast_by_branch(s, scope, bucket="day", now=NOW)
            runs.append(time.perf_counter() - t)
        out["forecast"] = {
            "runs": runs[1:],
            "series": len(results),
            "with_forecast": sum(r.forecast.enough_history for r in results),
            "example": results[0].forecast.model_dump(
                include={"forecast", "lower_95", "upper_95", "mape_pct", "method"}
            ),
        }
    finally:
        await engine.dispose()
    return out


def run(
    orders: int = 1_000_000, keep: bool = os.environ.get("BENCH_KEEP_DB") == "1", loads: int | None = None
) -> dict:
    """Seed, then p50/p95 (ms) of the E-commerce dashboard (service and API) vs its KPI SQL, and the
    20-branch forecast."""
    from backroom.db.migrate import upgrade

    global LOADS
    LOADS = loads or LOADS
    name = f"backroom_bench_dashboard_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
        seed = _seed(url, orders)
        rollup = asyncio.run(_build_rollups(url))
        branch = seed["branch_id"]
        with psycopg.connect(url) as conn:
            currency = {r[0]: r[1] for r in conn.execute("SELECT id, currency FROM branches").fetchall()}
        app = asyncio.run(_app_runs(url, branch, currency))
        result: dict = {
            "name": "dashboard (E-commerce) and forecast",
            "seed": seed,
            "rollups": rollup,
            "loads_each": LOADS,
        }
        worst = 0.0
        for case in ("one_branch", "all_branches"):
            r50, r95 = _pct(app[case]["raw"], 0.5), _pct(app[case]["raw"], 0.95)
            entry = {"raw_sql_ms": {"p50": r50, "p95": r95}, "orders_this_month": app[case]["month_placed"]}
            for kind in ("build", "api", "build_records", "cards", "cards_records"):
                v = app[case][kind]
                p50, p95 = _pct(v, 0.5), _pct(v, 0.95)
                entry[f"{kind}_ms"] = {"p50": p50, "p95": p95, "mean": round(statistics.mean(v) * 1000, 1)}
                entry[f"{kind}_ratio_raw_p95"] = round(p95 / max(r95, 1e-6), 2)
                if kind in ("build", "api"):
                    worst = max(worst, p95 / max(r95, 1e-6))
            result[case] = entry
        f = app["forecast"]
        result["forecast_20_branches"] = {
            "p50_ms": _pct(f["runs"], 0.5),
            "max_ms": round(max(f["runs"]) * 1000, 1),
            "series": f["series"],
            "with_forecast": f["with_forecast"],
            "example": f["example"],
        }
        api_all = result["all_branches"]["api_ms"]["p95"]
        result["summary"] = (
            f"{orders:,} orders: E-commerce dashboard all branches p95 {api_all:,.0f} ms via the API "
            f"(goal <= 300 ms), worst p95 ratio {worst:.2f}x its KPI SQL (goal <= 1.5x); forecast of "
            f"{f['series']} branch series p50 {result['forecast_20_branches']['p50_ms']:,.0f} ms (goal <= 1,000 ms)"
        )
        return result
    finally:
        if not keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    import json
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps(run(orders=n), indent=2, default=str))
    sys.stdout.flush()
    os._exit(0)
