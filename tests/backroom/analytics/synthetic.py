"""Synthetic order series written straight into the database (bulk inserts, times chosen)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from backroom.orders.models import Order
from tests.helpers import create_branch, uniq


async def branch(session, tz: str = "Europe/Berlin", currency: str = "USD"):
    return await create_branch(session, timezone=tz, currency=currency)


async def orders_per_day(
    session, *, branch, first: date, counts: list[int], value_minor: int = 1000, hour: int = 12
) -> None:
    """counts[i] orders placed at `hour` local time on day first+i, each worth value_minor."""
    tz = ZoneInfo(branch.timezone)
    rows = []
    for i, n in enumerate(counts):
        day = first + timedelta(days=i)
        for j in range(int(n)):
            at = datetime.combine(day, time(hour, j % 60), tz).astimezone(ZoneInfo("UTC"))
            rows.append(
                {
                    "token": uniq("t"),
                    "idempotency_key": uniq("k"),
                    "request_hash": "x",
                    "email": "b@example.com",
                    "ship_name": "Pat",
                    "ship_line1": "1 Main",
                    "ship_city": "X",
                    "ship_postcode": "12345",
                    "ship_country": "US",
                    "status": "placed",
                    "currency": branch.currency,
                    "subtotal_minor": value_minor,
                    "discount_minor": 0,
                    "tax_minor": 0,
                    "shipping_minor": 0,
                    "total_minor": value_minor,
                    "captured_minor": 0,
                    "refunded_minor": 0,
                    "payment_method": "pm_card_visa",
                    "placed_at": at,
                    "branch_id": branch.id,
                    "created_at": at,
                    "updated_at": at,
                }
            )
    if rows:
        await session.execute(insert(Order), rows)
