"""The one pricing function: cart page, checkout and order all total a basket through `price()`.
Pure (no I/O), so workflows may call it too.

Discounts come as a list of `DiscountLine`s from any number of sources (coupons today, loyalty
points next): each is applied in list order to what is left of the lines it targets, so a
later source never discounts money an earlier one already took off. Which lines a source
offers, and in what order, is the sources' business (backroom/carts/discounts.py collects them);
the arithmetic is here, once."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PriceLine(BaseModel):
    product_id: int
    sku: str
    name: str
    qty: int = Field(ge=1)
    unit_price_minor: int = Field(ge=0)
    tax_rate_bp: int = Field(default=0, ge=0, le=10000)
    weight_g: int = Field(default=0, ge=0)


class DiscountLine(BaseModel):
    """One discount from one source. Off the lines it targets (all lines, or `product_ids`):
    a fixed amount, basis points, and/or `get_qty` free units of every `buy_qty + get_qty`
    (the cheapest units go free). `free_shipping` waives shipping. `cap_minor` limits what it
    may take off (e.g. a campaign's budget left). Never pushes a line below zero."""

    code: str
    source: str = "coupon"  # coupon | loyalty | ...
    label: str = ""
    amount_minor: int = Field(default=0, ge=0)
    percent_bp: int = Field(default=0, ge=0, le=10000)
    product_ids: list[int] | None = None  # None: the whole order
    buy_qty: int = Field(default=0, ge=0)
    get_qty: int = Field(default=0, ge=0)
    free_shipping: bool = False
    cap_minor: int | None = Field(default=None, ge=0)


class AppliedDiscount(BaseModel):
    """What one DiscountLine actually took off: from the items, and from shipping."""

    code: str
    source: str = "coupon"
    label: str = ""
    amount_minor: int = 0
    shipping_minor: int = 0


class ShippingRule(BaseModel):
    """Flat rate plus a per-kg charge, free above a threshold (0 = never free)."""

    base_minor: int = 599
    per_kg_minor: int = 100
    free_over_minor: int = 10000


class PricedLine(PriceLine):
    line_total_minor: int
    discount_minor: int
    tax_minor: int


class Totals(BaseModel):
    currency: str
    lines: list[PricedLine]
    item_count: int
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    shipping_minor: int
    total_minor: int
    weight_g: int
    discounts: list[AppliedDiscount] = []


def _round_div(n: int, d: int) -> int:
    """n / d rounded half up, in integers (money never touches float)."""
    return (2 * n + d) // (2 * d)


def _spread(amount: int, bases: list[int]) -> list[int]:
    """Split `amount` over lines in proportion to `bases`; the last line takes the rounding
    rest; no share exceeds its base."""
    total = sum(bases)
    shares, left = [], amount
    for i, base in enumerate(bases):
        share = left if i == len(bases) - 1 else (_round_div(amount * base, total) if total else 0)
        share = min(share, left, base)
        shares.append(share)
        left -= share
    return shares


def _free_units_value(lines: list[PriceLine], idx: list[int], buy: int, get: int) -> int:
    """Buy `buy` get `get`: of the targeted units, the cheapest `get` of every `buy + get` go free."""
    if not get:
        return 0
    units = sorted((lines[i].unit_price_minor for i in idx for _ in range(lines[i].qty)), reverse=True)
    free = (len(units) // (buy + get)) * get
    return sum(units[-free:]) if free else 0


def _discount_amount(d: DiscountLine, lines: list[PriceLine], idx: list[int], left: list[int]) -> int:
    base = sum(left[i] for i in idx)
    amount = d.amount_minor + _round_div(base * d.percent_bp, 10000)
    amount += _free_units_value(lines, idx, d.buy_qty, d.get_qty)
    if d.cap_minor is not None:
        amount = min(amount, d.cap_minor)
    return min(amount, base)


def price(
    lines: list[PriceLine],
    *,
    currency: str,
    discounts: list[DiscountLine] = (),
    shipping: ShippingRule | None = None,
) -> Totals:
    """Total a basket: line totals, each discount spread pro rata over the lines it targets,
    tax per line on the discounted amount, shipping by weight (free above the threshold, or
    waived by a discount), grand total."""
    shipping = shipping or ShippingRule()
    line_totals = [ln.qty * ln.unit_price_minor for ln in lines]
    subtotal = sum(line_totals)
    left = list(line_totals)  # what each line still costs after the discounts so far
    applied: list[AppliedDiscount] = []
    for d in discounts:
        wanted = None if d.product_ids is None else set(d.product_ids)
        idx = [i for i, ln in enumerate(lines) if wanted is None or ln.product_id in wanted]
        amount = _discount_amount(d, lines, idx, left)
        for i, share in zip(idx, _spread(amount, [left[i] for i in idx]), strict=True):
            left[i] -= share
        applied.append(AppliedDiscount(code=d.code, source=d.source, label=d.label, amount_minor=amount))
    discount = subtotal - sum(left)
    priced = []
    for ln, total, rest in zip(lines, line_totals, left, strict=True):
        tax = _round_div(rest * ln.tax_rate_bp, 10000)
        priced.append(
            PricedLine(**ln.model_dump(), line_total_minor=total, discount_minor=total - rest, tax_minor=tax)
        )
    weight = sum(ln.qty * ln.weight_g for ln in lines)
    if not lines or (shipping.free_over_minor and subtotal - discount >= shipping.free_over_minor):
        ship = 0
    else:
        ship = shipping.base_minor + _round_div(weight * shipping.per_kg_minor, 1000)
    waiver = next((a for a, d in zip(applied, discounts, strict=True) if d.free_shipping), None)
    if waiver is not None and ship:
        waiver.shipping_minor, ship = ship, 0
    tax = sum(p.tax_minor for p in priced)
    return Totals(
        currency=currency,
        lines=priced,
        item_count=sum(ln.qty for ln in lines),
        subtotal_minor=subtotal,
        discount_minor=discount,
        tax_minor=tax,
        shipping_minor=ship,
        total_minor=subtotal - discount + tax + ship,
        weight_g=weight,
        discounts=applied,
    )
