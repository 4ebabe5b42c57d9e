"""Analytics pages, one per module: trend, variance vs baselines and target, exception
heatmap, forecast, and the targets form. Charts are inline SVG drawn on the server."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import APIRouter, Depends, Request

from api.deps import Session, SettingsDep, WriteSession, require
from api.drilldown import Drill, drill, filter_context
from api.ui.common import parse_form, pdf_page, redirect, render
from backroom.analytics import charts, pdf, service
from backroom.analytics import heatmap as heat
from backroom.analytics import targets as targets_svc
from backroom.analytics.access import branches_for, load_branches
from backroom.analytics.modules import PATHS, module
from backroom.analytics.series import scope_for
from backroom.auth.principal import Principal
from backroom.errors import AppError, InvalidInput
from backroom.reports import catalog

router = APIRouter(include_in_schema=False)
NAV = [("Analytics", "/analytics/commerce", ("analytics", "read"), 63)]


def _measures(m) -> list[tuple[str, str]]:
    out = []
    for fn in m.functions:
        fr = catalog.get(fn)
        out += [
            (f"{fn}.{x.name}", f"{fr.label}: {x.label}")
            for x in fr.visible()
            if fr.source_of(x).as_of is None
        ]
    return out


async def _context(request: Request, session, slug: str, d: Drill, p: Principal) -> dict:
    """Everything the analytics page (and its PDF) shows, under the URL's choices."""
    ids, filters = await filter_context(session, p, "analytics", slug, d)
    m = filters["m"]
    q = request.query_params
    picked = q.get("measure_key") or ".".join(m.default_measure)
    fn, _, measure = picked.partition(".")
    if fn not in m.functions:
        raise InvalidInput("Pick a measure of this module.", field="measure_key")
    window = int(q.get("window") or 90) if (q.get("window") or "90").isdigit() else 0
    bucket = q.get("bucket") or "day"
    edition = q.get("edition") or "weekly"
    try:
        day = date.fromisoformat(q["date"]) if q.get("date") else None
    except ValueError:
        raise InvalidInput("Write the date like 2026-11-30.", field="date") from None
    scope = await scope_for(
        session,
        function=fn,
        measure=measure,
        branch_ids=ids,
        user_id=d.user,
        shift_ids=d.shift_ids,
        category=d.category,
    )
    now = datetime.now(UTC)
    trend = await service.trend(session, scope, window_days=window, bucket=bucket, now=now)
    variance = await service.variance(session, scope, edition=edition, day=day or scope.today(now))
    forecast = await service.forecast(session, scope, bucket=bucket)
    mode = q.get("mode") or "weekday_hour"
    days = int(q.get("days") or 90) if (q.get("days") or "90").isdigit() else 0
    heatmap = await heat.heatmap(
        session,
        module=m,
        branches=await load_branches(session, ids),
        mode=mode,
        days=days,
        base_link=f"/analytics/{PATHS[m.key]}/cell",
    )
    labels = [pt.start.isoformat() for pt in trend.points]
    trend_svg = charts.line_chart(
        labels,
        {
            trend.label: [pt.value for pt in trend.points],
            "Moving average": [pt.moving_average for pt in trend.points],
        },
    )
    hist = forecast.history
    f_labels = [pt.start.isoformat() for pt in hist] + (
        [forecast.next_start.isoformat()] if forecast.next_start else []
    )
    pad = [None] * len(hist)
    forecast_svg = charts.line_chart(
        f_labels,
        {"History": [pt.value for pt in hist] + [None], "Forecast": [*pad, forecast.forecast]},
        band=([*pad, forecast.lower_95], [*pad, forecast.upper_95]) if forecast.enough_history else None,
    )
    top = max((c.count for c in heatmap.cells), default=0)
    cells = {(c.row, c.column): (c, charts.heat_colour(c.count, top)) for c in heatmap.cells}
    return {
        **filters,
        "q": q,
        "picked": picked,
        "measures": _measures(m),
        "trend": trend,
        "trend_svg": trend_svg,
        "variance": variance,
        "forecast": forecast,
        "forecast_svg": forecast_svg,
        "heatmap": heatmap,
        "cells": cells,
        "targets": await targets_svc.list_targets(
            session, branch_ids=ids, function=fn, measure=measure, limit=20
        ),
        "can_set": p.can("analytics", "update"),
        "fn": fn,
        "measure": measure,
        "errors": {},
        "values": {},
        "generated_at": now,
    }


@router.get("/analytics/{slug}")
async def analytics_page(
    request: Request,
    session: Session,
    slug: str,
    d: Drill = Depends(drill),
    p: Principal = require("analytics", "read"),
):
    return render(request, "dash/analytics.html", p, **await _context(request, session, slug, d, p))


@router.get("/analytics/{slug}/export.pdf")
async def analytics_pdf(
    session: WriteSession,
    request: Request,
    slug: str,
    d: Drill = Depends(drill),
    p: Principal = require("analytics", "export"),
):
    """The page as an A4 PDF with the same SVG charts (WeasyPrint, off the event loop). Audited:
    the export event is written after rendering, so no write lock is held while it renders, and
    commits before the file leaves (the session is function-scoped)."""
    ctx = await _context(request, session, slug, d, p)
    name = f"analytics-{slug}-{ctx['picked']}-{ctx['generated_at']:%Y%m%d}.pdf"
    response = await pdf_page(request, "dash/analytics_pdf.html", name, **ctx)
    await pdf.record_export(
        session, actor=p.actor(), module=ctx["m"].key, measure=ctx["picked"], query=str(request.url.query)
    )
    return response


@router.get("/analytics/{slug}/cell")
async def heat_cell(
    request: Request,
    session: Session,
    slug: str,
    d: Drill = Depends(drill),
    p: Principal = require("analytics", "read"),
):
    """The records behind one heatmap cell."""
    q = request.query_params

    def num(name: str) -> int | None:
        v = q.get(name)
        if v is None or v == "":
            return None
        if not v.isdigit():
            raise InvalidInput(f"{name} must be a number.", field=name)
        return int(v)

    m = module(slug)
    rows = await heat.cell_records(
        session,
        module=m,
        branches=await load_branches(session, branches_for(p, "analytics", "read", d.branch)),
        days=num("days") or 90,
        dow=num("dow"),
        hour=num("hour"),
        category=q.get("cell_category"),
        cell_branch=num("cell_branch"),
    )
    return render(request, "dash/heat_cell.html", p, m=m, slug=PATHS[m.key], rows=rows, q=q)


@router.post("/analytics/targets")
async def set_target(
    request: Request, session: Session, settings: SettingsDep, p: Principal = require("analytics", "update")
):
    data, errors, raw = await parse_form(request, targets_svc.TargetIn)
    back = str(raw.get("back") or "/analytics/commerce")
    if not back.startswith("/analytics/"):
        back = "/analytics/commerce"
    if data is None:
        # A malformed form is a 422 in words, like every other form; nothing was written.
        field, message = next(iter(errors.items()))
        raise InvalidInput(f"Target not saved: {field}: {message}", field=field)
    p.require("analytics", "update", data.branch_id)
    try:
        row = await targets_svc.set_target(
            session, actor=p.actor(), data=data, task_queue=settings.task_queue
        )
    except AppError as exc:
        await session.rollback()  # a refused target writes nothing; the page shows why
        return redirect(back, f"Target not saved: {exc.detail}")
    msg = (
        "Target saved."
        if row.pending_value is None
        else "Target above the approval threshold: sent for approval."
    )
    return redirect(back, msg)
