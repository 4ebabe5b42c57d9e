"""Issue 15 item 12: the shopper gets an e-mail when the order is confirmed (payment held), when
it ships (tracking number and the carrier's tracking page) and when money is refunded; each
once per event however often the status is recorded again, never for a lost dispute."""

from __future__ import annotations

from sqlalchemy import select, update

from backroom.audit.models import AuditEvent
from backroom.customers import service as customers
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.notifications.models import Notification
from backroom.orders.hooks import tracking_link
from backroom.orders.models import Order, Parcel
from tests.helpers import (
    browser_client,
    create_customer,
    create_user,
    make_app,
    make_shop,
    place,
    set_order_status,
    uniq,
)

_status = set_order_status


async def _mail(db, order):
    async with db.read_sessionmaker() as s:
        rows = await s.scalars(
            select(Notification)
            .where(Notification.dedupe_key.startswith(f"order-{order.id}:"))
            .order_by(Notification.id)
        )
        return [(n.kind, n.subject, n.body, n.to_address, n.link) for n in rows]


async def test_confirmation_shipment_and_refund_mails(db):
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, prices=(4000,))
    order = await place(db, a, [(p1.id, 2)])
    await _status(db, order, "payment_authorized")
    await _status(db, order, "payment_authorized")  # recorded again: no second mail
    async with db.sessionmaker.begin() as s:
        row = await s.get(Order, order.id)
        s.add(
            Parcel(
                order_id=order.id, branch_id=a.id, status="shipped", carrier="usps", tracking_number="9400111"
            )
        )
    await _status(db, order, "shipped")
    async with db.sessionmaker.begin() as s:
        row = await s.get(Order, order.id)
        row.captured_minor, row.refunded_minor = row.total_minor, 1500
    await _status(db, order, "partially_refunded", key=f"{order.id}-r1")
    await _status(db, order, "refunded", key=f"{order.id}-dispute:lost")  # the bank's doing, not ours

    mail = await _mail(db, order)
    assert [m[0] for m in mail] == ["order.confirmed", "order.shipped", "order.refunded"]
    assert all(m[3] == row.email and m[4] == f"/shop/orders/{row.token}" for m in mail)
    confirmed, shipped, refunded = (m[2] for m in mail)
    assert f"#{order.id}" in confirmed and "2 x" in confirmed and "80.00 USD" in confirmed
    assert (
        "USPS 9400111" in shipped
        and "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111" in shipped
    )
    assert "15.00 USD" in refunded and "whole order" not in refunded


def test_tracking_links_only_for_known_carriers():
    assert tracking_link("UPS", "1Z999") == "https://www.ups.com/track?tracknum=1Z999"
    assert tracking_link("shippo", "SHIPPO_TRANSIT") is None
    assert tracking_link("usps", None) is None


async def test_a_paid_storefront_order_joins_the_crm_customer_with_its_email(db):
    """Issue 15 item 12: the one active customer with the order's e-mail gets the order on their
    timeline once it is paid; an unknown e-mail makes a new customer (no marketing consent)."""
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, prices=(4000,))
        known = await create_customer(s, branch=a, email=f"{uniq('k')}@example.com")
    mine = await place(db, a, [(p1.id, 1)], email=known.email.upper())
    stranger = await place(db, a, [(p1.id, 1)], email=f"{uniq('new')}@example.com")
    for order in (mine, stranger):
        await _status(db, order, "payment_authorized")
        await _status(db, order, "payment_authorized")
    async with db.read_sessionmaker() as s:
        mine_row, stranger_row = await s.get(Order, mine.id), await s.get(Order, stranger.id)
        made = await s.get(Customer, stranger_row.customer_id)
        timeline = await customers.timeline(s, customer_id=known.id)
        attached = list(
            await s.scalars(
                select(AuditEvent.entity_id).where(
                    AuditEvent.action == "order.attach_customer",
                    AuditEvent.entity_id.in_([str(mine.id), str(stranger.id)]),
                )
            )
        )
    assert mine_row.customer_id == known.id
    assert made.email == stranger_row.email and made.name == stranger_row.ship_name and not made.consent_email
    assert any(item.link == f"/orders/{mine.id}" for item in timeline)
    assert sorted(attached) == sorted([str(mine.id), str(stranger.id)])  # once each


async def test_the_staff_mailbox_hides_the_shoppers_secret_link_when_mail_goes_out(db, settings):
    async with db.sessionmaker.begin() as s:
        a, _b, (p1,) = await make_shop(s, prices=(4000,))
        agent = await create_user(s, grants=[("agent", a.id)])
    order = await place(db, a, [(p1.id, 1)], email=f"{uniq('m')}@example.com")
    await _status(db, order, "payment_authorized")
    async with db.sessionmaker.begin() as s:
        token = (await s.get(Order, order.id)).token
        await s.execute(  # as the sender leaves it
            update(Notification)
            .where(Notification.dedupe_key.startswith(f"order-{order.id}:"))
            .values(status="sent", sent_at=utcnow())
        )
    c = await browser_client(make_app(db, settings), agent.username)
    settings.smtp_host = None  # make run: the mailbox is where mail is delivered, links work
    assert f"/shop/orders/{token}" in (await c.get("/mailbox")).text
    settings.smtp_host = "127.0.0.1"
    page = (await c.get("/mailbox")).text
    assert f"Order #{order.id} confirmed" in page and token not in page
