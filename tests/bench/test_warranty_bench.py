"""bench/warranty.py on a small count: both sides start their workflows, see them asleep, and
report each process's memory (the real run uses 10,000 under the suite lock)."""

from __future__ import annotations

import asyncio

from bench import warranty


async def test_small_run_reports_both_sides():
    out = await asyncio.wait_for(warranty._measure(20), timeout=240)
    assert out["workflows"] == 20
    for side in ("warranty", "baseline bare sleep"):
        assert out[f"{side} starts_per_s"] > 0
        assert out[f"{side} worker_rss_mb"] >= out[f"{side} worker_rss_idle_mb"] * 0.5 > 0
        assert out[f"{side} server_rss_mb"] > 0
    assert out["ratio worker rss"] > 0 and "open warranty workflows" in out["summary"]
