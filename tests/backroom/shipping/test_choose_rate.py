"""The rate rule: cheapest that keeps the delivery promise, otherwise the fastest."""

from __future__ import annotations

import pytest

from backroom.shipping.carrier import NoRatesAvailable, Rate, ShippingError, choose_rate


def rate(rate_id: str, amount_minor: int, days: int | None, currency: str = "USD") -> Rate:
    return Rate(
        rate_id=rate_id,
        provider="P",
        service=rate_id,
        service_token=rate_id,
        amount_minor=amount_minor,
        currency=currency,
        estimated_days=days,
    )


def test_picks_the_cheapest_rate_within_the_promise() -> None:
    rates = [
        rate("slow-cheap", 500, 6),
        rate("mid", 900, 3),
        rate("fast", 2500, 1),
        rate("ok", 1100, 2),
    ]

    assert choose_rate(rates, promised_days=3).rate_id == "mid"


def test_equal_prices_go_to_the_faster_service() -> None:
    rates = [rate("three-days", 900, 3), rate("two-days", 900, 2)]

    assert choose_rate(rates, promised_days=3).rate_id == "two-days"


def test_falls_back_to_the_fastest_when_nothing_keeps_the_promise() -> None:
    rates = [rate("ground", 500, 5), rate("unknown", 100, None), rate("express", 2000, 2)]

    assert choose_rate(rates, promised_days=1).rate_id == "express"


def test_unknown_transit_time_never_counts_as_in_time() -> None:
    rates = [rate("unknown", 100, None), rate("known", 800, 2)]

    assert choose_rate(rates, promised_days=5).rate_id == "known"


def test_no_rates_and_mixed_currencies_are_errors() -> None:
    with pytest.raises(NoRatesAvailable):
        choose_rate([], promised_days=3)
    with pytest.raises(ShippingError):
        choose_rate([rate("a", 100, 1, "USD"), rate("b", 90, 1, "EUR")], promised_days=3)
