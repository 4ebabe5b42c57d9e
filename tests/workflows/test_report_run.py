"""ReportRunWorkflow on the time-skipping server, its activities run twice, and the Temporal
Schedules created idempotently on a real dev server."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from temporalio.client import ScheduleOverlapPolicy
from temporalio.testing import ActivityEnvironment

from activities.reports import ReportActivities
from backroom.reports import catalog, schedules
from backroom.reports.flow import ReportRunInput, SnapshotAsk
from backroom.reports.models import ReportSnapshot
from backroom.reports.periods import Edition
from tests.helpers import create_branch, create_customer, running_worker, uniq
from workflows.reports import ReportRunWorkflow

DAY = date(2026, 2, 17)
HISTORIES = Path(__file__).parent / "histories"


async def _branch(db, tz="America/New_York"):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s, timezone=tz)
        await create_customer(s, branch=b, created_at=datetime(2026, 2, 17, 15, tzinfo=UTC))
    return b


async def test_make_snapshot_activity_run_twice_stores_one_snapshot(sqlite_db, settings):
    b = await _branch(sqlite_db)
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=uniq("report-run-"))
    acts = ReportActivities(sqlite_db.sessionmaker, settings)
    ask = SnapshotAsk(
        function="customers", edition=Edition.DAILY, label=DAY.isoformat(), branch_id=b.id, force=True
    )
    first = await env.run(acts.make_snapshot, ask)
    second = await env.run(acts.make_snapshot, ask)
    assert first.created and not second.created and first.snapshot_id == second.snapshot_id
    async with sqlite_db.read_sessionmaker() as s:
        rows = (
            (await s.execute(select(ReportSnapshot.id).where(ReportSnapshot.branch_id == b.id)))
            .scalars()
            .all()
        )
    assert rows == [first.snapshot_id]


async def test_an_unknown_function_is_a_domain_refusal(sqlite_db, settings):
    """A NotFound (an AppError): the worker's error rule makes it a non-retryable failure
    (worker/errors.py, proven on a real worker in tests/activities/test_error_rule.py)."""
    from backroom.errors import NotFound
    from backroom.reports.flow import RunPlanAsk

    acts = ReportActivities(sqlite_db.sessionmaker, settings)
    ask = RunPlanAsk(edition=Edition.DAILY, at=datetime(2026, 3, 1, tzinfo=UTC), functions=["nonsense"])
    with pytest.raises(NotFound, match="no report set"):
        await ActivityEnvironment().run(acts.plan_run, ask)


async def test_report_run_workflow_makes_the_period_s_snapshots(ts_env, sqlite_db, settings, task_queue):
    ny = await _branch(sqlite_db)
    tokyo = await _branch(sqlite_db, tz="Asia/Tokyo")
    async with running_worker(ts_env, settings, sqlite_db, task_queue):
        handle = await ts_env.client.start_workflow(
            ReportRunWorkflow.run,
            ReportRunInput(
                edition=Edition.WEEKLY,
                label="2026-W08",
                functions=["customers", "orders"],
                branch_ids=[ny.id, tokyo.id],
                force=True,
                trigger="backfill",
            ),
            id=uniq("report-run-weekly-2026-W08-"),
            task_queue=task_queue,
        )
        result = await handle.result()
        if os.environ.get("BACKROOM_SAVE_HISTORIES") == "1":  # refresh the replay fixture on purpose only
            (HISTORIES / "report_run_backfill.json").write_text((await handle.fetch_history()).to_json())
    made = {(s.function, s.branch_id) for s in result.snapshots}
    assert made == {(f, b) for f in ("customers", "orders") for b in (ny.id, tokyo.id)}
    async with sqlite_db.read_sessionmaker() as s:
        rows = (
            (
                await s.execute(
                    select(ReportSnapshot).where(
                        ReportSnapshot.id.in_([x.snapshot_id for x in result.snapshots])
                    )
                )
            )
            .scalars()
            .all()
        )
    assert {r.period_label for r in rows} == {"2026-W08"} and {r.trigger for r in rows} == {"backfill"}
    by_scope = {(r.function, r.branch_id): r for r in rows}
    assert by_scope[("customers", ny.id)].has_data is True  # the customer created on the 17th
    # Each branch's own local week, in UTC: Tokyo's starts 14 hours before New York's.
    assert by_scope[("customers", tokyo.id)].starts_at == datetime(2026, 2, 15, 15, tzinfo=UTC)
    assert by_scope[("customers", ny.id)].starts_at == datetime(2026, 2, 16, 5, tzinfo=UTC)


async def test_report_run_replays_its_saved_history():
    """A change to ReportRunWorkflow that would break runs in flight fails here first."""
    from temporalio.client import WorkflowHistory
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Replayer

    history = WorkflowHistory.from_json(
        "report-run-replay", (HISTORIES / "report_run_backfill.json").read_text()
    )
    replayer = Replayer(workflows=[ReportRunWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


@pytest.mark.parametrize("fresh_db", ["sqlite"], indirect=True)
async def test_a_scheduled_tick_makes_what_ended_and_a_second_tick_nothing(
    ts_env, fresh_db, settings, task_queue
):
    db = fresh_db
    b = await _branch(db, tz="Europe/London")
    tick = ReportRunInput(
        edition=Edition.DAILY, at=datetime(2026, 2, 18, 0, 10, tzinfo=UTC), functions=["customers"]
    )
    async with running_worker(ts_env, settings, db, task_queue):
        first = await ts_env.client.execute_workflow(
            ReportRunWorkflow.run, tick, id=uniq("report-daily-"), task_queue=task_queue
        )
        second = await ts_env.client.execute_workflow(
            ReportRunWorkflow.run, tick, id=uniq("report-daily-"), task_queue=task_queue
        )
    assert {(s.branch_id, s.label) for s in first.snapshots} == {(b.id, "2026-02-17"), (None, "2026-02-17")}
    assert second.snapshots == []


async def test_schedules_are_created_once_and_updated_in_place(dev_env, settings):
    settings.workflow_prefix = uniq("t") + "-"
    client = dev_env.client
    ids = await schedules.ensure_schedules(client, settings)
    assert ids == [f"{settings.workflow_prefix}report-{e}" for e in ("daily", "weekly", "monthly")]
    weekly = client.get_schedule_handle(ids[1])
    await weekly.pause(note="paused by ops")
    again = await schedules.ensure_schedules(client, settings)  # a worker restart
    assert again == ids
    listed = [s.id async for s in await client.list_schedules()]
    assert sorted(i for i in listed if i.startswith(settings.workflow_prefix)) == sorted(ids)
    desc = await weekly.describe()
    assert desc.schedule.state.paused is True  # the restart kept the pause set in the UI
    assert desc.schedule.policy.overlap is ScheduleOverlapPolicy.BUFFER_ALL
    assert desc.schedule.policy.catchup_window == timedelta(days=14)
    cal = desc.schedule.spec.calendars[0]
    assert [(r.start, r.end) for r in cal.day_of_week] == [(0, 1)] and cal.minute[0].start == schedules.MINUTE
    daily = await client.get_schedule_handle(ids[0]).describe()
    assert daily.schedule.action.workflow == "ReportRunWorkflow"
    assert daily.schedule.action.task_queue == settings.task_queue
    upcoming = daily.info.next_action_times
    assert upcoming and all(t.minute == schedules.MINUTE for t in upcoming)
    assert upcoming[1] - upcoming[0] == timedelta(hours=1)
    for sid in ids:
        await client.get_schedule_handle(sid).delete()


@pytest.mark.parametrize("fresh_db", ["sqlite"], indirect=True)
async def test_a_schedule_action_makes_the_day_that_ended_before_its_scheduled_time(
    dev_env, fresh_db, settings, task_queue
):
    """Catch-up and backfill of the Schedule itself: an action for a past tick runs now but is
    stamped with its scheduled time, and the run makes the day that had ended by then."""
    from temporalio.client import ScheduleBackfill

    from tests.helpers import eventually

    db = fresh_db
    b = await _branch(db, tz="Europe/London")
    settings.workflow_prefix, settings.task_queue = uniq("t") + "-", task_queue
    ids = await schedules.ensure_schedules(dev_env.client, settings)
    try:
        async with running_worker(dev_env, settings, db, task_queue):
            await dev_env.client.get_schedule_handle(ids[0]).backfill(
                ScheduleBackfill(
                    start_at=datetime(2026, 2, 18, 0, 0, tzinfo=UTC),
                    end_at=datetime(2026, 2, 18, 0, 30, tzinfo=UTC),
                    overlap=ScheduleOverlapPolicy.ALLOW_ALL,
                )
            )

            # The schedule's own hourly tick may also come while the test runs (CI met it: the
            # count was reached with its rows for yesterday), so only the backfilled day counts.
            async def stored():
                async with db.read_sessionmaker() as s:
                    rows = (
                        (
                            await s.execute(
                                select(ReportSnapshot).where(ReportSnapshot.period_label == "2026-02-17")
                            )
                        )
                        .scalars()
                        .all()
                    )
                return rows if len(rows) >= 2 * len(catalog.functions()) else None

            rows = await eventually(stored, timeout=60)
            async with db.read_sessionmaker() as s:
                others = (
                    (
                        await s.execute(
                            select(ReportSnapshot).where(ReportSnapshot.period_label != "2026-02-17")
                        )
                    )
                    .scalars()
                    .all()
                )
    finally:
        for sid in ids:
            await dev_env.client.get_schedule_handle(sid).delete()
    # Every report set for the branch and for all branches, for the day that had just ended, once.
    assert sorted((r.function, r.branch_id or 0) for r in rows) == sorted(
        (f, s or 0) for f in catalog.functions() for s in (b.id, None)
    )
    # Anything else is a live tick's, for the day that ended before now.
    assert {r.period_label for r in others} <= {
        (datetime.now(UTC).astimezone(ZoneInfo("Europe/London")).date() - timedelta(days=d)).isoformat()
        for d in (1, 2)
    }
    assert next(r for r in rows if (r.function, r.branch_id) == ("customers", b.id)).has_data
    assert all(r.workflow_id.startswith(f"{settings.workflow_prefix}report-daily-") for r in rows)


@pytest.mark.parametrize("fresh_db", ["sqlite"], indirect=True)
async def test_new_schedules_run_once_at_once_for_the_last_ended_periods(
    dev_env, fresh_db, settings, task_queue, monkeypatch
):
    from backroom.reports import periods
    from tests.helpers import eventually

    # Two functions stand for all: what is tested is which periods run, not every report's
    # rendering (test_smoke_all builds every report); all of them took ~100 renders.
    keep = dict(list(catalog.functions().items())[:2])
    monkeypatch.setattr(catalog, "_REGISTRY", keep)
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s, timezone="UTC")
    settings.workflow_prefix, settings.task_queue = uniq("t") + "-", task_queue

    def last_ended():
        today = datetime.now(UTC).date()
        return {e.value: periods.previous(periods.period_for(e, today)).label for e in Edition}

    before = last_ended()
    ids = await schedules.ensure_schedules(dev_env.client, settings, run_new=True)
    try:
        async with running_worker(dev_env, settings, db, task_queue):

            async def stored():
                async with db.read_sessionmaker() as s:
                    rows = (await s.execute(select(ReportSnapshot))).scalars().all()
                made = {(r.edition, r.function, r.branch_id) for r in rows}
                return rows if len(made) == 3 * 2 * len(catalog.functions()) else None

            # One snapshot per function, edition and scope (PDF and XLSX each); counted as
            # distinct sets, since a live hourly tick may make a daily set a second time. A
            # bound on waiting, not a speed check.
            rows = await eventually(stored, timeout=600, interval=1.0)
    finally:
        for sid in ids:
            await dev_env.client.get_schedule_handle(sid).delete()
    after = last_ended()
    for edition in Edition:
        mine = {r.period_label for r in rows if r.edition == edition.value and r.branch_id == b.id}
        assert len(mine) == 1 and mine <= {before[edition.value], after[edition.value]}


async def test_one_report_that_cannot_be_made_does_not_cost_the_others(
    ts_env, sqlite_db, settings, task_queue
):
    from temporalio.client import WorkflowFailureError

    from backroom.customers.models import Customer
    from backroom.errors import InvalidInput
    from backroom.reports.catalog import _REGISTRY, FunctionReport, Measure, Source, Unit, register

    def refuse(at):
        raise InvalidInput("This report cannot be built.")

    broken = Source(
        key="zz_broken",
        record="customer",
        table=Customer.__table__,
        id=Customer.id,
        at=Customer.created_at,
        branch=Customer.home_branch_id,
        as_of=refuse,
    )
    register(
        FunctionReport(key="zz_broken", label="Broken", measures=[Measure("n", "N", Unit.COUNT, broken)])
    )
    b = await _branch(sqlite_db)
    try:
        async with running_worker(ts_env, settings, sqlite_db, task_queue):
            with pytest.raises(WorkflowFailureError) as err:
                await ts_env.client.execute_workflow(
                    ReportRunWorkflow.run,
                    ReportRunInput(
                        edition=Edition.DAILY,
                        label=DAY.isoformat(),
                        functions=["zz_broken", "customers"],
                        branch_ids=[b.id],
                        force=True,
                    ),
                    id=uniq("report-run-daily-"),
                    task_queue=task_queue,
                )
    finally:
        _REGISTRY.pop("zz_broken", None)
    assert "1 of 2 snapshots failed" in str(err.value.cause) and "zz_broken" in str(err.value.cause)
    async with sqlite_db.read_sessionmaker() as s:
        made = (
            await s.execute(select(ReportSnapshot.function).where(ReportSnapshot.branch_id == b.id))
        ).scalars()
        assert list(made) == ["customers"]
