"""Fixtures: a fresh fake Shippo server per test, the local carrier, and sample addresses."""

from __future__ import annotations

import pytest

from backroom.shipping.carrier import Address, Parcel
from backroom.shipping.local_carrier import LocalCarrier
from backroom.shipping.shippo_carrier import ShippoCarrier
from tests.fakes.shippo_server import FakeShippo


@pytest.fixture
async def fake_shippo():
    async with FakeShippo() as fake:
        yield fake


@pytest.fixture
def shippo_carrier(fake_shippo: FakeShippo) -> ShippoCarrier:
    return ShippoCarrier(fake_shippo.api_key, server_url=fake_shippo.url, timeout=5.0, poll_interval=0.01)


@pytest.fixture
def local_carrier() -> LocalCarrier:
    return LocalCarrier()


@pytest.fixture
def store() -> Address:
    return Address(
        name="Backroom Store",
        street1="1 Main St",
        city="Springfield",
        state="IL",
        postal_code="62701",
        country="US",
    )


@pytest.fixture
def customer() -> Address:
    return Address(
        name="Jane Customer",
        street1="22 Elm Road",
        street2="Apt 4",
        city="Shelbyville",
        state="IL",
        postal_code="62565",
        country="US",
    )


@pytest.fixture
def small_box() -> Parcel:
    return Parcel(weight_grams=1200, length_mm=300, width_mm=200, height_mm=100)
