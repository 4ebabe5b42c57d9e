"""Issue 14 item 8: every Shippo tracking status updates the parcel and the customer's order
page; RETURNED and FAILURE raise an exception alert for the warehouse; a parcel no carrier has
scanned PARCEL_SCAN_LATE_DAYS after its label raises one too. The label is bought from the Shippo
fake, which also builds the webhooks Shippo would send for it. Temporal is down here: the
tracking signals for the order's workflow wait in the outbox."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backroom.alerts import sweep
from backroom.alerts.models import ExceptionAlert
from backroom.db.base import utcnow
from backroom.orders import parcels
from backroom.orders.models import Order, Parcel
from backroom.shipping.shippo_carrier import ShippoCarrier
from backroom.starts.models import WorkflowSignal
from tests.fakes.shippo_server import FakeShippo
from tests.helpers import TEST_ACTOR, client_for, make_app, make_shop, place

SWEEP = TEST_ACTOR


async def _labelled_parcel(db, settings, shippo) -> Parcel:
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s)
    order = await place(db, a, [(p1.id, 1)])
    carrier = ShippoCarrier(shippo.api_key, shippo.url, poll_interval=0.01)
    async with db.read_sessionmaker() as s:
        parcel_id = await s.scalar(select(Parcel.id).where(Parcel.order_id == order.id))
        parcel, order, branch = await parcels.label_context(s, order_id=order.id, parcel_id=parcel_id)
    rates = await carrier.rates(
        parcels.ship_from(settings, branch), parcels.ship_to(order), [parcels.shipping_box(parcel)]
    )
    label = await carrier.buy_label(rates[0], parcels.label_key(parcel.id))
    async with db.sessionmaker.begin() as s:
        for step in ("picked", "packed"):
            await parcels.record_step(
                s, actor=TEST_ACTOR, order_id=order.id, parcel_id=parcel.id, step=step, user_name="w"
            )
        await parcels.record_label(
            s, actor=TEST_ACTOR, order_id=order.id, parcel_id=parcel.id, label=label, label_path=None
        )
    async with db.read_sessionmaker() as s:
        return await s.get(Parcel, parcel.id)


async def _alerts(db, parcel_id: int) -> dict[str, str]:
    async with db.read_sessionmaker() as s:
        rows = await s.scalars(
            select(ExceptionAlert).where(ExceptionAlert.key.startswith(f"parcel-{parcel_id}:"))
        )
        return {a.key.split(":", 1)[1]: a.status for a in rows}


async def _sweep(db, days_later: float) -> None:
    async with db.sessionmaker.begin() as s:
        await sweep.sweep(s, actor=SWEEP, now=utcnow() + timedelta(days=days_later), parcel_scan_late_days=3)


async def test_every_tracking_status_reaches_the_parcel_and_the_customer(sqlite_db, commerce_settings):
    db, settings = sqlite_db, commerce_settings
    settings.shippo_webhook_secret = "shippo-token"
    c = client_for(make_app(db, settings))
    hook = f"/api/v1/webhooks/shippo?token={settings.shippo_webhook_secret}"
    async with FakeShippo() as shippo:
        parcel = await _labelled_parcel(db, settings, shippo)
        tn = parcel.tracking_number
        async with db.read_sessionmaker() as s:
            token = (await s.get(Order, parcel.order_id)).token

        async def post(status: str) -> dict:
            answer = await c.post(hook, json=shippo.track_updated(tn, status))
            assert answer.status_code == 200, answer.text
            return answer.json()

        async def page() -> str:
            return (await c.get(f"/shop/orders/{token}")).text

        await _sweep(db, 1)
        assert await _alerts(db, parcel.id) == {}  # not late yet
        await post("PRE_TRANSIT")  # a label, not a scan: still late after three days
        assert "Label ready; waiting for the carrier" in await page()
        await _sweep(db, 4)
        assert await _alerts(db, parcel.id) == {"not-scanned": "open"}

        event = shippo.track_updated(tn, "TRANSIT")
        assert (await c.post(hook, json=event)).json()["signalled"] is True
        assert (await c.post(hook, json=event)).json()["duplicate"] is True  # Shippo sends twice
        assert "On its way (Memphis, TN, 38118, US)" in await page()
        await _sweep(db, 4)
        assert await _alerts(db, parcel.id) == {"not-scanned": "resolved"}  # scanned: cleared

        await post("UNKNOWN")
        assert "No news from the carrier yet" in await page()
        await post("FAILURE")
        assert "The carrier could not deliver it" in await page()
        assert (await _alerts(db, parcel.id))["tracking-exception"] == "open"
        await post("RETURNED")
        assert "On its way back to us" in await page()
        await post("DELIVERED")
        text = await page()
        assert 'data-tracking="DELIVERED"' in text and "Parcel " + tn + ": Delivered" in text

    async with db.read_sessionmaker() as s:
        row = await s.get(Parcel, parcel.id)
        told = [
            w.args["status"]
            for w in await s.scalars(
                select(WorkflowSignal).where(WorkflowSignal.signal == "tracking").order_by(WorkflowSignal.id)
            )
            if w.args["tracking_number"] == tn
        ]
    assert row.tracking_status == "DELIVERED" and row.scanned_at is not None
    assert told == ["pre_transit", "transit", "unknown", "failure", "returned", "delivered"]
