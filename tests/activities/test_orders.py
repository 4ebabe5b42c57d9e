"""OrderActivities against localstripe and the local carrier: every step run twice writes once."""

import pytest

from activities.deps import Deps
from activities.orders import OrderActivities
from backroom.orders import service as orders
from backroom.orders.errors import OrderActionRefused
from backroom.orders.flow import AuthorizeAsk, CaptureAsk, LabelAsk, ParcelStep, StatusChange
from tests.helpers import adapters, make_shop, place


@pytest.fixture
async def shop_order(sqlite_db):
    async with sqlite_db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, stock=((3, 0),))
    order = await place(sqlite_db, a, [(p1.id, 1)])
    async with sqlite_db.read_sessionmaker() as s:
        (parcel,) = await orders.parcels_of(s, order.id)
    return order, parcel


def _acts(db, settings) -> OrderActivities:
    return OrderActivities(Deps(settings=settings, sessionmaker=db.sessionmaker, extra=adapters(settings)))


async def _timeline(db, order_id):
    async with db.read_sessionmaker() as s:
        return [e.kind for e in await orders.events_of(s, order_id)]


async def test_authorize_and_capture_twice_move_money_once(act_env, sqlite_db, commerce_settings, shop_order):
    order, _parcel = shop_order
    acts = _acts(sqlite_db, commerce_settings)
    # Each records its status in its own transaction (as the order workflow asks), once.
    authorized = StatusChange(
        order_id=order.id, status="payment_authorized", message="Payment authorized.", key="st:authorized"
    )
    ref = AuthorizeAsk(order_id=order.id, then_status=authorized)
    first = await act_env.run(acts.authorize_payment, ref)
    again = await act_env.run(acts.authorize_payment, ref)
    assert first.status == "authorized" and again.intent_id == first.intent_id
    shipped = StatusChange(order_id=order.id, status="shipped", message="Shipped.", key="st:shipped")
    capture = CaptureAsk(order_id=order.id, key=f"{act_env.info.workflow_id}:capture", then_status=shipped)
    assert (await act_env.run(acts.capture_payment, capture)).captured_minor == order.total_minor
    assert (await act_env.run(acts.capture_payment, capture)).captured_minor == order.total_minor
    async with sqlite_db.read_sessionmaker() as s:
        ledger = [(e.kind, e.status, e.amount_minor) for e in await orders.payments_of(s, order.id)]
    assert ledger == [
        ("authorization", "authorized", order.total_minor),
        ("capture", "succeeded", order.total_minor),
    ]
    timeline = await _timeline(sqlite_db, order.id)
    assert timeline.count("payment_authorized") == 1 and timeline.count("shipped") == 1


async def test_parcel_steps_and_label_twice_record_once(act_env, sqlite_db, commerce_settings, shop_order):
    order, parcel = shop_order
    acts = _acts(sqlite_db, commerce_settings)
    for step in ("picked", "picked", "packed", "packed"):
        await act_env.run(acts.parcel_step, ParcelStep(order_id=order.id, parcel_id=parcel.id, step=step))
    ask = LabelAsk(order_id=order.id, parcel_id=parcel.id)
    ask.rate = await act_env.run(acts.quote_label, ask)
    first = await act_env.run(acts.purchase_label, ask)
    again = await act_env.run(acts.purchase_label, ask)
    assert again == first and first.tracking_number
    assert await _timeline(sqlite_db, order.id) == [
        "placed",
        "parcel_picked",
        "parcel_packed",
        "label_purchased",
    ]
    async with sqlite_db.read_sessionmaker() as s:
        (stored,) = await orders.parcels_of(s, order.id)
    assert (stored.status, stored.label_id, stored.label_key) == (
        "labelled",
        first.label_id,
        f"parcel-{parcel.id}:label",
    )
    # Voiding (compensation) twice: one void, one timeline entry.
    void = ParcelStep(order_id=order.id, parcel_id=parcel.id, step="voided")
    await act_env.run(acts.void_label, void)
    await act_env.run(acts.void_label, void)
    assert (await _timeline(sqlite_db, order.id)).count("label_voided") == 1


async def test_a_step_out_of_order_is_refused(act_env, sqlite_db, commerce_settings, shop_order):
    order, parcel = shop_order
    acts = _acts(sqlite_db, commerce_settings)
    with pytest.raises(OrderActionRefused):
        await act_env.run(acts.parcel_step, ParcelStep(order_id=order.id, parcel_id=parcel.id, step="voided"))
    # Shipping a parcel that was never labelled is not an error but a no-op (the workflow checks first).
    await act_env.run(acts.parcel_step, ParcelStep(order_id=order.id, parcel_id=parcel.id, step="shipped"))
    assert await _timeline(sqlite_db, order.id) == ["placed"]
