"""What a carrier's tracking status means for a parcel (issue 14 item 8): every Shippo status
(PRE_TRANSIT, TRANSIT, DELIVERED, RETURNED, FAILURE, UNKNOWN) is kept on the parcel and told on
the order's timeline in the customer's words; RETURNED and FAILURE raise an exception alert for
the warehouse of the parcel's branch. Parcels never scanned some days after their label are
found by the alert sweep (backroom/alerts/sweep.py, PARCEL_SCAN_LATE_DAYS)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.alerts import service as alerts
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.db.base import utcnow
from backroom.orders import service as orders
from backroom.orders.models import Parcel
from backroom.shipping.tracking import TrackingStatus, TrackingUpdate

CARRIER = Actor.system("carrier")
T = TrackingStatus
# The customer's words for each status (the order page shows the parcel's and the timeline's).
SAYS = {
    T.PRE_TRANSIT: "Label ready; waiting for the carrier to collect it",
    T.TRANSIT: "On its way",
    T.DELIVERED: "Delivered",
    T.RETURNED: "On its way back to us",
    T.FAILURE: "The carrier could not deliver it",
    T.UNKNOWN: "No news from the carrier yet",
}
EXCEPTIONS = (T.RETURNED, T.FAILURE)
NOT_A_SCAN = (T.PRE_TRANSIT, T.UNKNOWN)  # the carrier has not had the parcel in hand yet


def says(status: str | None) -> str | None:
    """The customer's words for a stored tracking status. Pure."""
    try:
        return SAYS[TrackingStatus(status)] if status else None
    except ValueError:
        return status


async def record(session: AsyncSession, *, parcel: Parcel, update: TrackingUpdate) -> None:
    """Keep the update on the parcel (an older one arriving late changes only the timeline),
    note it on the order's timeline, and raise the warehouse's alert for an exception."""
    at = update.status_at or utcnow()
    text = SAYS[update.status] + (f" ({update.location})" if update.location else "")
    if parcel.tracking_at is None or at >= parcel.tracking_at:
        before = {"tracking_status": parcel.tracking_status}
        parcel.tracking_status, parcel.tracking_at = update.status.value, at
        parcel.tracking_detail = (update.status_details or text)[:300]
        if update.status not in NOT_A_SCAN and parcel.scanned_at is None:
            parcel.scanned_at = at
        await audit.record(
            session,
            actor=CARRIER,
            action="parcel.tracking",
            entity_type="order",
            entity_id=parcel.order_id,
            branch_id=parcel.branch_id,
            before=before,
            after={"parcel_id": parcel.id, "tracking_status": parcel.tracking_status},
        )
    elif update.status not in NOT_A_SCAN and parcel.scanned_at is None:
        parcel.scanned_at = at
    await orders.add_event(
        session,
        order_id=parcel.order_id,
        kind=f"tracking_{update.status.value.lower()}",
        message=f"Parcel {parcel.tracking_number}: {text}.",
        actor_name=CARRIER.name,
        key=update.dedup_key,
    )
    if update.status in EXCEPTIONS:
        await alerts.raise_alert(
            session,
            key=f"parcel-{parcel.id}:tracking-exception",
            kind="tracking_exception",
            severity="warning",
            branch_id=parcel.branch_id,
            title=f"Parcel {parcel.tracking_number} of order #{parcel.order_id}: carrier reports "
            f"{update.status.value.lower()}",
            link=f"/orders/{parcel.order_id}",
            detail=update.status_details,
            actor=CARRIER,
        )
