"""ShippoCarrier against the fake Shippo server: rates, one label per rate, outages, voids."""

from __future__ import annotations

import asyncio

import pytest

from backroom.shipping.carrier import (
    CarrierUnavailable,
    LabelNotFound,
    LabelPurchaseFailed,
    Rate,
    ShippingCarrier,
    ShippingError,
    VoidStatus,
    choose_rate,
)
from backroom.shipping.shippo_carrier import ShippoCarrier, to_minor


def test_shippo_carrier_satisfies_the_port(shippo_carrier: ShippoCarrier) -> None:
    assert isinstance(shippo_carrier, ShippingCarrier)


async def test_rates_are_in_minor_units_with_transit_days(
    shippo_carrier, fake_shippo, store, customer, small_box
) -> None:
    rates = await shippo_carrier.rates(store, customer, [small_box])

    by_token = {r.service_token: r for r in rates}
    assert set(by_token) == {
        "usps_ground_advantage",
        "usps_priority",
        "usps_priority_express",
        "ups_ground",
    }
    # The fake prices base + per started kg; 1.2 kg starts two kilos: 5.40 + 2 * 0.90 = 7.20.
    assert by_token["usps_ground_advantage"].amount_minor == 720
    assert by_token["usps_ground_advantage"].estimated_days == 5
    assert by_token["usps_priority"].currency == "USD"
    assert all(r.shipment_id and r.shipment.parcels == (small_box,) for r in rates)
    sent = next(iter(fake_shippo.shipments.values()))
    assert sent["parcels"][0]["mass_unit"] == "g" and sent["parcels"][0]["weight"] == "1200"
    assert sent["address_to"]["zip"] == "62565"


async def test_choose_rule_on_shippo_rates(shippo_carrier, store, customer, small_box) -> None:
    rates = await shippo_carrier.rates(store, customer, [small_box])

    chosen = choose_rate(rates, promised_days=3)

    # Ground (5 d) and UPS Ground (4 d) are cheaper but late; Priority (3 d) beats Express.
    assert (chosen.service_token, chosen.amount_minor) == ("usps_priority", 870 + 2 * 140)
    assert choose_rate(rates, promised_days=0).service_token == "usps_priority_express"


async def test_buying_twice_with_the_same_key_buys_one_label(
    shippo_carrier, fake_shippo, store, customer, small_box
) -> None:
    rate = choose_rate(await shippo_carrier.rates(store, customer, [small_box]), 3)

    first = await shippo_carrier.buy_label(rate, "order-9:label")
    second = await shippo_carrier.buy_label(rate, "order-9:label")

    assert len(fake_shippo.purchases) == 1
    assert second.label_id == first.label_id
    assert second.tracking_number == first.tracking_number != ""
    assert first.label_url.endswith(f"/labels/{first.label_id}.pdf")
    assert fake_shippo.purchases[0]["metadata"] == "backroom:order-9:label"
    assert fake_shippo.purchases[0]["label_file_type"] == "PDF_4x6"
    assert fake_shippo.purchases[0]["rate"] == rate.rate_id


async def test_concurrent_purchases_of_one_rate_buy_one_label(
    shippo_carrier, fake_shippo, store, customer, small_box
) -> None:
    rate = (await shippo_carrier.rates(store, customer, [small_box]))[0]

    labels = await asyncio.gather(*(shippo_carrier.buy_label(rate, "order-16:label") for _ in range(3)))

    assert {label.label_id for label in labels} == {fake_shippo.purchases[0]["object_id"]}
    assert len(fake_shippo.purchases) == 1


async def test_another_key_for_the_same_rate_still_buys_one_label(
    shippo_carrier, fake_shippo, store, customer, small_box
) -> None:
    rate = (await shippo_carrier.rates(store, customer, [small_box]))[0]

    first = await shippo_carrier.buy_label(rate, "attempt-1")
    second = await shippo_carrier.buy_label(rate, "attempt-2")

    assert second.label_id == first.label_id
    assert len(fake_shippo.purchases) == 1


