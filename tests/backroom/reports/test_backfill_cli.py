"""`backroom reports backfill`: one queued, audited run per period, refusals in words."""

from __future__ import annotations

import json

from backroom import cli
from tests.backroom.test_cli import embedded, rows  # noqa: F401  (fixture)


def test_backfill_queues_one_run_per_period_including_iso_week_53(embedded, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")  # unreachable: the worker starts them later
    assert cli.main(["migrate"]) == 0
    args = ["reports", "backfill", "--from", "2020-12-27", "--to", "2021-01-03", "--function", "customers"]
    assert cli.main([*args, "--edition", "weekly", "--edition", "monthly"]) == 0
    out = capsys.readouterr().out
    assert "queued 4 report run(s)" in out
    started = rows(embedded, "SELECT workflow_id, status, args FROM workflow_starts ORDER BY id")
    assert [r[0] for r in started] == [
        "report-run-weekly-2020-W52-1",
        "report-run-weekly-2020-W53-1",
        "report-run-monthly-2020-12-1",
        "report-run-monthly-2021-01-1",
    ]
    assert {r[1] for r in started} == {"pending"}
    assert json.loads(started[1][2])["label"] == "2020-W53"
    (audited,) = rows(embedded, "SELECT actor_id, after FROM audit_events WHERE action = 'reports.backfill'")
    assert audited[0] == "cli" and len(json.loads(audited[1])["workflows"]) == 4

    assert cli.main(["reports", "backfill", "--from", "2021-01-05", "--to", "2021-01-01"]) == 1
    assert "after the end" in capsys.readouterr().err
    assert cli.main([*args, "--edition", "weekly"]) == 0  # a second backfill of the same weeks
    assert "report-run-weekly-2020-W53-2" in capsys.readouterr().out
