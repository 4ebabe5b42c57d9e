"""Plain helpers that write report records directly (times chosen by the test)."""

from __future__ import annotations

from datetime import datetime, timedelta

from backroom.carts.models import Cart, CartLine
from backroom.catalog.models import Product
from backroom.complaints.models import Complaint, ComplaintEvent
from backroom.credit.models import CreditAccount, CreditEntry, CreditHold
from backroom.crm.models import FollowUpTask, Interaction
from backroom.customers.models import Customer
from backroom.orders.models import Order, OrderLine, Parcel, PaymentEntry
from tests.helpers import uniq


async def product(session, *, category: str, price_minor: int = 1000, currency: str = "USD") -> Product:
    p = Product(
        sku=uniq("SKU"),
        name=f"{category} thing",
        category=category,
        price_minor=price_minor,
        currency=currency,
    )
    session.add(p)
    await session.flush()
    return p


async def customer(session, *, branch, at: datetime | None = None, **kw) -> Customer:
    c = Customer(
        name=kw.pop("name", uniq("Customer ")),
        home_branch_id=branch.id,
        currency=kw.pop("currency", branch.currency),
        **({"created_at": at, "updated_at": at} if at else {}),
        **kw,
    )
    session.add(c)
    await session.flush()
    return c


async def order(
    session, *, branch, at: datetime, lines: list[tuple[Product, int]], currency: str = "USD", **kw
) -> Order:
    total = sum(p.price_minor * q for p, q in lines)
    o = Order(
        token=uniq("t"),
        idempotency_key=uniq("k"),
        request_hash="x",
        email="buyer@example.com",
        ship_name=kw.pop("ship_name", "Pat Buyer"),
        ship_line1="1 Main St",
        ship_city="Springfield",
        ship_postcode="12345",
        ship_country="US",
        currency=currency,
        subtotal_minor=total,
        total_minor=total,
        payment_method="pm_card_visa",
        placed_at=at,
        branch_id=branch.id,
        created_at=at,
        updated_at=at,
        **kw,
    )
    session.add(o)
    await session.flush()
    for p, q in lines:
        session.add(
            OrderLine(
                order_id=o.id,
                product_id=p.id,
                sku=p.sku,
                name=p.name,
                qty=q,
                unit_price_minor=p.price_minor,
                line_total_minor=p.price_minor * q,
                fulfil_branch_id=branch.id,
            )
        )
    await session.flush()
    return o


async def payment(
    session, *, order: Order, kind: str, status: str, at: datetime, amount_minor: int = 0, **kw
):
    e = PaymentEntry(
        order_id=order.id,
        branch_id=order.branch_id,
        kind=kind,
        status=status,
        amount_minor=amount_minor,
        currency=order.currency,
        idempotency_key=uniq("pay"),
        created_at=at,
        updated_at=at,
        **kw,
    )
    session.add(e)
    await session.flush()
    return e


async def parcel(
    session, *, order: Order, at: datetime, status: str = "labelled", rate_minor: int = 700, **kw
):
    p = Parcel(
        order_id=order.id,
        branch_id=order.branch_id,
        status=status,
        carrier="usps",
        service="Ground",
        rate_minor=rate_minor,
        rate_currency=order.currency,
        label_id=uniq("lbl"),
        tracking_number=uniq("TRK"),
        **{"labelled_at": at, **kw},
        created_at=at,
        updated_at=at,
    )
    session.add(p)
    await session.flush()
    return p


async def cart(
    session, *, branch, at: datetime, status: str, total_minor: int, lines=(), currency="USD", **kw
):
    c = Cart(
        branch_id=branch.id,
        status=status,
        currency=currency,
        item_count=sum(q for _, q in lines),
        total_minor=total_minor,
        subtotal_minor=total_minor,
        last_activity_at=at,
        created_at=at,
        updated_at=at,
        **kw,
    )
    session.add(c)
    await session.flush()
    for p, q in lines:
        session.add(
            CartLine(
                cart_id=c.id,
                product_id=p.id,
                sku=p.sku,
                name=p.name,
                qty=q,
                unit_price_minor=p.price_minor,
                line_total_minor=p.price_minor * q,
            )
        )
    await session.flush()
    return c


async def complaint(session, *, branch, customer: Customer, at: datetime, **kw) -> Complaint:
    c = Complaint(
        customer_id=customer.id,
        branch_id=branch.id,
        channel="phone",
        category=kw.pop("category", "delivery"),
        severity=kw.pop("severity", "medium"),
        description="It broke",
        first_response_minutes=240,
        resolution_minutes=2880,
        first_response_due_at=at + timedelta(hours=4),
        resolution_due_at=at + timedelta(days=2),
        created_at=at,
        updated_at=at,
        **kw,
    )
    session.add(c)
    await session.flush()
    return c


async def complaint_event(session, *, complaint: Complaint, kind: str, at: datetime) -> ComplaintEvent:
    ev = ComplaintEvent(complaint_id=complaint.id, kind=kind, at=at)
    session.add(ev)
    await session.flush()
    return ev


async def credit_account(session, *, branch, customer: Customer) -> CreditAccount:
    a = CreditAccount(customer_id=customer.id, currency=customer.currency, branch_id=branch.id)
    session.add(a)
    await session.flush()
    return a


async def credit_entry(
    session,
    *,
    account: CreditAccount,
    kind: str,
    amount_minor: int,
    at: datetime,
    due_at: datetime | None = None,
) -> CreditEntry:
    account.balance_minor += amount_minor
    e = CreditEntry(
        account_id=account.id,
        customer_id=account.customer_id,
        branch_id=account.branch_id,
        kind=kind,
        amount_minor=amount_minor,
        currency=account.currency,
        balance_after_minor=account.balance_minor,
        reference=uniq("ref"),
        occurred_at=at,
        due_at=due_at,
    )
    session.add(e)
    await session.flush()
    return e


async def credit_hold(session, *, account: CreditAccount, amount_minor: int, at: datetime) -> CreditHold:
    h = CreditHold(
        account_id=account.id,
        customer_id=account.customer_id,
        branch_id=account.branch_id,
        amount_minor=amount_minor,
        currency=account.currency,
        reference=uniq("hold"),
        created_at=at,
        updated_at=at,
    )
    session.add(h)
    await session.flush()
    return h


async def interaction(session, *, branch, customer: Customer, at: datetime, channel: str = "call", **kw):
    i = Interaction(
        customer_id=customer.id,
        branch_id=branch.id,
        channel=channel,
        direction="inbound",
        occurred_at=at,
        **kw,
    )
    session.add(i)
    await session.flush()
    return i


async def followup(session, *, branch, customer: Customer, assignee, due_at: datetime, **kw) -> FollowUpTask:
    t = FollowUpTask(
        customer_id=customer.id,
        branch_id=branch.id,
        title="Call back",
        due_at=due_at,
        assignee_id=assignee.id,
        **kw,
    )
    session.add(t)
    await session.flush()
    return t
