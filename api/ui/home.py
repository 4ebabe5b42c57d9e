"""The staff start page."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import require
from api.ui.common import render
from backroom.auth.principal import Principal

router = APIRouter(include_in_schema=False)
NAV = [("Home", "/", ("dashboard", "read"), 0)]


@router.get("/")
async def home(request: Request, p: Principal = require("dashboard", "read")):
    return render(request, "home.html", p)
