"""Report snapshots: immutable rows, a new version per re-run, idempotent per run key, the
periods a scheduled run and a backfill make (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from backroom.audit.models import AuditEvent
from backroom.reports import snapshots
from backroom.reports.flow import RunPlanAsk, SnapshotAsk
from backroom.reports.models import ReportSnapshot, ReportSnapshotFile
from backroom.reports.periods import Edition
from backroom.reports.service import build_report
from backroom.starts.models import WorkflowStart
from tests.helpers import TEST_ACTOR, create_branch, create_customer, create_user, uniq

DAY = date(2026, 3, 10)  # a Tuesday in ISO week 11


async def _branch_with_customer(db, tz="Europe/Berlin", day=DAY):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s, timezone=tz)
        # Noon local time on `day`: inside the branch's day whatever the zone.
        await create_customer(s, branch=b, created_at=datetime(day.year, day.month, day.day, 11, tzinfo=UTC))
    return b


def _ask(branch_id, *, label=DAY.isoformat(), edition=Edition.DAILY, force=True, function="customers"):
    return SnapshotAsk(function=function, edition=edition, label=label, branch_id=branch_id, force=force)


def _stable(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "generated_at"}


@pytest.mark.parametrize("table", ["report_snapshots", "report_snapshot_files"])
@pytest.mark.parametrize(
    "verb", ["UPDATE {t} SET version = version WHERE id = :id", "DELETE FROM {t} WHERE id = :id"]
)
async def test_snapshots_and_their_files_refuse_update_and_delete(db, settings, table, verb):
    b = await _branch_with_customer(db)
    done = await snapshots.produce(db.sessionmaker, _ask(b.id), workflow_id=uniq("wf-"), settings=settings)
    async with db.read_sessionmaker() as s:
        row_id = done.snapshot_id
        if table == "report_snapshot_files":
            row_id = await s.scalar(
                select(ReportSnapshotFile.id).where(ReportSnapshotFile.snapshot_id == row_id)
            )
    statement = verb.format(t=table).replace(
        "version = version", "size = 0" if "files" in table else "version = 99"
    )
    with pytest.raises(DBAPIError, match="immutable"):
        async with db.sessionmaker.begin() as s:
            await s.execute(text(statement), {"id": row_id})
    async with db.read_sessionmaker() as s:
        snap = await s.get(ReportSnapshot, done.snapshot_id)
        assert snap is not None and snap.version == 1


async def test_a_rerun_adds_a_version_keeps_the_old_and_audits_both(db, settings):
    b = await _branch_with_customer(db)
    first = await snapshots.produce(db.sessionmaker, _ask(b.id), workflow_id=uniq("wf-"), settings=settings)
    second = await snapshots.produce(db.sessionmaker, _ask(b.id), workflow_id=uniq("wf-"), settings=settings)
    assert (first.version, second.version) == (1, 2) and first.created and second.created
    async with db.read_sessionmaker() as s:
        kept = await snapshots.versions(
            s, function="customers", edition="daily", label=DAY.isoformat(), branch_id=b.id
        )
        assert [v.version for v in kept] == [2, 1]
        # Exactly the report of that period, with its files.
        live = await build_report(s, function="customers", edition="daily", day=DAY, branch_ids=[b.id])
        assert _stable(kept[0].body) == _stable(live.model_dump(mode="json"))
        assert kept[0].has_data is True and kept[0].body_sha256 == snapshots.body_hash(kept[0].body)
        formats = (
            await s.execute(
                select(ReportSnapshotFile.format).where(ReportSnapshotFile.snapshot_id == kept[0].id)
            )
        ).scalars()
        assert sorted(formats) == ["csv", "pdf", "xlsx"]
        events = (
            await s.execute(
                select(AuditEvent.entity_id).where(
                    AuditEvent.action == "report_snapshot.created",
                    AuditEvent.entity_id.in_([str(first.snapshot_id), str(second.snapshot_id)]),
                )
            )
        ).scalars()
        assert sorted(events) == sorted([str(first.snapshot_id), str(second.snapshot_id)])


async def test_a_retried_attempt_of_the_same_run_returns_its_snapshot(db, settings):
    b = await _branch_with_customer(db)
    wid = uniq("wf-")
    one = await snapshots.produce(db.sessionmaker, _ask(b.id), workflow_id=wid, settings=settings)
    again = await snapshots.produce(db.sessionmaker, _ask(b.id), workflow_id=wid, settings=settings)
    assert again.snapshot_id == one.snapshot_id and again.created is False
    async with db.read_sessionmaker() as s:
        n = await s.scalar(
            select(func.count()).select_from(ReportSnapshot).where(ReportSnapshot.branch_id == b.id)
        )
        assert n == 1


async def test_without_force_an_existing_snapshot_is_not_repeated(db, settings):
    b = await _branch_with_customer(db)
    made = await snapshots.produce(
        db.sessionmaker, _ask(b.id, force=False), workflow_id=uniq("wf-"), settings=settings
    )
    other_run = await snapshots.produce(
        db.sessionmaker, _ask(b.id, force=False), workflow_id=uniq("wf-"), settings=settings
    )
    assert other_run.snapshot_id == made.snapshot_id and not other_run.created


@pytest.mark.parametrize("fresh_db", ["sqlite"], indirect=True)
async def test_a_scheduled_tick_plans_each_branch_s_last_ended_period_then_nothing_more(fresh_db, settings):
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        auckland = await create_branch(s, timezone="Pacific/Auckland")  # UTC+13 in March
        la = await create_branch(s, timezone="America/Los_Angeles")  # UTC-7 in March
    # 2026-03-10 12:10 UTC: Wednesday 01:10 in Auckland, Tuesday 05:10 in Los Angeles.
    at = datetime(2026, 3, 10, 12, 10, tzinfo=UTC)
    ask = RunPlanAsk(edition=Edition.DAILY, at=at, functions=["customers"])
    async with db.read_sessionmaker() as s:
        plan = await snapshots.plan_run(s, ask)
    got = {(p.branch_id, p.label) for p in plan}
    # The all-branches report waits for the day to end everywhere: the 9th.
    assert got == {(auckland.id, "2026-03-10"), (la.id, "2026-03-09"), (None, "2026-03-09")}
    for item in plan:
        await snapshots.produce(db.sessionmaker, item, workflow_id="tick-1", settings=settings)
    async with db.read_sessionmaker() as s:
        assert await snapshots.plan_run(s, ask) == []  # a second tick in the same hour: nothing left
        weekly = await snapshots.plan_run(
            s, RunPlanAsk(edition=Edition.WEEKLY, at=at, functions=["customers"])
        )
    # Tuesday of week 11 everywhere: week 10 is the last one over.
    assert {(p.branch_id, p.label) for p in weekly} == {
        (auckland.id, "2026-W10"),
        (la.id, "2026-W10"),
        (None, "2026-W10"),
    }


@pytest.mark.parametrize(
    ("start", "end", "edition", "labels"),
    [
        (date(2026, 12, 28), date(2027, 1, 3), Edition.WEEKLY, ["2026-W53"]),
        (date(2020, 12, 31), date(2021, 1, 4), Edition.WEEKLY, ["2020-W53", "2021-W01"]),
        (date(2028, 2, 1), date(2028, 3, 1), Edition.MONTHLY, ["2028-02", "2028-03"]),
        (
            date(2026, 12, 30),
            date(2027, 1, 2),
            Edition.DAILY,
            ["2026-12-30", "2026-12-31", "2027-01-01", "2027-01-02"],
        ),
    ],
)
def test_backfill_periods_touch_the_range_including_iso_week_53(start, end, edition, labels):
    got = snapshots.backfill_periods(start, end, edition, today=date(2029, 1, 1))
    assert [p.label for p in got] == labels
    if edition is Edition.MONTHLY:
        assert (got[0].end_local - got[0].start_local).days == 29  # a leap February


def test_backfill_leaves_out_periods_that_are_not_over():
    got = snapshots.backfill_periods(
        date(2026, 11, 1), date(2026, 11, 30), Edition.MONTHLY, today=date(2026, 11, 30)
    )
    assert got == []
    days = snapshots.backfill_periods(
        date(2026, 11, 27), date(2026, 11, 30), Edition.DAILY, today=date(2026, 11, 30)
    )
    assert [p.label for p in days] == ["2026-11-27", "2026-11-28", "2026-11-29"]


async def test_a_backfill_queues_one_numbered_workflow_per_period_and_is_audited(db):
    async with db.sessionmaker.begin() as s:
        user = await create_user(s, grants=[("admin", None)])
    prefix = uniq("t") + "-"
    actor = TEST_ACTOR.__class__.user(user.id, "Admin")

    async def backfill():
        async with db.sessionmaker.begin() as s:
            return await snapshots.request_backfill(
                s,
                actor=actor,
                date_from=date(2026, 12, 27),
                date_to=date(2027, 1, 5),
                editions=[Edition.WEEKLY, Edition.MONTHLY],
                functions=["customers"],
                task_queue="q",
                prefix=prefix,
                today=date(2027, 2, 1),
            )

    first = await backfill()
    assert [r.workflow_id for r in first] == [
        f"{prefix}report-run-weekly-2026-W52-1",
        f"{prefix}report-run-weekly-2026-W53-1",
        f"{prefix}report-run-weekly-2027-W01-1",
        f"{prefix}report-run-monthly-2026-12-1",
        f"{prefix}report-run-monthly-2027-01-1",
    ]
    second = await backfill()
    assert second[0].workflow_id == f"{prefix}report-run-weekly-2026-W52-2"
    async with db.read_sessionmaker() as s:
        row = await s.scalar(select(WorkflowStart).where(WorkflowStart.workflow_id == second[1].workflow_id))
        assert row.workflow_type == "ReportRunWorkflow" and row.status == "pending"
        assert row.args["label"] == "2026-W53" and row.args["force"] is True
        assert row.args["functions"] == ["customers"] and row.args["requested_by_id"] == user.id
        audited = await s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "reports.backfill", AuditEvent.actor_id == str(user.id)
            )
        )
        assert audited is not None and len(audited.after["workflows"]) == 5


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"date_from": date(2026, 3, 5), "date_to": date(2026, 3, 1)}, "after the end"),
        ({"date_from": date(2027, 3, 1), "date_to": date(2027, 3, 2)}, "before today"),
        ({"functions": ["nonsense"]}, "no report set"),
    ],
)
async def test_a_bad_backfill_is_refused_in_words_and_queues_nothing(db, kw, message):
    from backroom.errors import AppError

    prefix = uniq("t") + "-"
    args = {"date_from": date(2026, 3, 1), "date_to": date(2026, 3, 2), **kw}
    with pytest.raises(AppError, match=message):
        async with db.sessionmaker.begin() as s:
            await snapshots.request_backfill(
                s, actor=TEST_ACTOR, task_queue="q", prefix=prefix, today=date(2027, 1, 1), **args
            )
    async with db.read_sessionmaker() as s:
        n = await s.scalar(
            select(func.count())
            .select_from(WorkflowStart)
            .where(WorkflowStart.workflow_id.like(f"{prefix}%"))
        )
        assert n == 0


async def test_a_snapshot_names_no_customer(db, settings):
    """Snapshots are kept for good (no update, no delete), so what they store names no customer:
    erasing one must leave nothing behind. The live report names them; the stored one says
    "a customer"."""
    from tests.helpers import make_shop, place, set_order_status

    async with db.sessionmaker.begin() as s:
        a, _b, (p,) = await make_shop(s, stock=((2, 0),))
    secret = uniq("Zelda Secret ")
    order = await place(db, a, [(p.id, 1)], ship_name=secret)
    await set_order_status(db, order, "payment_failed")
    async with db.read_sessionmaker() as s:
        live = await build_report(s, function="orders", edition="daily", day=None, branch_ids=[a.id])
    failed = [e.description for e in live.exceptions if e.kind == "order_payment_failed"]
    assert failed == [f"Order #{order.id} ({secret}, {order.total_minor / 100:.2f} USD): payment failed"]
    label = live.period.label
    done = await snapshots.produce(
        db.sessionmaker,
        _ask(a.id, label=label, function="orders"),
        workflow_id=uniq("wf-"),
        settings=settings,
    )
    async with db.read_sessionmaker() as s:
        snap = await s.get(ReportSnapshot, done.snapshot_id)
        files = (
            await s.scalars(select(ReportSnapshotFile).where(ReportSnapshotFile.snapshot_id == snap.id))
        ).all()
    stored = [e["description"] for e in snap.body["exceptions"] if e["kind"] == "order_payment_failed"]
    assert stored == [f"Order #{order.id} (a customer, {order.total_minor / 100:.2f} USD): payment failed"]
    assert secret not in str(snap.body)
    csv = next(f for f in files if f.format == "csv")  # the plain-text rendering of the same body
    assert "a customer" in csv.content.decode() and secret not in csv.content.decode()
