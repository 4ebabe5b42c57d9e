"""Alerts from analytics, run by the alert sweep once a day: a measure outside its forecast
interval yesterday, and a target missed at the end of its period."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.alerts import service as alerts
from backroom.alerts.models import ExceptionAlert
from backroom.analytics import service
from backroom.analytics.models import Target
from backroom.analytics.modules import MODULES
from backroom.analytics.series import base_by_branch_day, base_by_day, scope_for, value_of
from backroom.analytics.targets import display
from backroom.audit.context import Actor
from backroom.branches.models import Branch

LOOKBACK = timedelta(days=40)  # targets whose period ended longer ago are not checked again


async def _exists(session: AsyncSession, key: str) -> bool:
    return await session.scalar(select(ExceptionAlert.id).where(ExceptionAlert.key == key)) is not None


async def check_targets(session: AsyncSession, *, actor: Actor, now: datetime) -> int:
    """One alert per target whose period has ended (in its branch's zone) short of it."""
    branches = {b.id: b for b in (await session.execute(select(Branch))).scalars()}
    rows = (
        await session.execute(
            select(Target).where(
                Target.value.is_not(None),
                Target.period_end >= (now - LOOKBACK).date(),
                Target.period_end <= now.date() + timedelta(days=1),
            )
        )
    ).scalars()
    raised = 0
    for t in list(rows):
        b = branches[t.branch_id]
        if t.period_end > now.astimezone(ZoneInfo(b.timezone)).date():
            continue  # not over yet in the branch's zone
        key = f"target-{t.id}:missed:{t.function}.{t.measure}"
        if await _exists(session, key):
            continue
        scope = await scope_for(
            session, function=t.function, measure=t.measure, branch_ids=[b.id], currency=t.currency
        )
        base = await base_by_day(session, scope, t.period_start, t.period_end)
        actual = value_of(scope.fr, scope.measure, base.sum().to_frame().T).iloc[0]
        missed = actual < t.value if t.higher_is_better else actual > t.value
        if missed:
            unit = scope.measure.unit
            await alerts.raise_alert(
                session,
                key=key,
                kind="target_missed",
                severity="warning",
                branch_id=b.id,
                title=f"{scope.measure.label} {t.period_label} at {b.name}: {display(unit, float(actual), t.currency)} against a target of {display(unit, t.value, t.currency)}",
                link=f"/analytics/{'commerce' if t.function in MODULES['commerce'].functions else 'customer-ops'}?function={t.function}&measure={t.measure}&branch={b.id}&edition={t.edition}&date={t.period_start}",
                actor=actor,
                at=now,
            )
            raised += 1
    return raised


async def check_forecasts(session: AsyncSession, *, actor: Actor, now: datetime) -> int:
    """Yesterday's value of each module's main measure, per branch, against the 95% interval
    forecast from the days before it. One alert per branch and day outside it."""
    raised = 0
    for module in MODULES.values():
        fn, measure = module.default_measure
        scope = await scope_for(session, function=fn, measure=measure, branch_ids=None)
        if not scope.branches:
            continue
        yesterday = scope.today(now) - timedelta(days=1)
        results = await service.forecast_by_branch(session, scope, bucket="day", now=now - timedelta(days=1))
        actuals = await base_by_branch_day(session, scope, yesterday, yesterday + timedelta(days=1))
        for bf in results:
            f = bf.forecast
            if not f.enough_history:
                continue
            actual = float(value_of(scope.fr, scope.measure, actuals[bf.branch_id]).iloc[0])
            if f.lower_95 <= actual <= f.upper_95:
                continue
            key = f"forecast-{fn}.{measure}:b{bf.branch_id}:{yesterday}"
            word = "above" if actual > f.upper_95 else "below"
            _, created = await alerts.raise_alert(
                session,
                key=key,
                kind="forecast_outlier",
                severity="warning",
                branch_id=bf.branch_id,
                title=f"{scope.measure.label} at {bf.branch} on {yesterday}: {actual:g}, {word} the expected {f.lower_95:.0f}–{f.upper_95:.0f}",
                link=f"/analytics/{'commerce' if module.key == 'commerce' else 'customer-ops'}?function={fn}&measure={measure}&branch={bf.branch_id}",
                detail=f.message,
                actor=actor,
                at=now,
            )
            raised += created
    return raised
