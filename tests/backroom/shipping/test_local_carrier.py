"""The embedded carrier: table rates, deterministic tracking numbers, real 4x6 inch PDF labels."""

from __future__ import annotations

import io

import pypdf
import pytest

from backroom.shipping import code128
from backroom.shipping.carrier import (
    Label,
    LabelPurchaseFailed,
    NoRatesAvailable,
    Parcel,
    Rate,
    Shipment,
    ShippingCarrier,
    VoidStatus,
    choose_rate,
)
from backroom.shipping.label_pdf import render_label_pdf
from backroom.shipping.local_carrier import LocalCarrier, _luhn_digit


def test_local_carrier_satisfies_the_port(local_carrier: LocalCarrier) -> None:
    assert isinstance(local_carrier, ShippingCarrier)


async def test_rates_come_from_the_weight_band(local_carrier, store, customer, small_box) -> None:
    rates = await local_carrier.rates(store, customer, [small_box])

    by_service = {r.service_token: r for r in rates}
    assert by_service["local_ground"].amount_minor == 895  # 1.2 kg falls in the 1-5 kg band
    assert by_service["local_express"].amount_minor == 2195
    assert {r.estimated_days for r in rates} == {5, 2}
    assert {r.currency for r in rates} == {"USD"}
    again = await local_carrier.rates(store, customer, [small_box])
    assert [r.rate_id for r in again] == [r.rate_id for r in rates]


async def test_several_parcels_are_priced_each_and_summed(local_carrier, store, customer) -> None:
    light = Parcel(weight_grams=800, length_mm=200, width_mm=150, height_mm=50)
    heavy = Parcel(weight_grams=12_000, length_mm=600, width_mm=400, height_mm=400)

    rates = await local_carrier.rates(store, customer, [light, heavy])

    ground = next(r for r in rates if r.service_token == "local_ground")
    assert ground.amount_minor == 595 + 1495


async def test_heavy_parcels_limit_the_services(local_carrier, store, customer) -> None:
    over_20kg = Parcel(weight_grams=25_000, length_mm=800, width_mm=600, height_mm=500)
    over_30kg = Parcel(weight_grams=31_000, length_mm=800, width_mm=600, height_mm=500)

    rates = await local_carrier.rates(store, customer, [over_20kg])

    assert [r.service_token for r in rates] == ["local_ground"]
    with pytest.raises(NoRatesAvailable):
        await local_carrier.rates(store, customer, [over_30kg])


