"""Credit sale events for neighbouring domains (loyalty earns on in-store credit sales).

A domain registers `@on_credit_sale` in its own hooks.py; `emit` runs the handlers inside the
transaction that posts the sale (a new sale entry only: a repeated reference emits nothing)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import Actor
from backroom.credit.models import CreditEntry

Handler = Callable[[AsyncSession, CreditEntry, Actor], Awaitable[None]]
_HANDLERS: list[Handler] = []
_loaded = False


def on_credit_sale(fn: Handler) -> Handler:
    if fn not in _HANDLERS:
        _HANDLERS.append(fn)
    return fn


async def emit(session: AsyncSession, entry: CreditEntry, actor: Actor) -> None:
    global _loaded
    if not _loaded:
        from backroom.plugins import each_domain

        each_domain("hooks")
        _loaded = True
    for fn in _HANDLERS:
        await fn(session, entry, actor)
