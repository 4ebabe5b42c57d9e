"""One create-or-update helper for every Temporal Schedule (reports, loyalty, segments)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import ScheduleIntervalSpec

from backroom.loyalty import schedules as nightly
from backroom.temporal import ensure_schedule
from tests.helpers import uniq


async def test_ensure_schedule_creates_once_then_updates_in_place_keeping_a_pause(dev_env, settings):
    settings.workflow_prefix = uniq("t") + "-"
    client = dev_env.client
    name, workflow, arg, hour = nightly.NIGHTLY[0]
    sid = f"{settings.workflow_prefix}{name}"
    assert await ensure_schedule(client, sid, nightly.build(settings, name, workflow, arg, hour)) is True
    handle = client.get_schedule_handle(sid)
    await handle.pause(note="paused by ops")
    changed = nightly.build(settings, name, workflow, arg, hour)
    changed.spec.calendars = []
    changed.spec.intervals = [ScheduleIntervalSpec(every=timedelta(hours=4))]
    assert await ensure_schedule(client, sid, changed) is False  # a worker restart with a new spec
    desc = await handle.describe()
    assert desc.schedule.state.paused is True
    assert desc.schedule.spec.intervals[0].every == timedelta(hours=4)
    listed = [s.id async for s in await client.list_schedules() if s.id == sid]
    assert listed == [sid]
    await handle.delete()


async def test_loyalty_and_segment_schedules_go_through_the_shared_helper(dev_env, settings):
    settings.workflow_prefix = uniq("t") + "-"
    ids = await nightly.ensure_schedules(dev_env.client, settings)
    first = await dev_env.client.get_schedule_handle(ids[0]).describe()
    await dev_env.client.get_schedule_handle(ids[0]).pause()
    assert await nightly.ensure_schedules(dev_env.client, settings) == ids
    again = await dev_env.client.get_schedule_handle(ids[0]).describe()
    assert again.schedule.state.paused is True
    assert again.schedule.action.workflow == first.schedule.action.workflow
    for sid in ids:
        await dev_env.client.get_schedule_handle(sid).delete()
