"""Segments benchmark on PostgreSQL: a million customers (bench/customer_search.py's seeding,
spread over 5 branches, 40% agreeing to e-mail) and ~1.5 million orders over two years.

1. One 3-condition segment (home branch in two of five, agreed to e-mail, spend over the last
   365 days >= 200.00 USD), counted through the service (rules compiled by
   backroom/segments/rules.py, SQLAlchemy async) and the same filter as hand-written SQL
   through psycopg in two forms (a semi-join over the grouped orders; a per-customer sum),
   alternately, p50/p95 in ms and the ratio to the faster form (goal <= 1.5x and <= 2 s).
2. The nightly RFM run over every branch (backroom/segments/rfm.py) in a child process: wall
   time and the child's peak RSS (bounded: the rows never come to Python).

`run() -> dict`; `python -m bench.segments [rows]`."""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from bench.customer_search import PG_ADMIN, _seed

BRANCHES = 5
RAW = """
SELECT count(*) FROM customers c
WHERE c.status = 'active'
  AND c.home_branch_id IN (%(b1)s, %(b2)s)
  AND c.consent_email
  AND c.id IN (
    SELECT o.customer_id FROM orders o
    WHERE o.customer_id IS NOT NULL AND o.placed_at >= %(since)s AND o.currency = 'USD'
      AND o.status NOT IN ('cancelled', 'payment_failed', 'refunded')
    GROUP BY o.customer_id HAVING sum(o.total_minor) >= 20000)
"""
# The same filter written the other way: each remaining customer's sum looked up (the shape the
# service compiles an AND with other conditions to, read from ix_orders_customer_window).
RAW_LOOKUP = """
SELECT count(*) FROM customers c
WHERE c.status = 'active'
  AND c.home_branch_id IN (%(b1)s, %(b2)s)
  AND c.consent_email
  AND (SELECT coalesce(sum(o.total_minor), 0) FROM orders o
       WHERE o.customer_id = c.id AND o.placed_at >= %(since)s AND o.currency = 'USD'
         AND o.status NOT IN ('cancelled', 'payment_failed', 'refunded')) >= 20000
"""
ORDERS = """
INSERT INTO orders (token, idempotency_key, request_hash, customer_id, email, ship_name, ship_line1, ship_city,
  ship_postcode, ship_country, status, currency, subtotal_minor, discount_minor, tax_minor, shipping_minor,
  total_minor, captured_minor, refunded_minor, payment_method, placed_at, branch_id, created_at, updated_at)
SELECT 't' || g, 'i' || g, 'h', c.id, 'x@example.com', 'X', '1 Main', 'Town', '1000', 'US',
  CASE WHEN g %% 20 = 0 THEN 'cancelled' ELSE 'delivered' END, 'USD', 0, 0, 0, 0,
  1000 + (g * 7919) %% 40000, 0, 0, 'card', now() - ((g * 104729) %% 730) * interval '1 day', c.home_branch_id,
  now(), now()
FROM generate_series(1::bigint, %(n)s) g JOIN customers c ON c.id = %(first)s + (g * 48271) %% %(rows)s
"""


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 1)


def _prepare(url: str, rows: int) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        ids = [
            conn.execute(
                "INSERT INTO branches (code, name, timezone, currency, created_at, updated_at) "
                "VALUES (%s, %s, 'UTC', 'USD', now(), now()) RETURNING id",
                (f"B{i}", f"Branch {i}"),
            ).fetchone()[0]
            for i in range(BRANCHES)
        ]
    seed = _seed(url, rows, ids[0])
    with psycopg.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        first = conn.execute("SELECT min(id) FROM customers").fetchone()[0]
        conn.execute(
            "UPDATE customers SET home_branch_id = %s + (id %% %s), consent_email = (id %% 5 < 2)",
            (ids[0], BRANCHES),
        )
        conn.execute(ORDERS, {"n": int(rows * 1.5), "first": first, "rows": rows})
        conn.execute("VACUUM ANALYZE customers")
        conn.execute("VACUUM ANALYZE orders")
        seed["orders"] = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        seed["orders_s"] = round(time.perf_counter() - t, 1)
    return {"seed": seed, "branches": ids}


async def _service_once(maker, group, now) -> tuple[float, int]:
    from sqlalchemy import func, select

    from backroom.customers.models import Customer
    from backroom.segments import rules

    async with maker() as session:
        t = time.perf_counter()
        n = await session.scalar(select(func.count()).select_from(Customer).where(rules.where(group, now)))
        return time.perf_counter() - t, int(n)


