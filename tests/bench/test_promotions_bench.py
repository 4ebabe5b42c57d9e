"""The coupons benchmark at a tiny size: both modes run, every coded order is discounted, the
worker's RSS is sampled and a cart's reminder timer is armed."""

from __future__ import annotations

import pytest

from tests.conftest import _pg_available


@pytest.mark.skipif(not _pg_available(), reason="PostgreSQL is not running here")
def test_promotions_bench_runs_small():
    from bench.promotions import run

    r = run(clients=4, checkouts=16, open_carts=40)
    assert r["hot_promotion_uses"] == 16 + 4  # the coded half plus the warm-up
    assert r["with_code_orders_per_s"] > 0 and r["no_code_p99_ms"] > 0 and r["ratio_p99_code_vs_plain"] > 0
    assert r["timers_armed (probe)"] is True
    assert r["idle_worker_rss_mb"] > 20 and r["rss_mb_40_carts_settled"] > 20
