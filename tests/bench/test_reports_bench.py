"""The reports benchmark on a small seed: its hand-written SQL agrees with the report (it raises
otherwise) and every case yields timings and ratios."""

from __future__ import annotations

import pytest

from tests.conftest import _pg_available


@pytest.mark.skipif(not _pg_available(), reason="PostgreSQL is not running here")
def test_reports_bench_runs_small_and_its_raw_sql_matches_the_report():
    from bench.reports import run

    result = run(orders=4000, runs=2)
    assert result["seed"]["rows"]["orders"] == 4000 and result["seed"]["rows"]["order_lines"] == 8000
    for case in ("monthly_one_branch", "monthly_all_branches", "daily_all_branches"):
        r = result[case]
        assert r["orders_in_period"] > 0 and r["statements"] > 3
        assert r["service_ms"]["p50"] > 0 and r["raw_sql_ms"]["p50"] > 0 and r["ratio_raw_p50"] > 0
        assert r["from_records_ms"]["p50"] > 0  # the same report with rollups off, same run
    # Every seeded day of every registered source was rolled up before the reports were timed.
    assert result["rollups"]["rollup_rows"] > 0
    assert min(result["rollups"]["days_built"].values()) == 20 * 551
    assert (
        result["monthly_all_branches"]["orders_in_period"] > result["monthly_one_branch"]["orders_in_period"]
    )
