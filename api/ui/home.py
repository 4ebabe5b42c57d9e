"""The staff start page: the module dashboard that fits the signed-in user's roles."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import Session, require
from api.ui.dashboards import home_dashboard
from backroom.auth.principal import Principal

router = APIRouter(include_in_schema=False)
NAV = [("Home", "/", ("dashboard", "read"), 0)]


@router.get("/")
async def home(request: Request, session: Session, p: Principal = require("dashboard", "read")):
    """Customer Operations or E-commerce, whichever the user's roles work in."""
    return await home_dashboard(request, session, p)
