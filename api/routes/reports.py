"""Reports API: the report sets the caller may see, one report as JSON, the records behind any
number (drilldown), and the report as a CSV / XLSX / PDF file (audited).

Permissions (backroom/reports/access.py): ("reports", "read") in a branch reads its reports;
("reports", "list") alone (clerks) reads the records of the caller's own shifts only;
("reports", "export") in every branch of the report downloads it."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response

from api.deps import Session, WriteSession, require
from api.params import ItemId
from backroom.auth.principal import Principal
from backroom.inputs import Day
from backroom.pagination import CursorText
from backroom.reports import access, catalog, service
from backroom.reports.catalog import Dimension
from backroom.reports.periods import Edition
from backroom.reports.schemas import DrilldownRead, Links, ReportRead, ReportSetRead

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

Branches = Query(
    default=None, description="Branch id; repeat for several. Default: every branch you may see."
)
Category = Query(default=None, max_length=64)
Promotion = Query(
    default=None,
    ge=1,
    le=2**63 - 1,
    description="Promotion id: only its records (report sets broken down by promotion; others refuse, 409)",
)


def _records(promotion: int | None) -> dict[Dimension, int]:
    return {Dimension.PROMOTION: promotion} if promotion is not None else {}


@router.get("")
async def list_reports(p: Principal = require("reports", "list")) -> dict[str, list[ReportSetRead]]:
    """The report sets the caller may open, with their measures, dimensions and editions."""
    items = []
    for fr in catalog.functions().values():
        if not access.may_see_function(p, fr.key):
            continue
        items.append(
            ReportSetRead(
                function=fr.key,
                label=fr.label,
                editions=list(Edition),
                measures=[{"name": m.name, "label": m.label, "unit": m.unit} for m in fr.visible()],
                dimensions=fr.dimensions(),
                links={
                    e.value: Links(
                        api=f"{service.API_BASE}/{fr.key}/{e}", ui=f"{service.UI_BASE}/{fr.key}/{e}"
                    )
                    for e in Edition
                },
            )
        )
    return {"items": items}


@router.get("/{function}/{edition}")
async def get_report(
    session: Session,
    function: str,
    edition: Edition,
    date: Day | None = None,
    branch: list[ItemId] | None = Branches,
    user: int | None = Query(default=None, ge=1, le=2**63 - 1),
    shift: int | None = Query(default=None, ge=1, le=2**63 - 1),
    category: str | None = Category,
    promotion: int | None = Promotion,
    p: Principal = require("reports", "list"),
) -> ReportRead:
    """One report: summary beside the previous period, breakdowns, exceptions, exact bounds."""
    scope = await access.resolve(session, p, branch, function=function)
    return await service.build_report(
        session,
        function=function,
        edition=edition,
        day=date,
        branch_ids=scope.branch_ids,
        user_id=user,
        shift_id=shift,
        category=category,
        shift_ids=scope.shift_ids,
        record_ids=_records(promotion),
    )


@router.get("/{function}/{edition}/drilldown")
async def drilldown(
    session: Session,
    function: str,
    edition: Edition,
    measure: str = Query(max_length=64),
    date: Day | None = None,
    branch: list[ItemId] | None = Branches,
    user: int | None = Query(default=None, ge=1, le=2**63 - 1),
    shift: int | None = Query(default=None, ge=1, le=2**63 - 1),
    category: str | None = Category,
    promotion: int | None = Promotion,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: CursorText | None = Query(default=None, max_length=200),
    p: Principal = require("reports", "list"),
) -> DrilldownRead:
    """The records behind one number of a report, newest first, a page at a time."""
    scope = await access.resolve(session, p, branch, function=function)
    return await service.drilldown(
        session,
        function=function,
        measure=measure,
        edition=edition,
        day=date,
        branch_ids=scope.branch_ids,
        user_id=user,
        shift_id=shift,
        category=category,
        shift_ids=scope.shift_ids,
        limit=limit,
        cursor=cursor,
        record_ids=_records(promotion),
    )


@router.get(
    "/{function}/{edition}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The report file",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def export_report(
    session: WriteSession,
    function: str,
    edition: Edition,
    format: Literal["csv", "xlsx", "pdf"] = "csv",
    date: Day | None = None,
    branch: list[ItemId] | None = Branches,
    user: int | None = Query(default=None, ge=1, le=2**63 - 1),
    shift: int | None = Query(default=None, ge=1, le=2**63 - 1),
    category: str | None = Category,
    promotion: int | None = Promotion,
    p: Principal = require("reports", "export"),
) -> Response:
    """The report as a file. Audited: who exported which report, period, branches and format
    (the audit event is the transaction's only write)."""
    rendered = await service.export_report(
        session,
        principal=p,
        function=function,
        edition=edition,
        day=date,
        branch_ids=branch,
        user_id=user,
        shift_id=shift,
        category=category,
        fmt=format,
        record_ids=_records(promotion),
    )
    return Response(
        rendered.content,
        media_type=rendered.media_type,
        headers={"Content-Disposition": f'attachment; filename="{rendered.filename}"'},
    )
