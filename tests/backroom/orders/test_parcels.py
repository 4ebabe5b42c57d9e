"""The parcel rules of backroom/orders/parcels.py: the state machine, the box, and the step writes."""

import pytest

from backroom.orders import parcels
from backroom.orders import service as orders
from backroom.orders.errors import OrderActionRefused
from backroom.orders.models import Parcel
from backroom.orders.parcels import ParcelStatus as P
from tests.commerce_support import ACTOR, make_shop, place


def test_each_status_is_reached_only_from_the_one_before():
    assert parcels.allowed_from("picked") == (P.PENDING,)
    assert parcels.allowed_from("packed") == (P.PICKED,)
    assert parcels.allowed_from("labelled") == (P.PACKED,)
    assert parcels.allowed_from("shipped") == (P.LABELLED,)
    assert parcels.allowed_from("delivered") == (P.SHIPPED,)
    # Undoing an order voids anything not yet shipped, never a parcel on its way.
    assert set(parcels.allowed_from("voided")) == {P.PENDING, P.PICKED, P.PACKED, P.LABELLED}
    with pytest.raises(OrderActionRefused):
        parcels.allowed_from("lost")


def test_light_parcels_ship_in_the_standard_box_billed_at_100_g():
    light = parcels.shipping_box(Parcel(weight_g=40))
    heavy = parcels.shipping_box(Parcel(weight_g=2_500))
    assert (light.weight_grams, light.length_mm, light.width_mm, light.height_mm) == (100, 300, 200, 150)
    assert heavy.weight_grams == 2_500


def test_only_a_bought_unused_label_is_voided_at_the_carrier():
    assert parcels.label_to_void(Parcel(label_id="lbl_1", status="labelled")) == "lbl_1"
    assert parcels.label_to_void(Parcel(label_id="lbl_1", status="shipped")) is None
    assert parcels.label_to_void(Parcel(label_id=None, status="packed")) is None


async def test_a_label_the_carrier_no_longer_knows_counts_as_voided():
    from backroom.shipping.errors import LabelNotFound
    from backroom.shipping.shippo_carrier import ShippoCarrier
    from tests.fakes.shippo_server import FakeShippo

    async with FakeShippo() as shippo:
        carrier = ShippoCarrier(shippo.api_key, shippo.url)
        with pytest.raises(LabelNotFound):  # what the carrier says ...
            await carrier.void_label("tx_unknown")
        await parcels.void_at_carrier(carrier, "tx_unknown")  # ... and what compensation makes of it
    assert not shippo.refunds


async def test_steps_in_order_record_once_and_shipping_takes_the_stock(sqlite_db):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((3, 0),))
    order = await place(db, a, [(p1.id, 2)])
    async with db.read_sessionmaker() as s:
        (parcel,) = await orders.parcels_of(s, order.id)
    async with db.sessionmaker.begin() as s:
        kw = {"actor": ACTOR, "order_id": order.id, "parcel_id": parcel.id}
        assert await parcels.record_step(s, step="packed", **kw) is None  # not picked yet
        assert (await parcels.record_step(s, step="picked", **kw)).status == "picked"
        assert await parcels.record_step(s, step="picked", **kw) is None  # a retry writes nothing
        with pytest.raises(OrderActionRefused):
            await parcels.record_step(s, step="labelled", **kw)  # labels come with a carrier label
    async with db.read_sessionmaker() as s:
        kinds = [e.kind for e in await orders.events_of(s, order.id)]
    assert kinds == ["placed", "parcel_picked"]