def _evaluate(url: str, branches: list[int], runs: int) -> dict:
    from backroom.db.session import make_engine, make_sessionmaker
    from backroom.segments.schemas import Group

    now = datetime.now(UTC)
    b1, b2 = branches[1], branches[3]
    group = Group.model_validate(
        {
            "join": "and",
            "conditions": [
                {"attr": "home_branch", "op": "in", "value": [b1, b2]},
                {"attr": "consent_email", "op": "is", "value": True},
                {"attr": "spend", "op": "gte", "value": 20000, "days": 365, "currency": "USD"},
            ],
        }
    )

    async def go():
        engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        maker = make_sessionmaker(engine, readonly=True)
        svc, raw, lookup, counts = [], [], [], set()
        params = {"b1": b1, "b2": b2, "since": now - timedelta(days=365)}
        with psycopg.connect(url, prepare_threshold=None) as conn:
            for i in range(runs + 2):  # two warm-up rounds
                t_s, n_s = await _service_once(maker, group, now)
                t = time.perf_counter()
                n_r = conn.execute(RAW, params).fetchone()[0]
                t_r = time.perf_counter() - t
                t = time.perf_counter()
                n_l = conn.execute(RAW_LOOKUP, params).fetchone()[0]
                t_l = time.perf_counter() - t
                conn.rollback()
                counts.add((n_s, n_r, n_l))
                if i >= 2:
                    svc.append(t_s)
                    raw.append(t_r)
                    lookup.append(t_l)
        await engine.dispose()
        return svc, raw, lookup, counts

    svc, raw, lookup, counts = asyncio.run(go())
    (n_s, n_r, n_l), *rest = sorted(counts)
    assert not rest and n_s == n_r == n_l, f"the service and the raw SQL disagree: {counts}"
    # The ratio is to the faster hand-written form, so a better index never flatters it.
    best = min((raw, lookup), key=lambda v: _pct(v, 0.5))
    return {
        "members": n_s,
        "service_ms": {
            "p50": _pct(svc, 0.5),
            "p95": _pct(svc, 0.95),
            "mean": round(statistics.mean(svc) * 1000, 1),
        },
        "raw_sql_ms": {
            "p50": _pct(raw, 0.5),
            "p95": _pct(raw, 0.95),
            "mean": round(statistics.mean(raw) * 1000, 1),
        },
        "raw_sql_lookup_ms": {
            "p50": _pct(lookup, 0.5),
            "p95": _pct(lookup, 0.95),
            "mean": round(statistics.mean(lookup) * 1000, 1),
        },
        "ratio_p50": round(_pct(svc, 0.5) / max(_pct(best, 0.5), 1e-6), 2),
        "ratio_p95": round(_pct(svc, 0.95) / max(_pct(best, 0.95), 1e-6), 2),
    }


RFM_CHILD = """
import asyncio, json, os, resource, sys, time
from datetime import UTC, datetime
from backroom.db.session import make_engine, make_sessionmaker
from backroom.segments import rfm

async def main(url):
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    scored = 0
    async with maker() as s:
        branches = await rfm.branch_ids(s)
    for b in branches:
        async with maker.begin() as s:
            scored += await rfm.recompute_branch(s, branch_id=b, now=datetime.now(UTC))
    await engine.dispose()
    print(json.dumps({"scored": scored, "seconds": round(time.perf_counter() - t, 1),
                      "rss_before_mb": round(before / 1024, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
    sys.stdout.flush()
    os._exit(0)

asyncio.run(main(sys.argv[1]))
"""


def _rfm(url: str) -> dict:
    import json

    out = subprocess.run(
        [sys.executable, "-c", RFM_CHILD, url.replace("postgresql://", "postgresql+psycopg://")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(rows: int = 1_000_000, runs: int = 20, keep: bool = os.environ.get("BENCH_KEEP_DB") == "1") -> dict:
    from backroom.db.migrate import upgrade

    name = f"backroom_bench_segments_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
        prep = _prepare(url, rows)
        result = {"name": "segments", "customers": rows, "seed": prep["seed"]}
        result["segment_3_conditions"] = _evaluate(url, prep["branches"], runs)
        result["rfm_nightly"] = _rfm(url)
        result["this_process_peak_rss_mb"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        )
        return result
    finally:
        if not keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    import json

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps(run(rows=n), indent=2))
    sys.stdout.flush()
    os._exit(0)
