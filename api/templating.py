"""Jinja2 environment for staff and storefront pages, with formatting helpers."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

from backroom.audit import describe
from backroom.money import format_money

HERE = Path(__file__).resolve().parent


def fmt_dt(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    # A new one-time key per rendered form (api/once.py): a repeat of that form acts once.
    templates.env.globals.update(money=format_money, submission_key=lambda: uuid.uuid4().hex)
    templates.env.filters.update(money=format_money, dt=fmt_dt)
    templates.env.globals.update(
        action_words=describe.action_words, audit_changes=describe.changes, audit_json=describe.raw
    )
    return templates
