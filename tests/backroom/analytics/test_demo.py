"""Done means: on a fresh install with the demo data, `manager` sees both dashboards with
cards, queue, alerts and timeline, and analytics with trend, target variance, heatmap, forecast."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from backroom.analytics import dashboard, service
from backroom.analytics import heatmap as heat
from backroom.analytics.modules import MODULES
from backroom.analytics.series import scope_for
from backroom.auth import service as auth
from backroom.auth.models import User
from backroom.seed import seed_demo
from policies import load_enforcer


async def test_demo_fills_both_dashboards_and_analytics(fresh_db):
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        await seed_demo(s)
    async with db.sessionmaker.begin() as s:
        await seed_demo(s)  # idempotent: nothing doubles
    async with db.read_sessionmaker() as s:
        user = await s.scalar(select(User).where(User.username == "manager"))
        p = await auth.principal_for(s, user, load_enforcer(await auth.all_grants(s)))
        ids = sorted(p.branch_ids("dashboard", "read"))
        for key in ("custops", "commerce"):
            board = await dashboard.build(s, module=MODULES[key], p=p, branch_ids=ids)
            month = [c.spans[2].value for c in board.cards if c.available]
            assert any(v for v in month), key
            assert board.queue and board.alerts and board.timeline, key
            assert board.alert_counts.open >= 1
        scope = await scope_for(s, function="orders", measure="placed", branch_ids=ids)
        now = datetime.now(UTC)
        assert (await service.trend(s, scope, window_days=90, bucket="day", now=now)).total > 0
        v = await service.variance(s, scope, edition="weekly", day=scope.today(now))
        assert next(x for x in v.lines if x.baseline == "target").value == 90 * len(ids)
        assert (await service.forecast(s, scope, bucket="day", now=now)).enough_history
        h = await heat.heatmap(s, module=MODULES["commerce"], branches=scope.branches, now=now)
        assert h.total > 0 and h.cells
