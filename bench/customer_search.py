"""Customer search benchmark: seed N customers into a fresh PostgreSQL database with COPY, then
time searches through the service (`backroom.customers.ops.search`, SQLAlchemy async) and the
same SQL sent straight through psycopg, in the same run. `run() -> dict`; `python -m bench.customer_search`."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid

import psycopg
from sqlalchemy import select

PG_ADMIN = os.environ.get("BACKROOM_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
FIRST = ["anna", "bob", "carla", "david", "eva", "farid", "gina", "hugo", "ines", "jack", "kim", "luis", "maria",
         "nina", "omar", "petra", "quinn", "rosa", "sam", "tara", "umar", "vera", "will", "xena", "yuri", "zoe"]
LAST = ["smith", "garcia", "chen", "muller", "rossi", "novak", "kowalski", "silva", "tanaka", "okafor", "dubois",
        "larsen", "ivanova", "haddad", "kaur", "murphy", "schmidt", "moreau", "jensen", "costa", "nakamura", "brown"]
INDEXES = {
    "ix_customers_name_trgm": "CREATE INDEX ix_customers_name_trgm ON customers USING gin (name_norm gin_trgm_ops)",
    "ix_customers_email_prefix": "CREATE INDEX ix_customers_email_prefix ON customers (email_norm text_pattern_ops)",
    "ix_customers_phone_prefix": "CREATE INDEX ix_customers_phone_prefix ON customers (phone_digits text_pattern_ops)",
    "ix_customers_name_sort": "CREATE INDEX ix_customers_name_sort ON customers (name_norm, id)",
}


def _person(i: int, rnd: random.Random) -> tuple[str, str, str, str]:
    name = f"{rnd.choice(FIRST).title()} {rnd.choice(LAST).title()}-{i % 9973}"
    email = f"{name.split()[0].lower()}.{i}@mail{i % 50}.example"
    digits = f"1{rnd.randint(200, 999)}{i:07d}"
    phone = f"+{digits[0]} ({digits[1:4]}) {digits[4:7]}-{digits[7:]}"
    return name, email, phone, digits


def _seed(url: str, rows: int, branch_id: int) -> dict:
    rnd = random.Random(7)
    with psycopg.connect(url, autocommit=True) as conn:
        for name in INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        t0 = time.perf_counter()
        with conn.cursor().copy(
                "COPY customers (kind, name, email, phone, home_branch_id, credit_limit_minor, currency, tags, "
                "consent_email, consent_sms, status, created_at, updated_at, name_norm, email_norm, phone_digits) "
                "FROM STDIN") as copy:
            for i in range(rows):
                name, email, phone, digits = _person(i, rnd)
                copy.write_row(("person", name, email, phone, branch_id, 0, "USD", "[]", False, False, "active",
                                "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", name.lower(), email, digits))
        copy_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        for sql in INDEXES.values():
            conn.execute(sql)
        conn.execute("ANALYZE customers")
        index_s = time.perf_counter() - t1
    return {"rows": rows, "copy_s": round(copy_s, 2), "index_s": round(index_s, 2),
            "seed_s": round(copy_s + index_s, 2), "rows_per_s": int(rows / copy_s)}


def _queries(n: int, rows: int) -> list[str]:
    rnd = random.Random(11)
    out = []
    for k in range(n):
        i = rnd.randrange(rows)
        name, email, _, digits = _person(i, random.Random(i))
        kind = k % 4
        if kind == 0:
            out.append(email[: rnd.randint(6, 12)] + ("@" if "@" not in email[:12] else ""))
        elif kind == 1:
            out.append(digits[: rnd.randint(6, 10)])
        elif kind == 2:
            out.append(f"{rnd.choice(LAST)}-{rnd.randrange(9973)}")
        else:
            out.append(rnd.choice(FIRST) + " " + rnd.choice(LAST)[:4])
    # Email prefixes must contain "@" to be read as email; keep the real prefix otherwise.
    return [q if not q.endswith("@") or q.count("@") == 1 else q for q in out]


def _kind(q: str) -> str:
    from backroom.customers.ops import search_kind
    return search_kind(q)


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 3)


async def _service_times(url: str, queries: list[str], limit: int) -> tuple[list[float], list[str]]:
    from backroom.customers import ops
    from backroom.db.session import make_engine, make_sessionmaker
    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    maker = make_sessionmaker(engine, readonly=True)
    times, sqls = [], []
    try:
        async with maker() as session:
            for q in queries[:5]:  # warm-up
                await ops.search(session, q=q, limit=limit)
            for q in queries:
                t = time.perf_counter()
                page = await ops.search(session, q=q, limit=limit)
                times.append(time.perf_counter() - t)
                sqls.append(_sql(session, q, limit))
                session.expunge_all()
                _ = page
    finally:
        await engine.dispose()
    return times, sqls


def _sql(session, q: str, limit: int) -> tuple[str, dict]:
    """The statement (and parameters) ops.search sends for a first page, for the driver run."""
    from backroom.customers import ops
    from backroom.customers.models import Customer
    stmt, sort_col = ops.search_statement(session, q=q)
    stmt = stmt.order_by(sort_col.asc(), Customer.id.asc()).limit(limit + 1)
    compiled = stmt.compile(dialect=session.bind.dialect)
    return compiled.string, dict(compiled.params)


def _driver_times(url: str, sqls: list[str], prepare_threshold: int | None = None) -> list[float]:
    times = []
    # prepare_threshold=None: plan each query with its values, like the service's statements;
    # psycopg's default (prepare after 5 runs) lets PostgreSQL switch to a generic plan that
    # cannot see the LIKE pattern and seq-scans a million rows.
    with psycopg.connect(url, prepare_threshold=prepare_threshold) as conn:
        for sql, params in sqls[:5]:
            conn.execute(sql, params).fetchall()
        for sql, params in sqls:
            t = time.perf_counter()
            conn.execute(sql, params).fetchall()
            times.append(time.perf_counter() - t)
    return times


def run(rows: int = 1_000_000, queries: int = 400, limit: int = 50,
        keep: bool = os.environ.get("BENCH_KEEP_DB") == "1") -> dict:
    """Seed `rows` customers, then search p50/p99 (ms) via the service and via psycopg, with the ratio."""
    from backroom.db.migrate import upgrade
    name = f"backroom_bench_search_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
        with psycopg.connect(url, autocommit=True) as conn:
            branch_id = conn.execute("INSERT INTO branches (code, name, timezone, currency, created_at, updated_at) "
                                     "VALUES ('BENCH', 'Bench', 'UTC', 'USD', now(), now()) RETURNING id").fetchone()[0]
        seed = _seed(url, rows, branch_id)
        qs = _queries(queries, rows)
        svc, sqls = asyncio.run(_service_times(url, qs, limit))
        drv = _driver_times(url, sqls)
        drv_prepared = _driver_times(url, sqls, prepare_threshold=5)
        result = {
            "name": "customer_search",
            "seed": seed,
            "queries": len(qs),
            "service_ms": {"p50": _pct(svc, 0.5), "p99": _pct(svc, 0.99), "mean": round(statistics.mean(svc) * 1000, 3)},
            "driver_ms": {"p50": _pct(drv, 0.5), "p99": _pct(drv, 0.99), "mean": round(statistics.mean(drv) * 1000, 3)},
        }
        kinds = {}
        for q, t_svc, t_drv in zip(qs, svc, drv):
            kinds.setdefault(_kind(q), ([], []))
            kinds[_kind(q)][0].append(t_svc)
            kinds[_kind(q)][1].append(t_drv)
        result["driver_prepared_ms"] = {"p50": _pct(drv_prepared, 0.5), "p99": _pct(drv_prepared, 0.99)}
        result["by_kind_ms"] = {k: {"service_p50": _pct(a, 0.5), "service_p99": _pct(a, 0.99),
                                    "driver_p50": _pct(b, 0.5), "driver_p99": _pct(b, 0.99)}
                                for k, (a, b) in kinds.items()}
        result["ratio_p50"] = round(result["service_ms"]["p50"] / max(result["driver_ms"]["p50"], 1e-6), 2)
        result["ratio_p99"] = round(result["service_ms"]["p99"] / max(result["driver_ms"]["p99"], 1e-6), 2)
        return result
    finally:
        if not keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    import json
    import sys
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps(run(rows=n), indent=2))
    sys.stdout.flush()
    os._exit(0)
