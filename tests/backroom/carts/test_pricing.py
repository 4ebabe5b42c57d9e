from hypothesis import given
from hypothesis import strategies as st

from backroom.carts.pricing import DiscountLine, PriceLine, ShippingRule, price


def line(pid, qty, unit, tax=800, weight=500):
    return PriceLine(
        product_id=pid,
        sku=f"S{pid}",
        name=f"P{pid}",
        qty=qty,
        unit_price_minor=unit,
        tax_rate_bp=tax,
        weight_g=weight,
    )


def test_totals_with_discount_tax_and_shipping():
    t = price(
        [line(1, 2, 1000), line(2, 1, 500, tax=0)],
        currency="USD",
        discounts=[DiscountLine(code="TEN", percent_bp=1000)],
        shipping=ShippingRule(free_over_minor=0),
    )
    assert t.subtotal_minor == 2500 and t.discount_minor == 250
    assert [ln.discount_minor for ln in t.lines] == [200, 50]
    assert t.tax_minor == 144  # 8 % of 1800; the second line is untaxed
    assert t.shipping_minor == 599 + 150  # base + 1.5 kg
    assert t.total_minor == 2500 - 250 + 144 + 749


def test_free_shipping_over_threshold_and_empty_cart():
    assert price([line(1, 1, 20000)], currency="USD").shipping_minor == 0
    assert price([], currency="USD").total_minor == 0


@given(
    st.lists(st.tuples(st.integers(1, 20), st.integers(0, 100000)), min_size=1, max_size=6),
    st.integers(0, 10000),
    st.integers(0, 200000),
)
def test_discounts_never_exceed_subtotal_and_spread_exactly(items, bp, fixed):
    lines = [line(i + 1, q, u) for i, (q, u) in enumerate(items)]
    t = price(lines, currency="USD", discounts=[DiscountLine(code="X", percent_bp=bp, amount_minor=fixed)])
    assert 0 <= t.discount_minor <= t.subtotal_minor
    assert sum(ln.discount_minor for ln in t.lines) == t.discount_minor
    assert t.total_minor == t.subtotal_minor - t.discount_minor + t.tax_minor + t.shipping_minor