async def test_a_lost_purchase_response_is_recovered_without_buying_again(
    shippo_carrier, fake_shippo, store, customer, small_box
) -> None:
    rate = (await shippo_carrier.rates(store, customer, [small_box]))[0]
    fake_shippo.fail_next(502, after_purchase=True)

    with pytest.raises(CarrierUnavailable):
        await shippo_carrier.buy_label(rate, "order-10:label")
    label = await shippo_carrier.buy_label(rate, "order-10:label")

    assert len(fake_shippo.purchases) == 1
    assert label.label_id == fake_shippo.purchases[0]["object_id"]


async def test_an_outage_before_purchase_is_retryable(
    shippo_carrier, fake_shippo, store, customer, small_box
) -> None:
    rate = (await shippo_carrier.rates(store, customer, [small_box]))[0]
    fake_shippo.fail_next(503)

    with pytest.raises(CarrierUnavailable) as caught:
        await shippo_carrier.buy_label(rate, "order-11:label")
    assert caught.value.retryable and fake_shippo.purchases == []

    await shippo_carrier.buy_label(rate, "order-11:label")
    assert len(fake_shippo.purchases) == 1


async def test_an_unknown_rate_is_a_business_failure(shippo_carrier, fake_shippo) -> None:
    stale = Rate(
        rate_id="rate_gone",
        provider="USPS",
        service="Priority Mail",
        service_token="usps_priority",
        amount_minor=1150,
        currency="USD",
        estimated_days=3,
    )

    with pytest.raises(LabelPurchaseFailed):
        await shippo_carrier.buy_label(stale, "order-12:label")
    assert fake_shippo.purchases == []


async def test_label_pdf_can_be_downloaded(fake_shippo, store, customer, small_box) -> None:
    carrier = ShippoCarrier(fake_shippo.api_key, server_url=fake_shippo.url, download_labels=True)
    rate = (await carrier.rates(store, customer, [small_box]))[0]

    label = await carrier.buy_label(rate, "order-13:label")

    assert label.label_pdf.startswith(b"%PDF")


async def test_void_refunds_once_and_reports_the_same_on_retry(
    shippo_carrier, fake_shippo, store, customer, small_box
) -> None:
    rate = (await shippo_carrier.rates(store, customer, [small_box]))[0]
    label = await shippo_carrier.buy_label(rate, "order-14:label")

    voided = await shippo_carrier.void_label(label.label_id)
    again = await shippo_carrier.void_label(label.label_id)

    assert voided.status is VoidStatus.VOIDED and voided.void_id
    assert again.status is VoidStatus.VOIDED
    assert len(fake_shippo.refunds) == 1
    with pytest.raises(LabelNotFound):
        await shippo_carrier.void_label("txn_missing")


async def test_a_voided_label_is_not_reused_by_a_new_purchase(
    shippo_carrier, fake_shippo, store, customer, small_box
) -> None:
    rate = (await shippo_carrier.rates(store, customer, [small_box]))[0]
    first = await shippo_carrier.buy_label(rate, "order-15:label")
    await shippo_carrier.void_label(first.label_id)

    second = await shippo_carrier.buy_label(rate, "order-15:relabel")

    assert second.label_id != first.label_id
    assert len(fake_shippo.purchases) == 2


async def test_a_wrong_api_key_is_not_mistaken_for_an_outage(fake_shippo, store, customer, small_box) -> None:
    carrier = ShippoCarrier("wrong", server_url=fake_shippo.url)

    with pytest.raises(ShippingError) as caught:
        await carrier.rates(store, customer, [small_box])
    assert not isinstance(caught.value, CarrierUnavailable)


def test_to_minor_respects_currency_exponents() -> None:
    assert to_minor("12.34", "usd") == 1234
    assert to_minor("1200", "JPY") == 1200
    assert to_minor("1.005", "KWD") == 1005
    with pytest.raises(ShippingError):
        to_minor("1.005", "USD")
