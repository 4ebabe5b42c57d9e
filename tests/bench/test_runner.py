"""The benchmark runner records one section per machine and day, replacing it on re-runs."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.__main__ import available, machine, record


def test_record_appends_then_replaces_todays_section(tmp_path):
    doc = tmp_path / "benchmarks.md"
    info = machine()
    assert info["cores"] != "None" and info["uname"]
    day1 = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)
    record({"demo": {"summary": "fast", "ops/s": 1234.5}}, info, day1, doc)
    record({"demo": {"summary": "faster", "ops/s": 2000.0}}, info, day1.replace(hour=11), doc)
    text = doc.read_text()
    assert text.count("### demo") == 1 and "faster" in text and "| ops/s | 2,000 |" in text
    record({"demo": {"ops/s": 5.0}}, info, datetime(2026, 1, 3, tzinfo=UTC), doc)
    assert doc.read_text().count("### demo") == 2 and doc.read_text().startswith("# Benchmarks")


def test_every_benchmark_module_has_a_run_function():
    import importlib

    names = available()
    assert "casbin_checks" in names
    assert all(callable(importlib.import_module(f"bench.{n}").run) for n in names)
