"""The customer search benchmark measures SQLite too: a small seed, every kind of query timed
through the service and straight through sqlite3 (the statements the service sent)."""

from __future__ import annotations

from bench.customer_search import run_sqlite


def test_sqlite_side_times_every_kind_of_search():
    out = run_sqlite(2000, 40)
    assert out["seed"]["rows"] == 2000 and out["queries"] == 40
    assert set(out["by_kind_ms"]) == {"email", "phone", "name"}
    assert out["service_ms"]["p50"] > 0 and out["driver_ms"]["p50"] > 0 and out["ratio_p50"] > 0
