"""Staff pages for reports: the index of report sets, one report with its period picker and
filters (names, never ids), the records behind a number, and the export buttons (audited).
They call the same use cases as the API (backroom/reports/service.py)."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import Session, WriteSession, require
from api.ui.common import render
from backroom.auth.principal import Principal
from backroom.errors import InvalidInput
from backroom.reports import access, catalog, service
from backroom.reports.catalog import RECORD_DIMENSIONS
from backroom.reports.periods import Edition

router = APIRouter(include_in_schema=False)
NAV = [("Reports", "/reports", ("reports", "list"), 60)]
LIST = ("reports", "list")


def _int(request: Request, name: str, label: str) -> int | None:
    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise InvalidInput(f"Choose a {label} from the list.", field=name)
    return int(raw)


def _filters(request: Request) -> dict:
    """The page's query string, checked: a bad value is an error in words, never a 500."""
    q = request.query_params
    raw_date = (q.get("date") or "").strip()
    try:
        day = date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        raise InvalidInput("Enter the date as YYYY-MM-DD, e.g. 2026-11-30.", field="date") from None
    branches = []
    for b in q.getlist("branch"):
        if b.strip():
            if not b.strip().isdigit() or not 0 < int(b) < 2**63:
                raise InvalidInput("Choose a branch from the list.", field="branch")
            branches.append(int(b))
    category = (q.get("category") or "").strip()[:64] or None
    return {
        "day": day,
        "branch_ids": branches or None,
        "user_id": _int(request, "user", "staff member"),
        "shift_id": _int(request, "shift", "shift"),
        "category": category,
        # Filters by a record of the report's own (?promotion=<id>), kept in drilldown links.
        "record_ids": {
            d: i for d in sorted(RECORD_DIMENSIONS) if (i := _int(request, d.value, d.value)) is not None
        },
    }


def _edition(edition: str) -> Edition:
    try:
        return Edition(edition)
    except ValueError:
        raise InvalidInput("Choose daily, weekly or monthly.", field="edition") from None


@router.get("/reports")
async def index_page(request: Request, p: Principal = require(*LIST)):
    return render(
        request,
        "reports/index.html",
        p,
        functions=[fr for fr in catalog.functions().values() if access.may_see_function(p, fr.key)],
        editions=list(Edition),
        own_shifts=access.own_shifts_only(p),
    )


@router.get("/reports/{function}/{edition}")
async def report_page(
    session: Session, request: Request, function: str, edition: str, p: Principal = require(*LIST)
):
    ed = _edition(edition)
    f = _filters(request)
    scope = await access.resolve(session, p, f["branch_ids"], function=function)
    report = await service.build_report(
        session,
        function=function,
        edition=ed,
        shift_ids=scope.shift_ids,
        **{**f, "branch_ids": scope.branch_ids},
    )
    options = await service.filter_options(
        session, branch_ids=scope.branch_ids, shift_ids=scope.shift_ids, fr=catalog.get(function)
    )
    query = {k: v for k, v in request.query_params.multi_items() if v}
    return render(
        request,
        "reports/report.html",
        p,
        r=report,
        fr=catalog.get(function),
        editions=list(Edition),
        options=options,
        chosen={
            "date": report.period.start_local.isoformat() if f["day"] is None else f["day"].isoformat(),
            "branch": {str(b) for b in (f["branch_ids"] or [])},
            "user": str(f["user_id"] or ""),
            "shift": str(f["shift_id"] or ""),
            "category": f["category"] or "",
            **{d.value: str(i) for d, i in f["record_ids"].items()},
        },
        may_export=p.can("reports", "export") and not scope.own_shifts_only,
        export_query=urlencode(
            [(k, v) for k, v in request.query_params.multi_items() if v and k != "format"]
        ),
        query=query,
    )


@router.get("/reports/{function}/{edition}/drilldown")
async def drilldown_page(
    session: Session, request: Request, function: str, edition: str, p: Principal = require(*LIST)
):
    ed = _edition(edition)
    f = _filters(request)
    measure = (request.query_params.get("measure") or "").strip()[:64]
    if not measure:
        raise InvalidInput("Choose a number of the report to see the records behind it.", field="measure")
    cursor = request.query_params.get("cursor") or None
    scope = await access.resolve(session, p, f["branch_ids"], function=function)
    page = await service.drilldown(
        session,
        function=function,
        measure=measure,
        edition=ed,
        shift_ids=scope.shift_ids,
        cursor=cursor[:200] if cursor else None,
        **{**f, "branch_ids": scope.branch_ids},
    )
    params = [(k, v) for k, v in request.query_params.multi_items() if v and k != "cursor"]
    back = urlencode([(k, v) for k, v in params if k != "measure"])
    return render(
        request,
        "reports/drilldown.html",
        p,
        page=page,
        fr=catalog.get(function),
        back=f"/reports/{function}/{ed}?{back}",
        next_url=(
            f"{request.url.path}?{urlencode([*params, ('cursor', page.next_cursor)])}"
            if page.next_cursor
            else None
        ),
        fields=list(page.items[0].fields) if page.items else [],
    )


@router.get("/reports/{function}/{edition}/export")
async def export_download(
    session: WriteSession,
    request: Request,
    function: str,
    edition: str,
    p: Principal = require("reports", "export"),
) -> Response:
    ed = _edition(edition)
    fmt = request.query_params.get("format") or "pdf"
    f = _filters(request)
    rendered = await service.export_report(
        session,
        principal=p,
        function=function,
        edition=ed,
        day=f["day"],
        branch_ids=f["branch_ids"],
        user_id=f["user_id"],
        shift_id=f["shift_id"],
        category=f["category"],
        fmt=fmt,
        record_ids=f["record_ids"],
    )
    return Response(
        rendered.content,
        media_type=rendered.media_type,
        headers={"Content-Disposition": f'attachment; filename="{rendered.filename}"'},
    )
