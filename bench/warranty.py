"""10,000 open warranty workflows (warranty-{id}, each asleep until its first expiry notice):
the worker's RSS and the Temporal dev server's RSS once all are started and asleep. Baseline
of the same shape in the same run: 10,000 bare workflows that only sleep until the same
moment, on a fresh server with a fresh worker. Each side runs its own dev server (SQLite file)
and its own worker process, so both RSS figures belong to that side alone."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

N = 10_000
CONCURRENCY = 50
ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    """Resident memory of one process, from /proc (MiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _side(mode: str, n: int, tmp: Path) -> dict:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from tests.conftest import binary

    port = _free_port()
    server = subprocess.Popen(
        [binary("temporal"), "server", "start-dev", "--headless", "--port", str(port),
         "--http-port", str(_free_port()), "--metrics-port", str(_free_port()),
         "--db-filename", str(tmp / f"{mode}.db"), "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    target = f"127.0.0.1:{port}"
    worker = None
    try:
        client = None
        for _ in range(100):
            try:
                client = await Client.connect(target, data_converter=pydantic_data_converter)
                break
            except RuntimeError:
                await asyncio.sleep(0.2)
        db_url = f"sqlite+aiosqlite:///{tmp / f'{mode}-backroom.db'}"
        if mode == "warranty":
            from backroom.db.migrate import upgrade_async

            await upgrade_async(db_url)
        server_idle = rss_mb(server.pid)
        queue = f"bench-{mode}"
        worker = subprocess.Popen(
            [sys.executable, "-m", "bench._warranty_worker", target, queue, mode, db_url],
            cwd=ROOT, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert worker.stdout.readline().strip() == b"ready"
        worker_idle = rss_mb(worker.pid)
        expires = datetime.now(UTC) + timedelta(days=400)
        sem = asyncio.Semaphore(CONCURRENCY)

        async def start(i: int) -> None:
            async with sem:
                if mode == "bare":
                    await client.start_workflow("BareSleepWorkflow", 370, id=f"bare-{i}", task_queue=queue)
                else:
                    from backroom.warranty.flow import WarrantyInput

                    await client.start_workflow(
                        "WarrantyWorkflow",
                        WarrantyInput(warranty_id=i, expires_at=expires),
                        id=f"warranty-{i}",
                        task_queue=queue,
                    )

        started = time.perf_counter()
        await asyncio.gather(*(start(i) for i in range(1, n + 1)))
        start_s = time.perf_counter() - started
        # Asleep: every workflow's first task done (a timer started). Check a spread sample.
        sample = [f"{'bare' if mode == 'bare' else 'warranty'}-{i}" for i in range(1, n + 1, max(1, n // 50))]
        sample.append(sample[0].rsplit("-", 1)[0] + f"-{n}")
        for wid in sample:
            for _ in range(600):
                events = [e async for e in client.get_workflow_handle(wid).fetch_history_events()]
                if any(e.HasField("timer_started_event_attributes") for e in events):
                    break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"{wid} never went to sleep")
        settled_s = time.perf_counter() - started
        await asyncio.sleep(5)  # let both processes settle (GC, server caches)
        return {
            "start_s": round(start_s, 1),
            "starts_per_s": round(n / start_s),
            "asleep_after_s": round(settled_s, 1),
            "worker_rss_idle_mb": round(worker_idle, 1),
            "worker_rss_mb": round(rss_mb(worker.pid), 1),
            "server_rss_idle_mb": round(server_idle, 1),
            "server_rss_mb": round(rss_mb(server.pid), 1),
        }
    finally:
        if worker is not None:
            worker.kill()
            worker.wait()
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


async def _measure(n: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-warranty-"))
    warranty = await _side("warranty", n, tmp)
    bare = await _side("bare", n, tmp)
    out = {
        "summary": (
            f"{n:,} open warranty workflows: worker {warranty['worker_rss_mb']:.0f} MiB "
            f"(bare sleepers {bare['worker_rss_mb']:.0f}), dev server {warranty['server_rss_mb']:.0f} MiB "
            f"(bare {bare['server_rss_mb']:.0f})"
        ),
        "workflows": n,
        "worker cache (max_cached_workflows)": 1000,
    }
    for side, figures in (("warranty", warranty), ("baseline bare sleep", bare)):
        for k, v in figures.items():
            out[f"{side} {k}"] = v
    out["ratio worker rss"] = round(warranty["worker_rss_mb"] / bare["worker_rss_mb"], 2)
    out["ratio server rss"] = round(warranty["server_rss_mb"] / bare["server_rss_mb"], 2)
    out["server rss per workflow (KiB, over idle)"] = round(
        (warranty["server_rss_mb"] - warranty["server_rss_idle_mb"]) * 1024 / n, 1
    )
    return out


def run(n: int = N) -> dict:
    return asyncio.run(_measure(n))


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N
    for key, value in run(n).items():
        print(f"{key:>44}: {value}")
    sys.stdout.flush()
    os._exit(0)
