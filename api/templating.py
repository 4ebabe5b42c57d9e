"""Jinja2 environment for staff and storefront pages, with formatting helpers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

from backroom.money import format_money

HERE = Path(__file__).resolve().parent


def fmt_dt(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(money=format_money)
    templates.env.filters.update(money=format_money, dt=fmt_dt)
    return templates
