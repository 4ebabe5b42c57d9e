"""Module dashboards: /dashboard (opens the one that fits the user's roles),
/dashboard/customer-ops and /dashboard/commerce, and the fragment the page polls."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from api.deps import Session, require
from api.drilldown import Drill, drill, filter_context
from api.ui.common import render
from backroom.analytics import dashboard
from backroom.analytics.modules import PATHS, module_for_roles
from backroom.auth.principal import Principal

router = APIRouter(include_in_schema=False)
NAV = [("Dashboard", "/dashboard", ("dashboard", "read"), 0.5)]
REFRESH_SECONDS = 60


@router.get("/dashboard")
async def my_dashboard(request: Request, p: Principal = require("dashboard", "read")):
    """The dashboard of the module that fits the signed-in user's roles."""
    roles = {r for r, _ in p.grants}
    qs = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/dashboard/{PATHS[module_for_roles(roles).key]}{qs}", status_code=303)


def _refresh(value: str | None) -> int:
    """Seconds between refreshes: `?refresh=N` (5 to 3600) or the default."""
    return min(max(int(value), 5), 3600) if value and value.isdigit() else REFRESH_SECONDS


async def _context(request: Request, session, p: Principal, slug: str, d: Drill) -> dict:
    ids, filters = await filter_context(session, p, "dashboard", slug, d)
    board = await dashboard.build(
        session,
        module=filters["m"],
        p=p,
        branch_ids=ids,
        user_id=d.user,
        shift_ids=d.shift_ids,
        category=d.category,
        entity_type=request.query_params.get("type") or None,
    )
    return {
        **filters,
        "board": board,
        "type": request.query_params.get("type") or "",
        "refresh": _refresh(request.query_params.get("refresh")),
        "can_analytics": p.can("analytics", "read"),
    }


async def home_dashboard(request: Request, session, p: Principal):
    """The role-fitting dashboard rendered in place (for the start page at "/")."""
    slug = PATHS[module_for_roles({r for r, _ in p.grants}).key]
    return render(request, "dash/dashboard.html", p, **await _context(request, session, p, slug, drill()))


@router.get("/dashboard/{slug}")
async def module_dashboard(
    request: Request,
    session: Session,
    slug: str,
    d: Drill = Depends(drill),
    p: Principal = require("dashboard", "read"),
):
    return render(request, "dash/dashboard.html", p, **await _context(request, session, p, slug, d))


@router.get("/dashboard/{slug}/fragment")
async def dashboard_fragment(
    request: Request,
    session: Session,
    slug: str,
    d: Drill = Depends(drill),
    p: Principal = require("dashboard", "read"),
):
    """The widgets alone: the page's script swaps them in without a reload."""
    return render(request, "dash/widgets.html", p, **await _context(request, session, p, slug, d))
