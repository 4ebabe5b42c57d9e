"""Expiry design benchmark: a Temporal timer per award vs one nightly batch over the ledger.

A. Per-award timers: start N workflows on a local Temporal dev server, each sleeping until
   its award's expiry (a year); measure the start rate, the history events each open run holds
   and the server's resident memory growth per open run (what 1M awards would keep open).
B. Nightly batch: N awards (N/5 members x 5) past their date in a fresh PostgreSQL database;
   time `loyalty.service.expire_batch` (the nightly workflow's activity) over all of them.

`run() -> dict`; `python -m bench.loyalty_expiry [n]`."""

from __future__ import annotations

import asyncio
import os
import sys
import sysconfig
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from temporalio import workflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.customer_search import PG_ADMIN


@workflow.defn(name="BenchPerAwardExpiry")
class PerAwardExpiry:
    """What a timer-per-award design runs for every award: sleep until expiry (then expire)."""

    @workflow.run
    async def run(self, seconds: float) -> None:
        await workflow.sleep(seconds)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _dev_servers() -> set[int]:
    """Pids of running `temporal server start-dev` processes."""
    found = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if b"start-dev" in (d / "cmdline").read_bytes():
                    found.add(int(d.name))
            except OSError:
                continue
    return found


async def _timers(n: int) -> dict:
    before = _dev_servers()
    binary = str(Path(sysconfig.get_path("scripts")) / "temporal")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary, data_converter=pydantic_data_converter
    )
    try:
        ours = sorted(_dev_servers() - before)
        pid = ours[0] if ours else None
        queue = f"bench-{uuid.uuid4().hex[:6]}"
        async with Worker(env.client, task_queue=queue, workflows=[PerAwardExpiry], max_cached_workflows=100):
            await asyncio.sleep(1)
            rss0 = _rss_kb(pid) if pid else 0
            t = time.perf_counter()
            sem = asyncio.Semaphore(50)

            async def start(i: int):
                async with sem:
                    return await env.client.start_workflow(
                        PerAwardExpiry.run, 365 * 86400.0, id=f"award-{queue}-{i}", task_queue=queue
                    )

            handles = await asyncio.gather(*(start(i) for i in range(n)))
            start_s = time.perf_counter() - t
            await asyncio.sleep(3)  # let the first tasks (timer started) complete
            events = len((await handles[0].fetch_history()).events)
            rss1 = _rss_kb(pid) if pid else 0
        return {
            "awards": n,
            "start_s": round(start_s, 2),
            "starts_per_s": int(n / start_s),
            "history_events_per_open_award": events,
            "server_rss_growth_kb_per_award": round((rss1 - rss0) / n, 2) if pid else None,
        }
    finally:
        await env.shutdown()


def _batch(n: int) -> dict:
    from backroom.db.migrate import upgrade

    name = f"backroom_bench_expiry_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
        members = n // 5
        with psycopg.connect(url, autocommit=True) as conn:
            b = conn.execute(
                "INSERT INTO branches (code, name, timezone, currency, created_at, updated_at) "
                "VALUES ('B', 'B', 'UTC', 'USD', now(), now()) RETURNING id"
            ).fetchone()[0]
            p = conn.execute(
                "INSERT INTO loyalty_programs (name, currency, status, points_per_unit, earn_on, return_window_days,"
                " channels, excluded_categories, expiry_days, welcome_points, point_value_minor, min_redeem_points,"
                " max_redeem_percent, adjust_approval_points, created_at, updated_at) VALUES ('P', 'USD', 'active',"
                " 1, 'delivered', 14, 'both', '', 365, 0, 1, 100, 50, 1000, now(), now()) RETURNING id"
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO customers (kind, name, home_branch_id, credit_limit_minor, currency, tags, consent_email,"
                " consent_sms, status, created_at, updated_at) SELECT 'person', 'C' || g, %s, 0, 'USD', '[]', false,"
                " false, 'active', now(), now() FROM generate_series(1, %s) g",
                (b, members),
            )
            conn.execute(
                "INSERT INTO loyalty_members (program_id, customer_id, enrolled_by, debt_points, created_at,"
                " updated_at) SELECT %s, id, 'rule', 0, now(), now() FROM customers",
                (p,),
            )
            conn.execute(
                "INSERT INTO loyalty_entries (member_id, kind, points, expires_at, spend_minor, key, at)"
                " SELECT m.id, 'earn', 100, now() - interval '1 day', 0, 'e' || m.id || '-' || k, now() - interval"
                " '400 days' FROM loyalty_members m CROSS JOIN generate_series(1, 5) k"
            )
            conn.execute("VACUUM ANALYZE loyalty_entries")

        async def go() -> tuple[int, int, float]:
            from backroom.audit.context import Actor
            from backroom.db.session import make_engine, make_sessionmaker
            from backroom.loyalty import service

            engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://"))
            maker = make_sessionmaker(engine)
            now = datetime.now(UTC) + timedelta(minutes=1)
            after, total, batches = 0, 0, 0
            t = time.perf_counter()
            while True:
                async with maker.begin() as s:
                    last, pts = await service.expire_batch(
                        s, actor=Actor.system("bench"), now=now, after_id=after
                    )
                if last is None:
                    break
                after, total, batches = last, total + pts, batches + 1
            secs = time.perf_counter() - t
            await engine.dispose()
            return total, batches, secs

        total, batches, secs = asyncio.run(go())
        assert total == n * 100, (total, n)
        return {
            "awards": n,
            "members": members,
            "seconds": round(secs, 1),
            "awards_per_s": int(n / secs),
            "activities": batches,
            "workflow_history_events": 3 * batches + 5,
        }
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(n: int = 2000) -> dict:
    return {
        "name": "loyalty_expiry",
        "per_award_timers": asyncio.run(_timers(n)),
        "nightly_batch": _batch(n * 10),
    }


if __name__ == "__main__":
    import json

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(json.dumps(run(n), indent=2))
    sys.stdout.flush()
    os._exit(0)
