"""Parse Shippo `track_updated` webhooks into tracking updates with a de-duplication key.

Shippo documents its webhooks as at-least-once and not idempotent: the same status can arrive
several times. Store `dedup_key` with a unique constraint (or use it as a workflow signal id)
and drop repeats.

Shippo does not sign webhooks; protect the endpoint with a secret token in its URL
(`https://.../webhooks/shippo?token=...`) and check it with `token_matches`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from backroom.shipping.errors import ShippingError


class InvalidTrackingPayload(ShippingError):
    status, code, title = 400, "invalid_tracking_payload", "Invalid tracking webhook"


class TrackingStatus(StrEnum):
    UNKNOWN = "UNKNOWN"
    PRE_TRANSIT = "PRE_TRANSIT"
    TRANSIT = "TRANSIT"
    DELIVERED = "DELIVERED"
    RETURNED = "RETURNED"
    FAILURE = "FAILURE"


_FINAL = {TrackingStatus.DELIVERED, TrackingStatus.RETURNED, TrackingStatus.FAILURE}


class TrackingUpdate(BaseModel):
    model_config = ConfigDict(frozen=True)

    dedup_key: str
    carrier: str
    tracking_number: str
    status: TrackingStatus
    raw_status: str
    status_details: str | None = None
    substatus: str | None = None
    status_at: datetime | None = None
    eta: datetime | None = None
    location: str | None = None
    label_id: str | None = None  # Shippo transaction id, when the label was bought through Shippo
    status_id: str | None = None
    test: bool = False

    @property
    def is_final(self) -> bool:
        """True once the parcel will not move again (delivered, returned, or lost)."""
        return self.status in _FINAL


def parse_track_webhook(payload: bytes | str | dict[str, Any]) -> TrackingUpdate:
    """Parse one track_updated webhook body. Pure; raises InvalidTrackingPayload."""
    if isinstance(payload, (bytes, str)):
        try:
            payload = json.loads(payload)
        except ValueError as exc:
            raise InvalidTrackingPayload(f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise InvalidTrackingPayload("body is not a JSON object")
    event = payload.get("event")
    if event != "track_updated":
        raise InvalidTrackingPayload(f"not a tracking event: {event!r}")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise InvalidTrackingPayload("missing data")
    tracking_number = data.get("tracking_number")
    carrier = data.get("carrier")
    if not tracking_number or not carrier:
        raise InvalidTrackingPayload("missing tracking_number or carrier")

    current = data.get("tracking_status") or {}
    raw_status = str(current.get("status") or "UNKNOWN")
    try:
        status = TrackingStatus(raw_status.upper())
    except ValueError:
        status = TrackingStatus.UNKNOWN  # a status added by Shippo later: keep it, but raw
    status_at = _datetime(current.get("status_date")) or _datetime(current.get("object_updated"))
    substatus = current.get("substatus") or {}
    status_id = current.get("object_id")

    # The status object's id names one carrier scan; without it, the scan's content does.
    identity = status_id or "|".join(
        str(x) for x in (raw_status, current.get("status_date"), current.get("status_details"))
    )
    dedup_key = (
        "shippo-track:" + hashlib.sha256(f"{carrier}|{tracking_number}|{identity}".encode()).hexdigest()[:32]
    )

    return TrackingUpdate(
        dedup_key=dedup_key,
        carrier=str(carrier),
        tracking_number=str(tracking_number),
        status=status,
        raw_status=raw_status,
        status_details=current.get("status_details"),
        substatus=substatus.get("code") if isinstance(substatus, dict) else None,
        status_at=status_at,
        eta=_datetime(data.get("eta")),
        location=_location(current.get("location")),
        label_id=data.get("transaction"),
        status_id=status_id,
        test=bool(payload.get("test") or data.get("test")),
    )


def token_matches(received: str | None, expected: str) -> bool:
    """Compare the webhook URL token in constant time. Pure."""
    return received is not None and hmac.compare_digest(received.encode(), expected.encode())


def _datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    # Shippo sends UTC; a naive timestamp is read as UTC rather than the server's zone.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _location(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    parts = [value.get("city"), value.get("state"), value.get("zip"), value.get("country")]
    text = ", ".join(str(p) for p in parts if p)
    return text or None
