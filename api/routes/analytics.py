"""Analytics API over the metric catalog: trend, variance, forecast, heatmap, targets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.deps import Session, SettingsDep, require
from api.drilldown import Drill, drill
from backroom.analytics import heatmap as heat
from backroom.analytics import service
from backroom.analytics import targets as targets_svc
from backroom.analytics.access import branches_for, load_branches
from backroom.analytics.modules import module
from backroom.analytics.schemas import (
    BranchForecast,
    ForecastRead,
    HeatmapRead,
    HourProfileRead,
    TrendRead,
    VarianceRead,
)
from backroom.analytics.series import Scope, scope_for
from backroom.analytics.targets import TargetIn, TargetRead
from backroom.auth.principal import Principal
from backroom.branches.models import Branch
from backroom.inputs import Day
from backroom.reports import catalog

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
DrillDep = Annotated[Drill, Depends(drill)]


class MeasureInfo(BaseModel):
    function: str
    function_label: str
    measure: str
    label: str
    unit: str
    over_time: bool


class HeatRecord(BaseModel):
    id: int
    category: str
    at: str
    branch: str
    link: str


async def _scope(session, p: Principal, d: Drill, function: str, measure: str, currency: str | None) -> Scope:
    return await scope_for(
        session,
        function=function,
        measure=measure,
        branch_ids=branches_for(p, "analytics", "read", d.branch),
        user_id=d.user,
        shift_ids=d.shift_ids,
        category=d.category,
        currency=currency,
    )


@router.get("/measures")
async def measures(p: Principal = require("analytics", "read")) -> list[MeasureInfo]:
    """Every visible measure of the catalog (what trend, variance and forecast accept)."""
    return [
        MeasureInfo(
            function=fr.key,
            function_label=fr.label,
            measure=m.name,
            label=m.label,
            unit=m.unit,
            over_time=fr.source_of(m).as_of is None,
        )
        for fr in catalog.functions().values()
        for m in fr.visible()
    ]


@router.get("/trend")
async def trend(
    session: Session,
    d: DrillDep,
    function: str,
    measure: str,
    window: Annotated[
        int, Query(description="7, 30, 90 or 365 days", json_schema_extra={"enum": list(service.WINDOWS)})
    ] = 30,
    bucket: str = "day",
    currency: str | None = None,
    p: Principal = require("analytics", "read"),
) -> TrendRead:
    """The measure per day/week/month over the window, with a moving average."""
    return await service.trend(
        session, await _scope(session, p, d, function, measure, currency), window_days=window, bucket=bucket
    )


@router.get("/hours")
async def hour_profile(
    session: Session,
    d: DrillDep,
    function: str,
    measure: str,
    days: Annotated[int, Query(ge=7, le=366)] = 28,
    currency: str | None = None,
    p: Principal = require("analytics", "read"),
) -> HourProfileRead:
    """The measure's average per local weekday x hour over the last `days` days."""
    return await service.hour_profile(
        session, await _scope(session, p, d, function, measure, currency), days=days
    )


@router.get("/variance")
async def variance(
    session: Session,
    d: DrillDep,
    function: str,
    measure: str,
    edition: str = "weekly",
    day: Annotated[Day | None, Query(alias="date")] = None,
    tolerance: Annotated[float, Query(ge=0, le=1000)] = 10.0,
    currency: str | None = None,
    p: Principal = require("analytics", "read"),
) -> VarianceRead:
    """The period's value against the previous period, last year, the trailing average and
    the target, with absolute and % variance flagged outside the tolerance."""
    scope = await _scope(session, p, d, function, measure, currency)
    return await service.variance(
        session, scope, edition=edition, day=day or scope.today(_now()), tolerance_pct=tolerance
    )


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


@router.get("/forecast")
async def forecast(
    session: Session,
    d: DrillDep,
    function: str,
    measure: str,
    bucket: str = "day",
    currency: str | None = None,
    p: Principal = require("analytics", "read"),
) -> ForecastRead:
    """Next bucket's forecast with 80%/95% intervals and back-test MAPE (or "not enough history")."""
    return await service.forecast(
        session, await _scope(session, p, d, function, measure, currency), bucket=bucket
    )


@router.get("/forecast/branches")
async def forecast_branches(
    session: Session,
    d: DrillDep,
    function: str,
    measure: str,
    bucket: str = "day",
    currency: str | None = None,
    p: Principal = require("analytics", "read"),
) -> list[BranchForecast]:
    """One forecast per branch (parameters estimated once on their total)."""
    scope = await _scope(session, p, d, function, measure, currency)
    return await service.forecast_by_branch(session, scope, bucket=bucket)


async def _branches(session, p: Principal, d: Drill) -> dict[int, Branch]:
    return await load_branches(session, branches_for(p, "analytics", "read", d.branch))


@router.get("/heatmap")
async def heatmap(
    session: Session,
    d: DrillDep,
    module_key: Annotated[str, Query(alias="module")] = "commerce",
    mode: str = "weekday_hour",
    days: Annotated[int, Query(ge=1, le=heat.MAX_DAYS)] = 90,
    p: Principal = require("analytics", "read"),
) -> HeatmapRead:
    """Exceptions (alerts and report exception lists) by weekday x hour or category x branch."""
    m = module(module_key)
    return await heat.heatmap(
        session,
        module=m,
        branches=await _branches(session, p, d),
        mode=mode,
        days=days,
        base_link=f"{router.prefix}/heatmap/records",
    )


@router.get("/heatmap/records")
async def heatmap_records(
    session: Session,
    d: DrillDep,
    module_key: Annotated[str, Query(alias="module")] = "commerce",
    days: Annotated[int, Query(ge=1, le=heat.MAX_DAYS)] = 90,
    dow: Annotated[int | None, Query(ge=0, le=6)] = None,
    hour: Annotated[int | None, Query(ge=0, le=23)] = None,
    category: Annotated[str | None, Query(alias="cell_category", max_length=200)] = None,
    cell_branch: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    mode: str | None = None,
    p: Principal = require("analytics", "read"),
) -> list[HeatRecord]:
    """The records behind one heatmap cell, with their links."""
    rows = await heat.cell_records(
        session,
        module=module(module_key),
        branches=await _branches(session, p, d),
        days=days,
        dow=dow,
        hour=hour,
        category=category,
        cell_branch=cell_branch,
    )
    return [HeatRecord(**{**r, "at": r["at"].isoformat()}) for r in rows]


@router.get("/targets")
async def list_targets(
    session: Session,
    d: DrillDep,
    function: str | None = None,
    measure: str | None = None,
    p: Principal = require("analytics", "read"),
) -> list[TargetRead]:
    return await targets_svc.list_targets(
        session, branch_ids=branches_for(p, "analytics", "read", d.branch), function=function, measure=measure
    )


@router.post("/targets", status_code=201)
async def set_target(
    session: Session, body: TargetIn, settings: SettingsDep, p: Principal = require("analytics", "update")
) -> TargetRead:
    """Set a target; above the approval threshold it waits in the approval inbox."""
    p.require("analytics", "update", body.branch_id)
    row = await targets_svc.set_target(session, actor=p.actor(), data=body, task_queue=settings.task_queue)
    return (await targets_svc.read_many(session, [row]))[0]
