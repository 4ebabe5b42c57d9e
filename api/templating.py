"""Jinja2 environment for staff and storefront pages, with formatting helpers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from backroom.audit import describe
from backroom.money import format_money
from backroom.text import words

HERE = Path(__file__).resolve().parent


def fmt_dt(value: datetime | None, zone: str | None = None) -> str:
    """A stored (UTC) time as people read it: in `zone` with its abbreviation, else UTC."""
    if not value:
        return ""
    if not isinstance(value, datetime):  # a plain date
        return value.strftime("%Y-%m-%d")
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    if zone and zone != "UTC":
        try:
            return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@pass_context
def _dt(ctx, value: datetime | None) -> str:
    """The `dt` filter: in the time zone the page was rendered for (`tz`: the signed-in user's)."""
    return fmt_dt(value, ctx.get("tz"))


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    # A new one-time key per rendered form (api/once.py): a repeat of that form acts once.
    templates.env.globals.update(money=format_money, submission_key=lambda: uuid.uuid4().hex)
    templates.env.filters.update(money=format_money, dt=_dt, words=words)
    templates.env.globals.update(
        action_words=describe.action_words,
        audit_actor=describe.actor,
        audit_changes=describe.changes,
        audit_json=describe.raw,
    )
    return templates
