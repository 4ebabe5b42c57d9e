"""Discount sources: how a basket gets its `DiscountLine`s without carts or orders knowing
coupons, loyalty points or whatever comes next.

A domain registers a source from its own hooks.py:

    @discount_source("coupons", order=10)
    async def _coupons(session, basket: Basket) -> Offer: ...

`collect` asks every source in `order`, hands each the lines earlier sources already took
(so a source can refuse to stack), and returns the lines for `price()` plus, per code, the
reason a code the customer typed does not apply (shown on the cart)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.carts.pricing import DiscountLine, PriceLine
from backroom.carts.schemas import normalize_code


@dataclass(frozen=True)
class Basket:
    """What is being priced, and for whom. `codes` are the codes the customer entered
    (upper-cased); `channel` is "storefront" or "staff"."""

    branch_id: int
    currency: str
    lines: list[PriceLine]
    codes: tuple[str, ...] = ()
    customer_id: int | None = None
    email: str | None = None
    channel: str = "storefront"


@dataclass
class Offer:
    lines: list[DiscountLine] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # code -> why it does not apply


Source = Callable[[AsyncSession, Basket, list[DiscountLine]], Awaitable[Offer]]
_SOURCES: list[tuple[int, str, Source]] = []
_loaded = False


def discount_source(name: str, *, order: int = 100) -> Callable[[Source], Source]:
    """Register a discount source; lower `order` applies first. Idempotent by name."""

    def register(fn: Source) -> Source:
        if all(n != name for _, n, _ in _SOURCES):
            _SOURCES.append((order, name, fn))
            _SOURCES.sort(key=lambda s: (s[0], s[1]))
        return fn

    return register


def _load() -> None:
    global _loaded
    if not _loaded:
        from backroom.plugins import each_domain

        each_domain("hooks")
        _loaded = True


async def collect(session: AsyncSession, basket: Basket) -> Offer:
    """Every source's discount lines for the basket, in source order. Read-only."""
    _load()
    basket = replace(basket, codes=tuple(dict.fromkeys(normalize_code(c) for c in basket.codes)))
    out = Offer()
    for _, _, fn in _SOURCES:
        offer = await fn(session, basket, list(out.lines))
        out.lines.extend(offer.lines)
        out.refused.update(offer.refused)
    for d in out.lines:  # a code one source does not know may be another's (POINTS: loyalty)
        out.refused.pop(d.code, None)
    for code in basket.codes:
        if code not in out.refused and all(d.code != code for d in out.lines):
            out.refused[code] = f"The code {code} does not exist."
    return out
