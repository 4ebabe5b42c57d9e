"""Customer search benchmark: seed N customers into a fresh PostgreSQL database with COPY, then
time searches through the service (`backroom.customers.repository.search`, SQLAlchemy async) and the
same SQL sent straight through psycopg, in the same run; then the same on the embedded SQLite
(seeded with executemany, the driver side through sqlite3). BENCH_SCALE scales rows and queries.
`run() -> dict`; `python -m bench.customer_search`."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid

import psycopg

PG_ADMIN = os.environ.get("BACKROOM_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
FIRST = [
    "anna",
    "bob",
    "carla",
    "david",
    "eva",
    "farid",
    "gina",
    "hugo",
    "ines",
    "jack",
    "kim",
    "luis",
    "maria",
    "nina",
    "omar",
    "petra",
    "quinn",
    "rosa",
    "sam",
    "tara",
    "umar",
    "vera",
    "will",
    "xena",
    "yuri",
    "zoe",
]
LAST = [
    "smith",
    "garcia",
    "chen",
    "muller",
    "rossi",
    "novak",
    "kowalski",
    "silva",
    "tanaka",
    "okafor",
    "dubois",
    "larsen",
    "ivanova",
    "haddad",
    "kaur",
    "murphy",
    "schmidt",
    "moreau",
    "jensen",
    "costa",
    "nakamura",
    "brown",
]
INDEXES = {
    "ix_customers_name_trgm": "CREATE INDEX ix_customers_name_trgm ON customers USING gin (name_norm gin_trgm_ops)",
    "ix_customers_email_prefix": "CREATE INDEX ix_customers_email_prefix ON customers (email_norm text_pattern_ops)",
    "ix_customers_phone_prefix": "CREATE INDEX ix_customers_phone_prefix ON customers (phone_national text_pattern_ops)",
    "ix_customers_name_sort": "CREATE INDEX ix_customers_name_sort ON customers (name_norm, id)",
}


def _person(i: int) -> tuple[str, str, str, str]:
    """Customer number i's details: deterministic arithmetic (cheap for a million rows)."""
    first, last = FIRST[(i * 7 + i // 26) % len(FIRST)], LAST[(i * 13 + i // 22) % len(LAST)]
    name = f"{first.title()} {last.title()}-{i % 9973}"
    email = f"{first}.{i}@mail{i % 50}.example"
    digits = f"1{200 + (i * 37) % 800}{i:07d}"
    phone = f"+{digits[0]} ({digits[1:4]}) {digits[4:7]}-{digits[7:]}"
    return name, email, phone, digits


def _seed(url: str, rows: int, branch_id: int) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        for name in INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        t0 = time.perf_counter()
        with conn.cursor().copy(
            "COPY customers (kind, name, email, phone, home_branch_id, credit_limit_minor, currency, tags, "
            "consent_email, consent_sms, status, created_at, updated_at, name_norm, email_norm, phone_national) "
            "FROM STDIN"
        ) as copy:
            for i in range(rows):
                name, email, phone, digits = _person(i)
                copy.write_row(
                    (
                        "person",
                        name,
                        email,
                        phone,
                        branch_id,
                        0,
                        "USD",
                        "[]",
                        False,
                        False,
                        "active",
                        "2026-01-01T00:00:00Z",
                        "2026-01-01T00:00:00Z",
                        name.lower(),
                        email,
                        digits[1:],  # national digits: without the +1
                    )
                )
        copy_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        for sql in INDEXES.values():
            conn.execute(sql)
        conn.execute("ANALYZE customers")
        index_s = time.perf_counter() - t1
    return {
        "rows": rows,
        "copy_s": round(copy_s, 2),
        "index_s": round(index_s, 2),
        "seed_s": round(copy_s + index_s, 2),
        "rows_per_s": int(rows / copy_s),
    }


def _queries(n: int, rows: int) -> list[str]:
    """What staff type: an email up to part of its domain, the first digits of a phone number,
    a surname with its number, a first name plus the start of a surname; every 10th name query
    has a typo (a letter dropped), which takes the similarity fallback."""
    rnd = random.Random(11)
    out = []
    for k in range(n):
        i = rnd.randrange(rows)
        name, email, _, digits = _person(i)
        kind = k % 4
        if kind == 0:
            out.append(email[: email.index("@") + rnd.randint(1, 6)])
        elif kind == 1:
            out.append(digits[1 : rnd.randint(7, 11)])
        elif kind == 2:
            out.append(name.split()[1].lower())
        else:
            first, last = name.split()
            q = f"{first} {last[:4]}".lower()
            if k % 40 == 3:
                q = q[:2] + q[3:]
            out.append(q)
    return out


def _kind(q: str) -> str:
    from backroom.customers.repository import search_kind

    return search_kind(q)


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 3)


async def _service_times(url: str, queries: list[str], limit: int) -> tuple[list[float], list[list]]:
    """Time repository.search per query and capture the exact statements it sent (for the driver run)."""
    from sqlalchemy import event

    from backroom.customers import repository
    from backroom.db.session import make_engine, make_sessionmaker

    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    maker = make_sessionmaker(engine, readonly=True)
    sent: list = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    times, statements = [], []
    try:
        for q in queries[:5]:  # warm-up
            async with maker() as session:
                await repository.search(session, q=q, limit=limit)
        for q in queries:
            async with maker() as session:
                sent.clear()
                t = time.perf_counter()
                await repository.search(session, q=q, limit=limit)
                times.append(time.perf_counter() - t)
                statements.append(list(sent))
    finally:
        await engine.dispose()
    return times, statements


def _seed_sqlite(path: str, rows: int, branch_id: int) -> dict:
    import sqlite3

    conn = sqlite3.connect(path)
    t0 = time.perf_counter()

    def people():
        for i in range(rows):
            name, email, phone, digits = _person(i)
            yield (name, email, phone, branch_id, name.lower(), email, digits[1:])  # national digits

    with conn:
        conn.executemany(
            "INSERT INTO customers (kind, name, email, phone, home_branch_id, credit_limit_minor, currency, "
            "tags, consent_email, consent_sms, status, created_at, updated_at, name_norm, email_norm, "
            "phone_national) VALUES ('person', ?, ?, ?, ?, 0, 'USD', '[]', 0, 0, 'active', "
            "'2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', ?, ?, ?)",
            people(),
        )
    seed_s = time.perf_counter() - t0
    conn.execute("ANALYZE")
    conn.close()
    return {"rows": rows, "seed_s": round(seed_s, 2), "rows_per_s": int(rows / seed_s)}


def _sqlite_driver_times(path: str, statements: list[list]) -> list[float]:
    """The service's statements (qmark parameters, as aiosqlite got them) straight through sqlite3."""
    import sqlite3

    conn = sqlite3.connect(path)
    times = []
    for batch in statements[:5] + statements:
        t = time.perf_counter()
        for sql, params in batch:
            if sql.lstrip().upper().startswith(("SELECT", "WITH")):  # the session's BEGIN/PRAGMAs aside
                conn.execute(sql, params or ()).fetchall()
        times.append(time.perf_counter() - t)
    conn.close()
    return times[5:]


def _summary(qs: list[str], svc: list[float], drv: list[float]) -> dict:
    kinds: dict[str, tuple[list, list]] = {}
    for q, t_svc, t_drv in zip(qs, svc, drv, strict=False):
        kinds.setdefault(_kind(q), ([], []))
        kinds[_kind(q)][0].append(t_svc)
        kinds[_kind(q)][1].append(t_drv)
    return {
        "service_ms": {
            "p50": _pct(svc, 0.5),
            "p99": _pct(svc, 0.99),
            "mean": round(statistics.mean(svc) * 1000, 3),
        },
        "driver_ms": {
            "p50": _pct(drv, 0.5),
            "p99": _pct(drv, 0.99),
            "mean": round(statistics.mean(drv) * 1000, 3),
        },
        "by_kind_ms": {
            k: {
                "service_p50": _pct(a, 0.5),
                "service_p99": _pct(a, 0.99),
                "driver_p50": _pct(b, 0.5),
                "driver_p99": _pct(b, 0.99),
            }
            for k, (a, b) in kinds.items()
        },
        "ratio_p50": round(_pct(svc, 0.5) / max(_pct(drv, 0.5), 1e-6), 2),
        "ratio_p99": round(_pct(svc, 0.99) / max(_pct(drv, 0.99), 1e-6), 2),
    }


def run_sqlite(rows: int, queries: int = 400, limit: int = 50) -> dict:
    """The same searches on the embedded default: SQLite through aiosqlite, against sqlite3 directly."""
    import sqlite3
    import tempfile
    from pathlib import Path

    from backroom.db.migrate import upgrade

    path = str(Path(tempfile.mkdtemp(prefix="bench-search-")) / "search.db")
    upgrade(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as conn:
        branch_id = conn.execute(
            "INSERT INTO branches (code, name, timezone, currency, created_at, updated_at) "
            "VALUES ('BENCH', 'Bench', 'UTC', 'USD', '2026-01-01 00:00:00', '2026-01-01 00:00:00') RETURNING id"
        ).fetchone()[0]
    seed = _seed_sqlite(path, rows, branch_id)
    qs = _queries(queries, rows)
    url = f"sqlite+aiosqlite:///{path}"
    _, sqls = asyncio.run(_service_times(url, qs, limit))  # warms the page cache
    svc, sqls = asyncio.run(_service_times(url, qs, limit))
    drv = _sqlite_driver_times(path, sqls)
    Path(path).unlink(missing_ok=True)
    return {"name": "customer_search (SQLite)", "seed": seed, "queries": len(qs), **_summary(qs, svc, drv)}


def _driver_times(url: str, statements: list[list], prepare_threshold: int | None = None) -> list[float]:
    """Send each search's statements (the fallback's too) straight through psycopg, one transaction each."""
    times = []
    # prepare_threshold=None plans each query with its values, as the service's statements are;
    # psycopg's default (prepare after 5 runs) may let PostgreSQL pick a generic plan.
    with psycopg.connect(url, prepare_threshold=prepare_threshold) as conn:
        for batch in statements[:5] + statements:
            t = time.perf_counter()
            with conn.transaction():
                for sql, params in batch:
                    cur = conn.execute(sql, params or None)
                    if cur.description:
                        cur.fetchall()
            times.append(time.perf_counter() - t)
    return times[5:]


def run(rows: int | None = None, queries: int | None = None) -> dict:
    """Both databases: PostgreSQL (if it answers) and SQLite, `rows` customers each (1M x BENCH_SCALE)."""
    scale = float(os.environ.get("BENCH_SCALE", "1"))
    rows = rows or max(1000, round(1_000_000 * scale))
    queries = queries or max(40, round(400 * scale))
    out = {"rows": rows}
    try:
        psycopg.connect(PG_ADMIN, connect_timeout=2).close()
    except psycopg.OperationalError:
        out["postgresql"] = "not measured: PostgreSQL does not answer at " + PG_ADMIN
    else:
        out["postgresql"] = run_postgres(rows, queries)
    out["sqlite"] = run_sqlite(rows, queries)
    return out


def run_postgres(
    rows: int = 1_000_000,
    queries: int = 400,
    limit: int = 50,
    keep: bool = os.environ.get("BENCH_KEEP_DB") == "1",
) -> dict:
    """Seed `rows` customers, then search p50/p99 (ms) via the service and via psycopg, with the ratio."""
    from backroom.db.migrate import upgrade

    name = f"backroom_bench_search_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
        with psycopg.connect(url, autocommit=True) as conn:
            branch_id = conn.execute(
                "INSERT INTO branches (code, name, timezone, currency, created_at, updated_at) "
                "VALUES ('BENCH', 'Bench', 'UTC', 'USD', now(), now()) RETURNING id"
            ).fetchone()[0]
        seed = _seed(url, rows, branch_id)
        qs = _queries(queries, rows)
        # A first pass of each warms PostgreSQL's cache, so neither side pays for cold pages.
        _, sqls = asyncio.run(_service_times(url, qs, limit))
        _driver_times(url, sqls)
        svc, sqls = asyncio.run(_service_times(url, qs, limit))
        drv = _driver_times(url, sqls)
        drv_prepared = _driver_times(url, sqls, prepare_threshold=5)
        fallbacks = sum(
            1 for batch in sqls if sum(sql.lstrip().upper().startswith("SELECT") for sql, _ in batch) > 1
        )
        result = {
            "name": "customer_search (PostgreSQL)",
            "seed": seed,
            "queries": len(qs),
            "name_fallbacks": fallbacks,
            **_summary(qs, svc, drv),
        }
        result["driver_prepared_ms"] = {"p50": _pct(drv_prepared, 0.5), "p99": _pct(drv_prepared, 0.99)}
        return result
    finally:
        if not keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    import json
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else None
    print(json.dumps(run(rows=n), indent=2))
    sys.stdout.flush()
    os._exit(0)