async def test_label_is_a_4x6_inch_pdf_and_a_retry_returns_the_same_label(
    local_carrier, store, customer, small_box
) -> None:
    rate = choose_rate(await local_carrier.rates(store, customer, [small_box]), promised_days=3)

    label = await local_carrier.buy_label(rate, "order-42:label")
    retry = await local_carrier.buy_label(rate, "order-42:label")

    assert label.label_pdf.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(label.label_pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == (288.0, 432.0)  # 4 x 6 in at 72 pt/in
    text = reader.pages[0].extract_text()
    for expected in (
        label.tracking_number,
        "Jane Customer",
        "Shelbyville",
        "Backroom Store",
        "EXPRESS",
        "1.20 kg",
    ):
        assert expected in text
    assert (retry.tracking_number, retry.label_id) == (label.tracking_number, label.label_id)
    assert (label.service, label.amount_minor) == ("Express", 2195)


def test_tracking_numbers_are_stable_per_key_and_check_digit_valid(local_carrier) -> None:
    first = local_carrier.tracking_number("order-7:label")

    assert local_carrier.tracking_number("order-7:label") == first
    assert LocalCarrier().tracking_number("order-7:label") == first  # another worker, same answer
    assert local_carrier.tracking_number("order-8:label") != first
    assert first.startswith("BR") and len(first) == 17 and first[2:].isdigit()
    assert _luhn_digit(first[2:-1]) == int(first[-1])


def test_luhn_digit_matches_a_known_value() -> None:
    # The classic Luhn example: 7992739871 takes check digit 3.
    assert _luhn_digit("7992739871") == 3


async def test_rates_from_elsewhere_cannot_be_bought_here(local_carrier) -> None:
    foreign = Rate(
        rate_id="rate_000001fake",
        provider="USPS",
        service="Priority",
        service_token="usps_priority",
        amount_minor=1150,
        currency="USD",
        estimated_days=3,
    )

    with pytest.raises(LabelPurchaseFailed):
        await local_carrier.buy_label(foreign, "k")


async def test_void_is_accepted_for_local_labels_only(local_carrier) -> None:
    assert (await local_carrier.void_label("llbl_abc")).status is VoidStatus.VOIDED
    assert (await local_carrier.void_label("txn_123")).status is VoidStatus.REJECTED


def test_label_with_pdf_survives_a_json_round_trip() -> None:
    label = Label(
        label_id="llbl_1",
        tracking_number="BR1",
        carrier="c",
        service="Ground",
        rate_id="r",
        amount_minor=595,
        currency="USD",
        label_pdf=b"%PDF-\x00\xff binary",
        created_at="2026-01-01T00:00:00Z",
    )

    assert Label.model_validate_json(label.model_dump_json()) == label


def _label_text_and_boxes(pdf: bytes) -> tuple[str, int]:
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    ops = pypdf.generic.ContentStream(page.get_contents(), page.pdf).operations
    return page.extract_text(), sum(1 for _operands, op in ops if op == b"re")


def test_the_label_carries_every_field_and_the_tracking_number_as_code_128(
    store, customer, small_box
) -> None:
    shipment = Shipment(from_address=store, to_address=customer, parcels=(small_box, small_box))

    pdf = render_label_pdf(
        shipment=shipment,
        tracking_number="BR123456789012345",
        service="Ground",
        estimated_days=5,
        provider="Backroom local delivery",
        reference="#1000000042",
    )

    text, boxes = _label_text_and_boxes(pdf)
    for expected in (
        "FROM",
        "Backroom Store",
        "62701 Springfield IL",
        "GROUND",
        "5 days",
        "SHIP TO",
        "Jane Customer",
        "22 Elm Road",
        "Apt 4",
        "62565 Shelbyville IL",
        "2.40 kg",
        "Parcels: 2",
        "#1000000042",
        "BR123456789012345",
        "Backroom local delivery",
    ):
        assert expected in text, expected
    bars = len([run for run in code128.modules("BR123456789012345").split("0") if run])
    assert boxes == bars + 1  # one filled rectangle per bar, and the label's frame


def _abroad_label_text(store, customer, small_box) -> str:
    abroad = customer.model_copy(update={"name": "Łukasz Żółć", "city": "Kraków"})
    pdf = render_label_pdf(
        shipment=Shipment(from_address=store, to_address=abroad, parcels=(small_box,)),
        tracking_number="BR123456789012345",
        service="Express",
        estimated_days=2,
        provider="Backroom local delivery",
    )
    return _label_text_and_boxes(pdf)[0]


def test_a_name_outside_windows_1252_prints_as_written(store, customer, small_box) -> None:
    text = _abroad_label_text(store, customer, small_box)
    assert "Łukasz Żółć" in text and "Kraków" in text and "BR123456789012345" in text


def test_without_dejavu_such_a_name_prints_in_base_letters(store, customer, small_box, monkeypatch) -> None:
    """A machine without the DejaVu fonts still labels the parcel: letters the standard fonts
    lack print as their base letter ("?" where there is none), the rest as written."""
    from backroom.shipping import label_pdf

    monkeypatch.setattr(label_pdf, "_unicode_font_files", lambda: None)
    text = _abroad_label_text(store, customer, small_box)
    assert "?ukasz Zó?c" in text and "Kraków" in text and "BR123456789012345" in text
    assert label_pdf.core_text("Łódź Ærø") == "?ódz Ærø"
