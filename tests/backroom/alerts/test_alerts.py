"""Alerts: idempotent by key, lifecycle open -> acknowledged -> resolved with who/when, every
change audited, critical ones notify the branch manager; the sweep raises from the data and
auto-resolves when the cause clears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backroom.alerts import service, sweep
from backroom.alerts.errors import AlertAlreadyResolved, AssigneeNotAllowed
from backroom.alerts.models import ExceptionAlert
from backroom.audit.context import Actor
from backroom.audit.models import AuditEvent
from backroom.notifications.models import Notification
from tests.backroom.reports.records import complaint, credit_account, credit_hold, customer
from tests.helpers import create_branch, create_user, uniq

SWEEP = Actor.system("alert-sweep-test")


async def _events(s, alert_id) -> list[str]:
    rows = await s.execute(
        select(AuditEvent.action)
        .where(AuditEvent.entity_type == "exception_alert", AuditEvent.entity_id == str(alert_id))
        .order_by(AuditEvent.id)
    )
    return list(rows.scalars())


async def test_raise_is_idempotent_by_key_and_lifecycle_is_audited(db):
    key = uniq("complaint-") + ":resolution-breach"
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        manager = await create_user(s, grants=[("manager", b.id)], email=f"{uniq()}@example.com")
        agent = await create_user(s, grants=[("agent", b.id)])
        outsider = await create_user(s, grants=[("agent", (await create_branch(s)).id)])
        kw = {
            "key": key,
            "kind": "complaint_sla_breach",
            "branch_id": b.id,
            "title": "Late",
            "link": "/complaints/1",
            "actor": SWEEP,
        }
        first, created = await service.raise_alert(s, severity="critical", **kw)
        again, created_again = await service.raise_alert(s, severity="critical", **kw)
        assert created and not created_again and first.id == again.id
        assert await s.scalar(select(func.count()).where(ExceptionAlert.key == key)) == 1
        # Critical: the branch's manager is told once, through the outbox.
        mails = (
            (await s.execute(select(Notification).where(Notification.to_user_id == manager.id)))
            .scalars()
            .all()
        )
        assert len(mails) == 1 and mails[0].link == f"/alerts/{first.id}" and "Critical" in mails[0].subject

        me = Actor.user(manager.id, manager.full_name)
        acked = await service.acknowledge(s, alert_id=first.id, actor=me)
        assert (
            acked.status == "acknowledged"
            and acked.acknowledged_by_id == manager.id
            and acked.acknowledged_at
        )
        await service.acknowledge(s, alert_id=first.id, actor=me)  # twice: no second event
        with pytest.raises(AssigneeNotAllowed):
            await service.assign(s, alert_id=first.id, assignee_id=outsider.id, actor=me)
        await service.assign(s, alert_id=first.id, assignee_id=agent.id, actor=me)
        done = await service.resolve(s, alert_id=first.id, actor=me, note="Called the customer")
        assert (done.status, done.resolution, done.resolved_by_id) == ("resolved", "manual", manager.id)
        with pytest.raises(AlertAlreadyResolved):
            await service.resolve(s, alert_id=first.id, actor=me)
        # A person resolved it: the cause still being seen does not reopen it.
        _, reopened = await service.raise_alert(s, severity="critical", **kw)
        assert not reopened and (await s.get(ExceptionAlert, first.id)).status == "resolved"
        assert await _events(s, first.id) == [
            "alert.raise",
            "alert.acknowledge",
            "alert.assign",
            "alert.resolve",
        ]
        page = await service.list_alerts(s, branch_ids=[b.id], status="resolved")
        assert [a.key for a in page.items] == [key]
        assert page.items[0].assignee == agent.full_name and page.items[0].branch == b.name


async def test_sweep_raises_from_data_and_auto_resolves_when_the_cause_clears(db):
    now = datetime.now(UTC)
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        c = await customer(s, branch=b)
        late = await complaint(
            s, branch=b, customer=c, at=now - timedelta(days=3), severity="high", resolution_breached=True
        )
        fine = await complaint(s, branch=b, customer=c, at=now - timedelta(hours=1))
        hold = await credit_hold(
            s, account=await credit_account(s, branch=b, customer=c), amount_minor=5000, at=now
        )
        first = await sweep.sweep(s, actor=SWEEP, now=now)
        second = await sweep.sweep(s, actor=SWEEP, now=now)
        keys = set(
            (await s.execute(select(ExceptionAlert.key).where(ExceptionAlert.branch_id == b.id))).scalars()
        )
        assert keys == {f"complaint-{late.id}:resolution-breach", f"credit-hold-{hold.id}:raised"}
        assert f"complaint-{fine.id}:resolution-breach" not in keys
        assert first.raised >= 2 and second.raised == 0
        breach = await s.scalar(
            select(ExceptionAlert).where(ExceptionAlert.key == f"complaint-{late.id}:resolution-breach")
        )
        assert breach.severity == "critical" and breach.link == f"/complaints/{late.id}"

        late.status = "resolved"
        hold.status = "posted"
        await s.flush()
        third = await sweep.sweep(s, actor=SWEEP, now=now)
        assert third.auto_resolved >= 2
        await s.refresh(breach)
        assert (breach.status, breach.resolution) == ("resolved", "auto")
        assert await _events(s, breach.id) == ["alert.raise", "alert.auto_resolve"]
        # The cause comes back (reopened complaint breached again): the same alert reopens.
        late.status = "open"
        await s.flush()
        await sweep.sweep(s, actor=SWEEP, now=now)
        await s.refresh(breach)
        assert breach.status == "open" and breach.occurrences == 2
