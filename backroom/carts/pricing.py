"""The one pricing function: cart page, checkout and order all total a basket through `price()`.
Pure (no I/O), so workflows may call it too."""

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
    """Coupon hook: coupons (another issue) turn a code into one of these. Either a fixed amount
    or basis points off the subtotal; discounts never push the subtotal below zero."""

    code: str
    amount_minor: int = Field(default=0, ge=0)
    percent_bp: int = Field(default=0, ge=0, le=10000)


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


def _round_div(n: int, d: int) -> int:
    """n / d rounded half up, in integers (money never touches float)."""
    return (2 * n + d) // (2 * d)


def price(
    lines: list[PriceLine],
    *,
    currency: str,
    discounts: list[DiscountLine] = (),
    shipping: ShippingRule | None = None,
) -> Totals:
    """Total a basket: line totals, discounts spread over lines pro rata, tax per line on the
    discounted amount, shipping by weight (free above the threshold), grand total."""
    shipping = shipping or ShippingRule()
    line_totals = [ln.qty * ln.unit_price_minor for ln in lines]
    subtotal = sum(line_totals)
    discount = 0
    for d in discounts:
        discount += d.amount_minor + _round_div(subtotal * d.percent_bp, 10000)
    discount = min(discount, subtotal)
    # Spread the discount over lines in proportion; the last line takes the rounding rest.
    shares, left = [], discount
    for i, total in enumerate(line_totals):
        share = (
            left if i == len(line_totals) - 1 else (_round_div(discount * total, subtotal) if subtotal else 0)
        )
        share = min(share, left, total)
        shares.append(share)
        left -= share
    priced = []
    for ln, total, share in zip(lines, line_totals, shares, strict=False):
        tax = _round_div((total - share) * ln.tax_rate_bp, 10000)
        priced.append(
            PricedLine(**ln.model_dump(), line_total_minor=total, discount_minor=share, tax_minor=tax)
        )
    weight = sum(ln.qty * ln.weight_g for ln in lines)
    if not lines or (shipping.free_over_minor and subtotal - discount >= shipping.free_over_minor):
        ship = 0
    else:
        ship = shipping.base_minor + _round_div(weight * shipping.per_kg_minor, 1000)
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
    )
