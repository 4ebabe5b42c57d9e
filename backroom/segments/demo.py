"""Demo segments: "VIP", "Lapsed 90 days" and "New this month", each with a first snapshot.
Idempotent (by name)."""

from __future__ import annotations

from sqlalchemy import select

from backroom.audit.context import Actor
from backroom.db.base import utcnow
from backroom.segments import service
from backroom.segments.models import Segment
from backroom.segments.schemas import Group, SegmentCreate

ACTOR = Actor.system("seed")
DEMO = (
    (
        "VIP",
        "Spent 500.00 or more in the last year, or Gold members.",
        {
            "join": "or",
            "conditions": [
                {"attr": "spend", "op": "gte", "value": 50_000, "days": 365, "currency": "USD"},
                {"attr": "loyalty_tier", "op": "in", "value": ["Gold"]},
            ],
        },
    ),
    (
        "Lapsed 90 days",
        "Ordered before, but not in the last 90 days.",
        {"join": "and", "conditions": [{"attr": "last_order_days", "op": "gte", "value": 90}]},
    ),
    (
        "New this month",
        "Became customers in the last 30 days.",
        {"join": "and", "conditions": [{"attr": "created_days", "op": "lte", "value": 30}]},
    ),
)


async def seed(session, context) -> None:
    now = utcnow()
    for name, description, rules in DEMO:
        if await session.scalar(select(Segment.id).where(Segment.name == name)):
            continue
        seg = await service.create_segment(
            session,
            actor=ACTOR,
            data=SegmentCreate(name=name, description=description, rules=Group.model_validate(rules)),
        )
        await service.snapshot(session, segment_id=seg.id, now=now)
