"""Order lifecycle events for neighbouring domains (coupons, loyalty, warranty, vendors...).

A domain reacts to an order reaching a status without the order workflow knowing it: it
registers a handler in its own `backroom/<domain>/hooks.py`

    @on_order("delivered")
    async def _register_warranties(session, event: OrderChange) -> None: ...

and `emit` runs the handlers inside the transaction that records the status (the order
workflow's `set_status` activity, or `place_order` for "placed"). That transaction is
idempotent per event key, so a handler runs once per event however often the activity is
retried; a handler that starts a workflow queues it in the outbox (backroom/starts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import Actor
from backroom.orders.models import Order


@dataclass(frozen=True)
class OrderChange:
    """An order reached `status` (placed, picking, review, shipped, delivered, completed,
    cancelled, payment_failed, refunded...). `data` carries what the status needs, e.g. the
    refunded amount; `key` is unique per event."""

    order: Order
    status: str
    key: str
    actor: Actor
    data: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[AsyncSession, OrderChange], Awaitable[None]]
_HANDLERS: list[tuple[frozenset[str] | None, Handler]] = []
_loaded = False


def on_order(*statuses: str) -> Callable[[Handler], Handler]:
    """Register a handler for these statuses (none named: every status). Idempotent."""

    def register(fn: Handler) -> Handler:
        entry = (frozenset(statuses) or None, fn)
        if entry not in _HANDLERS:
            _HANDLERS.append(entry)
        return fn

    return register


def _load() -> None:
    global _loaded
    if not _loaded:
        from backroom.plugins import each_domain

        each_domain("hooks")
        _loaded = True


async def emit(session: AsyncSession, event: OrderChange) -> None:
    """Run every handler registered for the event's status, in registration order, in the
    caller's transaction (a handler's error rolls the whole status change back)."""
    _load()
    for statuses, fn in _HANDLERS:
        if statuses is None or event.status in statuses:
            await fn(session, event)
