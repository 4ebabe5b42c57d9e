"""Reports benchmark: seed a fresh PostgreSQL database with N orders (default 1,000,000) with
their lines, payments and parcels over 18 months in 20 branches in five time zones (server-side
INSERT ... SELECT over generate_series), then time the orders report through the service
(`backroom.reports.service.build_report`, SQLAlchemy async) and the same aggregates sent
straight through psycopg, in the same run:

- monthly, one branch; monthly, all branches; daily, all branches.

Two baselines, each in one transaction through psycopg:
- `raw_sql`: the report's numbers written by hand: per source (orders, lines with their product,
  refunds) one scan of the period with GROUPING SETS for the summary and every breakdown, the
  previous period's summary, the exception list and the names shown. The ratio to it is the
  whole cost of building reports from the catalog. Its summary is checked against the report's.
- `replay`: the exact statements the service sent for that report (captured from the engine):
  the ratio to it is what SQLAlchemy and the Python assembly of the report cost on top of the
  database's own work for the same queries.

After the seed the daily rollups of every seeded day are built (`backroom.reports.rollups.refresh`,
timed); `service_ms` is the report read from them, `from_records_ms` the same report with rollups
off (`service.ROLLUPS = False`, every number from the records, as before rollups), both in the
same run and both checked against the hand-written SQL's summary.
`run() -> dict`; `python -m bench.reports [orders]`."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from datetime import date

import psycopg

PG_ADMIN = os.environ.get("BACKROOM_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BRANCHES = 20
ZONES = (
    ("America/New_York", "USD"),
    ("America/Los_Angeles", "USD"),
    ("Europe/Berlin", "EUR"),
    ("Europe/London", "GBP"),
    ("Asia/Tokyo", "JPY"),
)
START, END = "2025-05-01", "2026-11-01"  # 18 months, UTC
MONTH, DAY = date(2026, 10, 1), date(2026, 10, 14)
RUNS, WARMUP = 15, 3  # timed runs of each report (after the warm-up ones)


def _seed(url: str, orders: int) -> dict:
    """Branches, cashiers with daily shifts, products, then orders and what hangs off them."""
    zones = "ARRAY[" + ",".join(f"'{z}'" for z, _ in ZONES) + "]"
    currencies = "ARRAY[" + ",".join(f"'{c}'" for _, c in ZONES) + "]"
    steps = [
        (
            "branches",
            f"""INSERT INTO branches (code, name, timezone, currency, created_at, updated_at)
            SELECT 'B' || g, 'Branch ' || g, ({zones})[1 + (g - 1) % 5], ({currencies})[1 + (g - 1) % 5],
                   now(), now()
            FROM generate_series(1, {BRANCHES}) g ORDER BY g""",
        ),
        (
            "users",
            f"""INSERT INTO users (username, full_name, password_hash, is_active, created_at, updated_at)
            SELECT 'cashier' || g, 'Cashier ' || g, 'x', true, now(), now()
            FROM generate_series(1, {BRANCHES * 2}) g ORDER BY g""",
        ),
        (
            "shifts",
            f"""INSERT INTO shifts (branch_id, user_id, status, opened_at, closed_at, opening_float_minor,
                                    closing_count_minor, currency, created_at, updated_at)
            SELECT b.id, u.id, 'closed', d + interval '8 hours', d + interval '18 hours', 0, 0, b.currency, d, d
            FROM generate_series(timestamptz '{START}', timestamptz '{END}' - interval '1 day', interval '1 day') d
            CROSS JOIN users u
            JOIN branches b ON b.id = (SELECT min(id) FROM branches) + (u.id - (SELECT min(id) FROM users)) / 2
            ORDER BY d, u.id""",
        ),
        (
            "products",
            """INSERT INTO products (sku, name, category, price_minor, currency, tax_rate_bp, weight_g, length_mm,
                                    width_mm, height_mm, warranty_months, status, created_at, updated_at)
            SELECT 'SKU-' || g, 'Product ' || g, 'Category ' || (g % 10), 500 + (g * 137) % 20000, 'USD', 0,
                   100 + g, 10, 10, 10, 0, 'active', now(), now()
            FROM generate_series(1, 200) g ORDER BY g""",
        ),
        (
            "orders",
            f"""WITH k AS (SELECT (SELECT min(id) FROM branches) AS b0, (SELECT min(id) FROM users) AS u0,
                                  (SELECT min(id) FROM shifts) AS s0,
                                  extract(epoch FROM timestamptz '{END}' - timestamptz '{START}') AS span),
                 g AS (SELECT i, (i % {BRANCHES}) AS bi, ((i % {BRANCHES}) * 2 + (i / {BRANCHES}) % 2) AS ui,
                              timestamptz '{START}' + make_interval(secs => (i - 1) * (SELECT span FROM k) / {orders})
                                AS at
                       FROM generate_series(1, {orders}) i)
            INSERT INTO orders (token, idempotency_key, request_hash, email, ship_name, ship_line1, ship_city,
                                ship_postcode, ship_country, status, currency, subtotal_minor, discount_minor,
                                tax_minor, shipping_minor, total_minor, captured_minor, refunded_minor,
                                payment_method, payment_intent_id, placed_at, branch_id, created_by_id, shift_id,
                                created_at, updated_at)
            SELECT md5(i::text), 'bench-' || i, md5('r' || i), 'c' || i || '@bench.example', 'Customer ' || i,
                   '1 Main Street', 'City', '10001', 'US',
                   CASE WHEN i % 100 < 3 THEN 'cancelled' WHEN i % 100 = 3 THEN 'payment_failed'
                        WHEN i % 100 < 6 THEN 'refunded' ELSE 'delivered' END,
                   ({currencies})[1 + bi % 5], 1000 + (i * 37) % 20000, 0, 0, 500,
                   1500 + (i * 37) % 20000, 1500 + (i * 37) % 20000, 0, 'card', 'pi_' || i, at,
                   k.b0 + bi, k.u0 + ui,
                   k.s0 + (extract(epoch FROM at - timestamptz '{START}')::bigint / 86400) * {BRANCHES * 2} + ui,
                   at, at
            FROM g, k ORDER BY i""",
        ),
        (
            "order_lines",
            """INSERT INTO order_lines (order_id, product_id, sku, name, qty, unit_price_minor, tax_rate_bp,
                                        tax_minor, line_total_minor, weight_g, fulfil_branch_id, created_at,
                                        updated_at)
            SELECT o.id, p0 + (o.id * 31 + n * 7) % 200, 'SKU-' || (1 + (o.id * 31 + n * 7) % 200), 'Product', 1 + n,
                   (o.subtotal_minor / 3), 0, 0, (o.subtotal_minor / 3) * (1 + n), 200, o.branch_id, o.placed_at,
                   o.placed_at
            FROM orders o, generate_series(0, 1) n, (SELECT min(id) AS p0 FROM products) p""",
        ),
        (
            "payments",
            """INSERT INTO payments (order_id, kind, status, amount_minor, currency, gateway, intent_id,
                                     idempotency_key, branch_id, created_by_id, shift_id, created_at, updated_at)
            SELECT o.id, 'capture', 'succeeded', o.total_minor, o.currency, 'stripe', o.payment_intent_id,
                   'cap-' || o.id, o.branch_id, o.created_by_id, o.shift_id, o.placed_at + interval '1 minute',
                   o.placed_at + interval '1 minute'
            FROM orders o WHERE o.status <> 'payment_failed'
            UNION ALL
            SELECT o.id, 'refund', 'succeeded', o.total_minor / 2, o.currency, 'stripe', o.payment_intent_id,
                   'ref-' || o.id, o.branch_id, o.created_by_id, o.shift_id, o.placed_at + interval '2 hours',
                   o.placed_at + interval '2 hours'
            FROM orders o WHERE o.status = 'refunded'""",
        ),
        (
            "parcels",
            """INSERT INTO parcels (order_id, status, weight_g, carrier, service, rate_minor, rate_currency,
                                    label_id, label_key, tracking_number, shipped_at, delivered_at, labelled_at,
                                    branch_id, created_by_id, shift_id, created_at, updated_at)
            SELECT o.id, 'delivered', 400, 'local', 'ground', 700, o.currency, 'lbl_' || o.id, 'lbl-' || o.id,
                   'TRK' || o.id, o.placed_at + interval '1 day', o.placed_at + interval '3 days',
                   o.placed_at + interval '20 hours', o.branch_id, o.created_by_id, o.shift_id, o.placed_at,
                   o.placed_at
            FROM orders o WHERE o.status IN ('delivered', 'refunded')""",
        ),
        (
            "alerts",
            """INSERT INTO alerts (kind, severity, subject_type, subject_id, message, status, key, branch_id,
                                   created_at, updated_at)
            SELECT 'order_failed', 'warning', 'order', o.id::text, 'Payment failed', 'open', 'alert-' || o.id,
                   o.branch_id, o.placed_at, o.placed_at
            FROM orders o WHERE o.status = 'payment_failed'""",
        ),
        # Proportionate records of other functions: 1 customer per 50 orders, a complaint per 50
        # orders, a credit account per 10 customers with a sale and a payment a month.
        (
            "customers",
            f"""INSERT INTO customers (kind, name, email, home_branch_id, credit_limit_minor, currency, tags,
                                       consent_email, consent_sms, status, created_at, updated_at)
            SELECT 'person', 'Customer ' || g, 'c' || g || '@bench.example',
                   (SELECT min(id) FROM branches) + g % {BRANCHES}, 100000, 'USD', '[]', false, false, 'active',
                   timestamptz '{START}' + (g * interval '1 second') * (31536000 * 1.5 / {max(orders // 50, 1)}),
                   now()
            FROM generate_series(1, {max(orders // 50, 1)}) g ORDER BY g""",
        ),
        (
            "complaints",
            """INSERT INTO complaints (customer_id, channel, category, severity, order_id, description, status,
                                       level, first_response_minutes, resolution_minutes, first_response_due_at,
                                       resolution_due_at, responded_at, resolved_at, first_response_breached,
                                       resolution_breached, reopened_count, branch_id, created_at, updated_at)
            SELECT c.id, 'phone', 'delivery', 'medium', o.id, 'Late parcel', 'resolved', 'agent', 480, 2880,
                   o.placed_at + interval '8 hours', o.placed_at + interval '2 days',
                   o.placed_at + interval '3 hours', o.placed_at + interval '1 day' + (o.id % 3) * interval '1 day',
                   false, o.id % 3 = 2, 0, o.branch_id, o.placed_at + interval '1 hour',
                   o.placed_at + interval '1 hour'
            FROM orders o JOIN customers c ON c.id = (SELECT min(id) FROM customers) + o.id % (
                SELECT count(*) FROM customers)
            WHERE o.id % 50 = 0""",
        ),
        (
            "credit",
            f"""WITH a AS (
                INSERT INTO credit_accounts (customer_id, currency, balance_minor, terms_days, grace_days, on_hold,
                                             branch_id, created_at, updated_at)
                SELECT c.id, 'USD', 0, 30, 5, false, c.home_branch_id, c.created_at, c.created_at
                FROM customers c WHERE c.id % 10 = 0 RETURNING id, customer_id, branch_id, created_at)
            INSERT INTO credit_entries (account_id, customer_id, kind, amount_minor, currency, balance_after_minor,
                                        reference, occurred_at, due_at, branch_id, created_at, updated_at)
            SELECT a.id, a.customer_id, k.kind, k.sign * 5000, 'USD', 0, k.kind || '-' || a.id || '-' || m,
                   t, t + interval '30 days', a.branch_id, t, t
            FROM a CROSS JOIN generate_series(0, 17) m
            CROSS JOIN (VALUES ('sale', 1, interval '0 days'), ('payment', -1, interval '20 days')) k(kind, sign, lag)
            CROSS JOIN LATERAL (SELECT timestamptz '{START}' + m * interval '1 month' + k.lag AS t) x""",
        ),
    ]
    timings = {}
    with psycopg.connect(url, autocommit=True) as conn:
        t0 = time.perf_counter()
        for name, sql in steps:
            t = time.perf_counter()
            conn.execute(sql)
            timings[f"{name}_s"] = round(time.perf_counter() - t, 1)
        conn.execute("VACUUM ANALYZE")
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (
                "orders",
                "order_lines",
                "payments",
                "parcels",
                "customers",
                "complaints",
                "credit_entries",
            )
        }
        branch = conn.execute("SELECT min(id) FROM branches").fetchone()[0]
    return {"rows": counts, "seed_s": round(time.perf_counter() - t0, 1), "branch_id": branch, **timings}


# The orders report by hand. {w} is a VALUES list of (branch_id, zone, start, end) per branch; each
# branch's period is read through the (branch, time) index and lines through their order index
# (LATERAL ... OFFSET 0: a nested loop per branch; left to itself the planner flattens the
# subquery and misjudges the range join into a sequential scan of the whole table).
W = """(VALUES {w}) AS w(branch_id, tz, s, e)
CROSS JOIN LATERAL (SELECT * FROM orders o
                    WHERE o.branch_id = w.branch_id AND o.placed_at >= w.s AND o.placed_at < w.e OFFSET 0) o"""
LINES = "CROSS JOIN LATERAL (SELECT * FROM order_lines l WHERE l.order_id = o.id OFFSET 0) l"
REFUNDS = """(VALUES {w}) AS w(branch_id, tz, s, e)
CROSS JOIN LATERAL (SELECT * FROM payments pm
                    WHERE pm.branch_id = w.branch_id AND pm.created_at >= w.s AND pm.created_at < w.e
                      AND pm.kind = 'refund' AND pm.status = 'succeeded' OFFSET 0) pm"""
RAW_ORDERS = f"""
SELECT o.currency, GROUPING(o.branch_id) AS gb, GROUPING(o.created_by_id) AS gu, GROUPING(o.shift_id) AS gs,
       {{gday}} AS gd, o.branch_id, o.created_by_id, o.shift_id, {{kday}},
       count(*), sum(o.total_minor), count(*) FILTER (WHERE o.status = 'cancelled'),
       count(*) FILTER (WHERE o.status = 'payment_failed')
FROM {W}
CROSS JOIN LATERAL (SELECT (o.placed_at AT TIME ZONE w.tz)::date AS day) d
GROUP BY GROUPING SETS ((o.currency), (o.currency, o.branch_id), (o.currency, o.created_by_id),
                        (o.currency, o.shift_id){{day_set}})"""
RAW_LINES = f"""
SELECT o.currency, GROUPING(o.branch_id), GROUPING(o.created_by_id), GROUPING(o.shift_id), GROUPING(p.category),
       {{gday}}, o.branch_id, o.created_by_id, o.shift_id, p.category, {{kday}},
       sum(l.qty), sum(l.line_total_minor)
FROM {W}
{LINES}
JOIN products p ON p.id = l.product_id
CROSS JOIN LATERAL (SELECT (o.placed_at AT TIME ZONE w.tz)::date AS day) d
GROUP BY GROUPING SETS ((o.currency), (o.currency, o.branch_id), (o.currency, o.created_by_id),
                        (o.currency, o.shift_id), (o.currency, p.category){{day_set}})"""
RAW_REFUNDS = f"""
SELECT pm.currency, GROUPING(pm.branch_id), GROUPING(pm.created_by_id), GROUPING(pm.shift_id), {{gday}},
       pm.branch_id, pm.created_by_id, pm.shift_id, {{kday}}, sum(pm.amount_minor)
FROM {REFUNDS}
CROSS JOIN LATERAL (SELECT (pm.created_at AT TIME ZONE w.tz)::date AS day) d
GROUP BY GROUPING SETS ((pm.currency), (pm.currency, pm.branch_id), (pm.currency, pm.created_by_id),
                        (pm.currency, pm.shift_id){{day_set}})"""
RAW_PREVIOUS = f"""
SELECT o.currency, count(*), sum(o.total_minor), count(*) FILTER (WHERE o.status = 'cancelled'),
       count(*) FILTER (WHERE o.status = 'payment_failed')
FROM {W} GROUP BY o.currency"""
RAW_PREVIOUS_LINES = f"""
SELECT o.currency, sum(l.qty), sum(l.line_total_minor) FROM {W} {LINES} GROUP BY o.currency"""
RAW_PREVIOUS_REFUNDS = f"""SELECT pm.currency, sum(pm.amount_minor) FROM {REFUNDS} GROUP BY pm.currency"""
RAW_EXCEPTIONS = """
SELECT a.id, a.kind, a.severity, a.message, a.created_at, a.branch_id FROM alerts a
JOIN (VALUES {w}) AS w(branch_id, tz, s, e) ON a.branch_id = w.branch_id AND a.created_at >= w.s AND a.created_at < w.e
WHERE a.subject_type = 'order' AND a.kind IN ('order_failed', 'pick_timeout') ORDER BY a.created_at LIMIT 200"""
RAW_NAMES = """
SELECT u.id, u.full_name FROM users u WHERE u.id = ANY(%(users)s);
SELECT s.id, s.opened_at, u.full_name, b.name, b.timezone FROM shifts s JOIN users u ON u.id = s.user_id
  JOIN branches b ON b.id = s.branch_id WHERE s.id = ANY(%(shifts)s)"""


def _windows(url: str, edition: str, day: date, branch_ids: list[int] | None) -> tuple[str, str]:
    """VALUES rows (branch, zone, start, end) for the period and the previous one, as a person
    writing the SQL would compute them from the branches' zones."""
    from backroom.reports.periods import bounds, period_for, previous

    period = period_for(edition, day)
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, timezone FROM branches ORDER BY id").fetchall()
    rows = [r for r in rows if branch_ids is None or r[0] in branch_ids]

    def values(p) -> str:
        out = []
        for bid, tz in rows:
            s, e = bounds(p, tz)
            out.append(f"({bid}, '{tz}', timestamptz '{s.isoformat()}', timestamptz '{e.isoformat()}')")
        return ", ".join(out)

    return values(period), values(previous(period))


def _raw(url: str, edition: str, day: date, branch_ids: list[int] | None) -> tuple[list[float], dict]:
    """The hand-written report, timed; returns the times and this period's orders summary."""
    cur, prev = _windows(url, edition, day, branch_ids)
    # A daily report has no by-day breakdown.
    by_day = {"day_set": ", (o.currency, d.day)", "gday": "GROUPING(d.day)", "kday": "d.day"}
    if edition == "daily":
        by_day = {"day_set": "", "gday": "1", "kday": "NULL::date"}
    queries = [
        RAW_ORDERS.format(w=cur, **by_day),
        RAW_LINES.format(w=cur, **by_day),
        RAW_REFUNDS.format(w=cur, **{**by_day, "day_set": by_day["day_set"].replace("o.", "pm.")}),
        RAW_PREVIOUS.format(w=prev),
        RAW_PREVIOUS_LINES.format(w=prev),
        RAW_PREVIOUS_REFUNDS.format(w=prev),
        RAW_EXCEPTIONS.format(w=cur),
    ]
    names_users, names_shifts = RAW_NAMES.split(";")
    times, summary = [], {}
    with psycopg.connect(url, prepare_threshold=None) as conn:
        for i in range(WARMUP + RUNS):
            t = time.perf_counter()
            with conn.transaction():
                # As the service does: JIT-compiling these one-off aggregates costs more than it saves.
                conn.execute("SET LOCAL jit = off")
                results = [conn.execute(q).fetchall() for q in queries]
                users = sorted({r[6] for r in results[0] if r[3] == 1 and r[2] == 0 and r[6] is not None})
                shifts = sorted({r[7] for r in results[0] if r[3] == 0 and r[7] is not None})
                conn.execute(names_users, {"users": users}).fetchall()
                conn.execute(names_shifts, {"shifts": shifts}).fetchall()
            if i >= WARMUP:
                times.append(time.perf_counter() - t)
        # The summary rows: grouped by currency alone.
        for row in results[0]:
            if row[1] and row[2] and row[3] and row[4]:
                summary[row[0]] = (row[9], int(row[10]))
    return times, summary


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 1)


async def _placed_by_currency(maker, kw: dict) -> dict[str, int]:
    """Orders placed per currency, from the report's by-branch breakdown (its summary count is
    over all currencies): each branch sells in one currency."""
    from sqlalchemy import select

    from backroom.branches.models import Branch
    from backroom.reports.service import build_report

    async with maker() as session:
        currency = dict((await session.execute(select(Branch.id, Branch.currency))).all())
        report = await build_report(session, function="orders", **kw)
    out: dict[str, int] = {}
    by_branch = next((b for b in report.breakdowns if b.dimension == "branch"), None)
    if by_branch is None:  # one branch: the summary is that branch's
        (bid,) = kw["branch_ids"]
        return {currency[bid]: int(next(x for x in report.summary if x.measure == "placed").current.value)}
    for row in by_branch.rows:
        c = currency[int(row.key)]
        out[c] = out.get(c, 0) + int(row.figures["placed"].value or 0)
    return out


async def _build_rollups(url: str) -> dict:
    """Build the daily rollups of every seeded day (what the worker's refresher does day by day)."""
    from datetime import timedelta

    from backroom.db.session import make_engine, make_sessionmaker
    from backroom.reports import rollups

    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        t = time.perf_counter()
        async with make_sessionmaker(engine).begin() as session:
            days = await rollups.refresh(
                session,
                start=date.fromisoformat(START) - timedelta(days=1),
                end=date.fromisoformat(END) + timedelta(days=1),
            )
        built_s = time.perf_counter() - t
    finally:
        await engine.dispose()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE report_rollups")
        conn.execute("VACUUM ANALYZE report_rollup_days")
        rows = conn.execute("SELECT count(*) FROM report_rollups").fetchone()[0]
    return {"build_s": round(built_s, 1), "days_built": days, "rollup_rows": rows}


async def _service(url: str, cases: dict[str, dict], rolled: bool = True) -> tuple[dict, dict, dict]:
    """Time build_report per case (from the rollups, or `rolled=False` from the records alone);
    capture the statements of its last run for the driver."""
    from sqlalchemy import event

    from backroom.db.session import make_engine, make_sessionmaker
    from backroom.reports import service
    from backroom.reports.service import build_report

    service.ROLLUPS = rolled

    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    maker = make_sessionmaker(engine, readonly=True)
    sent: list = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    times: dict[str, list[float]] = {}
    statements: dict[str, list] = {}
    summaries: dict[str, dict] = {}
    try:
        for name, kw in cases.items():
            runs = []
            for i in range(WARMUP + RUNS):
                sent.clear()
                t = time.perf_counter()
                async with maker() as session:
                    report = await build_report(session, function="orders", **kw)
                if i >= WARMUP:
                    runs.append(time.perf_counter() - t)
            assert report.has_data, name
            times[name], statements[name] = runs, list(sent)
            line = {x.measure: x.current for x in report.summary}
            value = {m.currency: m.amount_minor for m in line["value"].money}
            # Orders placed per currency: the branches of one currency are all in the report.
            placed = await _placed_by_currency(maker, kw)
            summaries[name] = {c: (placed[c], value.get(c, 0)) for c in placed}
    finally:
        await engine.dispose()
    return times, statements, summaries


def _driver(url: str, statements: list) -> list[float]:
    """The same statements straight through psycopg, one transaction per report (as the service)."""
    times = []
    with psycopg.connect(url, prepare_threshold=None) as conn:
        for i in range(WARMUP + RUNS):
            t = time.perf_counter()
            with conn.transaction():
                for sql, params in statements:
                    cur = conn.execute(sql, params or None)
                    if cur.description:
                        cur.fetchall()
            if i >= WARMUP:
                times.append(time.perf_counter() - t)
    return times


def run(
    orders: int = 1_000_000, keep: bool = os.environ.get("BENCH_KEEP_DB") == "1", runs: int | None = None
) -> dict:
    """Seed, then p50/p95 (ms) of three orders reports via the service and via psycopg, with ratios."""
    from backroom.db.migrate import upgrade

    global RUNS
    RUNS = runs or RUNS
    name = f"backroom_bench_reports_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
        seed = _seed(url, orders)
        cases = {
            "monthly_one_branch": {"edition": "monthly", "day": MONTH, "branch_ids": [seed["branch_id"]]},
            "monthly_all_branches": {"edition": "monthly", "day": MONTH, "branch_ids": None},
            "daily_all_branches": {"edition": "daily", "day": DAY, "branch_ids": None},
        }
        rollup = asyncio.run(_build_rollups(url))
        svc, sqls, summaries = asyncio.run(_service(url, cases))
        from_records, _, records_summaries = asyncio.run(_service(url, cases, rolled=False))
        result: dict = {
            "name": "reports (orders report set)",
            "seed": seed,
            "rollups": rollup,
            "runs_each": RUNS,
        }
        worst_raw = worst_replay = 0.0
        for case, kw in cases.items():
            raw, raw_summary = _raw(url, kw["edition"], kw["day"], kw["branch_ids"])
            for label, got in (("rollups", summaries[case]), ("records", records_summaries[case])):
                if raw_summary != got:
                    raise AssertionError(
                        f"{case}: hand-written SQL {raw_summary} != report from {label} {got}"
                    )
            replay = _driver(url, sqls[case])
            s50, s95 = _pct(svc[case], 0.5), _pct(svc[case], 0.95)
            f50, f95 = _pct(from_records[case], 0.5), _pct(from_records[case], 0.95)
            r50, r95, p50, p95 = _pct(raw, 0.5), _pct(raw, 0.95), _pct(replay, 0.5), _pct(replay, 0.95)
            worst_raw = max(worst_raw, s50 / max(r50, 1e-6))
            worst_replay = max(worst_replay, s50 / max(p50, 1e-6))
            result[case] = {
                "service_ms": {"p50": s50, "p95": s95, "mean": round(statistics.mean(svc[case]) * 1000, 1)},
                "from_records_ms": {"p50": f50, "p95": f95},
                "raw_sql_ms": {"p50": r50, "p95": r95},
                "replay_ms": {"p50": p50, "p95": p95},
                "statements": len(sqls[case]),
                "ratio_raw_p50": round(s50 / max(r50, 1e-6), 2),
                "ratio_raw_p95": round(s95 / max(r95, 1e-6), 2),
                "ratio_replay_p50": round(s50 / max(p50, 1e-6), 2),
                "from_records_ratio_raw_p50": round(f50 / max(r50, 1e-6), 2),
                "orders_in_period": sum(n for n, _ in summaries[case].values()),
            }
        monthly_all = result["monthly_all_branches"]["service_ms"]["p50"]
        result["summary"] = (
            f"{orders:,} orders: monthly all-branch orders report from the rollups p50 {monthly_all:,.0f} ms"
            f" (goal <= 1,000 ms); worst ratio p50 {worst_raw:.2f}x hand-written SQL over the records,"
            f" {worst_replay:.2f}x the same statements through psycopg (goal <= 1.5x)"
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
