"""Module dashboards as JSON: the same widgets as the pages, under the same filters."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.deps import Now, Session, require
from api.drilldown import Drill, drill
from backroom.alerts.schemas import AlertCounts, AlertRead
from backroom.analytics import dashboard
from backroom.analytics.access import branches_for
from backroom.analytics.modules import module
from backroom.auth.principal import Principal

router = APIRouter(prefix="/api/v1/dashboards", tags=["dashboards"])


class CompareRead(BaseModel):
    label: str
    value: float | None
    display: str
    previous: float | None
    previous_display: str
    change_pct: float | None
    target: float | None
    target_display: str | None
    target_pct: float | None


class CardRead(BaseModel):
    function: str
    measure: str
    label: str
    unit: str
    link: str
    available: bool
    spans: list[CompareRead]
    note: str


class QueueRead(BaseModel):
    kind: str
    title: str
    detail: str
    link: str
    action: str
    due: datetime | None


class TimelineRead(BaseModel):
    at: datetime
    who: str
    action: str
    entity_type: str
    entity_id: str
    link: str | None
    subject: str  # the record for people: "Order #1033", "Credit account of Alice Moreno"


class DashboardRead(BaseModel):
    module: str
    label: str
    branches: list[str]
    cards: list[CardRead]
    queue: list[QueueRead]
    alerts: list[AlertRead]
    alert_counts: AlertCounts
    timeline: list[TimelineRead]
    generated_at: datetime


@router.get("/{slug}")
async def get_dashboard(
    session: Session,
    slug: str,
    now: Now,
    d: Drill = Depends(drill),
    entity_type: str | None = Query(default=None, alias="type"),
    p: Principal = require("dashboard", "read"),
) -> DashboardRead:
    """KPI cards, pending actions, alerts and the recent timeline of a module (customer-ops or
    commerce), for the caller's branches or the ones asked for."""
    m = module(slug)
    b = await dashboard.build(
        session,
        module=m,
        p=p,
        branch_ids=branches_for(p, "dashboard", "read", d.branch),
        user_id=d.user,
        shift_ids=d.shift_ids,
        category=d.category,
        entity_type=entity_type,
        now=now,
    )
    return DashboardRead(
        module=m.key,
        label=m.label,
        branches=[x.name for x in b.branches.values()],
        cards=[
            CardRead(**{**c.__dict__, "spans": [CompareRead(**s.__dict__) for s in c.spans]}) for c in b.cards
        ],
        queue=[QueueRead(**q.__dict__) for q in b.queue],
        alerts=b.alerts,
        alert_counts=b.alert_counts,
        timeline=[TimelineRead(**t.__dict__) for t in b.timeline],
        generated_at=b.generated_at,
    )
