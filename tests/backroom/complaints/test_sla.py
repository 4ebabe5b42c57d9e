"""The one SLA status function used by the page, the queue and the API."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from backroom.complaints.sla import sla_status

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


@dataclass
class C:
    status: str = "open"
    first_response_minutes: int = 60
    resolution_minutes: int = 240
    first_response_due_at: datetime | None = T0 + timedelta(minutes=60)
    resolution_due_at: datetime | None = T0 + timedelta(minutes=240)
    paused_at: datetime | None = None
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    first_response_breached: bool = False
    resolution_breached: bool = False


@pytest.mark.parametrize(
    "minutes, kw, expected",
    [
        (10, {}, "on_track"),
        (46, {}, "at_risk"),  # 46 of 60 first-response minutes
        (61, {}, "breached"),  # past due even before the workflow records it
        (61, {"responded_at": T0}, "on_track"),  # answered: only the 240-minute clock runs
        (200, {"responded_at": T0}, "at_risk"),
        (500, {"paused_at": T0 + timedelta(minutes=10)}, "on_track"),  # paused at 10 minutes
        (5, {"resolution_breached": True}, "breached"),
        (5, {"status": "resolved"}, "met"),
        (5, {"status": "closed", "first_response_breached": True}, "breached"),
    ],
)
def test_sla_status(minutes, kw, expected):
    assert sla_status(C(**kw), T0 + timedelta(minutes=minutes)).status == expected


def test_queue_order_puts_the_riskiest_first():
    now = T0 + timedelta(minutes=50)
    calm = sla_status(C(responded_at=T0), now)
    close = sla_status(C(), now)
    late = sla_status(C(resolution_breached=True), now)
    assert sorted([calm, close, late], key=lambda s: s.sort_key) == [late, close, calm]
