"""Registry hooks that let other domains plug into customers without customers importing them.

- LINKS: (table, customer_id column) pairs whose rows follow a customer on merge. Orders add
  `register_link("orders", "customer_id")` in backroom/orders/hooks.py (found by load_plugins).
- MERGE_HANDLERS: for tables that need more than a column update (e.g. one credit account per
  customer); called as `await handler(session, actor=..., loser_id=..., survivor_id=...)`.
- ERASE_HANDLERS: what another domain keeps of the person and must drop on erasure; called as
  `await handler(session, actor=..., customer_id=..., needles=...)` before the customer row is
  blanked (`needles`: the person's name, e-mail, phone... as stored). A handler returns the
  audit-key subjects to destroy with the customer's (e.g. `order:12`), or None.
- TIMELINE: async providers `(session, customer_id, limit) -> list[TimelineItem]` merged newest first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

LINKS: list[tuple[str, str]] = []
MERGE_HANDLERS: list[Callable[..., Awaitable[None]]] = []
ERASE_HANDLERS: list[Callable[..., Awaitable[Iterable[str] | None]]] = []
TIMELINE: list[Callable[..., Awaitable[list[TimelineItem]]]] = []


@dataclass
class TimelineItem:
    at: datetime
    kind: str  # interaction | order | complaint | credit | audit | task
    title: str
    detail: str | None = None
    link: str | None = None
    due: datetime | None = None  # a follow-up's due time (UTC; pages show it in the reader's zone)


_plugins_loaded = False


def load_plugins() -> None:
    """Import `backroom.<domain>.hooks` of every domain, so each registers its own links and
    timeline providers without customers importing them. Idempotent."""
    global _plugins_loaded
    if not _plugins_loaded:
        from backroom.plugins import each_domain

        each_domain("hooks")
        _plugins_loaded = True


def register_link(table: str, column: str = "customer_id") -> None:
    """Rows of `table` move to the surviving customer on merge. Idempotent."""
    if (table, column) not in LINKS:
        LINKS.append((table, column))


def register_merge_handler(fn: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    if fn not in MERGE_HANDLERS:
        MERGE_HANDLERS.append(fn)
    return fn


def register_erase_handler(fn: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    if fn not in ERASE_HANDLERS:
        ERASE_HANDLERS.append(fn)
    return fn


def register_timeline(fn: Callable[..., Awaitable[list[TimelineItem]]]) -> Callable:
    if fn not in TIMELINE:
        TIMELINE.append(fn)
    return fn
