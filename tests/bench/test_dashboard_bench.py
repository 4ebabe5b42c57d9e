"""The dashboard benchmark on a small seed: its hand-written KPI SQL agrees with the dashboard
(it raises otherwise), every case yields timings and ratios, the 20-branch forecast runs."""

from __future__ import annotations

import pytest

from tests.conftest import _pg_available


@pytest.mark.skipif(not _pg_available(), reason="PostgreSQL is not running here")
def test_dashboard_bench_runs_small_and_its_raw_sql_matches():
    from bench.dashboard import run

    result = run(orders=20_000, loads=2)
    for case in ("one_branch", "all_branches"):
        r = result[case]
        assert r["orders_this_month"] > 0
        assert r["build_ms"]["p50"] > 0 and r["api_ms"]["p50"] > 0 and r["raw_sql_ms"]["p50"] > 0
        assert (
            r["build_records_ms"]["p50"] > 0 and r["cards_ms"]["p50"] > 0 and r["cards_records_ms"]["p50"] > 0
        )
    assert result["rollups"]["rollup_rows"] > 0
    assert result["all_branches"]["orders_this_month"] > result["one_branch"]["orders_this_month"]
    f = result["forecast_20_branches"]
    assert f["series"] == 20 and f["with_forecast"] == 20 and f["p50_ms"] > 0
