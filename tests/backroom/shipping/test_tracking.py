"""Shippo track_updated webhooks: parsing and the de-duplication key."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from backroom.shipping.tracking import (
    InvalidTrackingPayload,
    TrackingStatus,
    parse_track_webhook,
    token_matches,
)

DELIVERED = {
    "event": "track_updated",
    "test": True,
    "data": {
        "carrier": "usps",
        "tracking_number": "9400100000000000000001",
        "transaction": "txn_000007fake",
        "eta": "2026-11-23T18:00:00Z",
        "tracking_status": {
            "object_created": "2026-11-22T14:03:10Z",
            "object_updated": "2026-11-22T14:03:10Z",
            "object_id": "ts_8d2f",
            "status": "DELIVERED",
            "status_details": "Your item was delivered in or at the mailbox.",
            "status_date": "2026-11-22T13:58:00Z",
            "substatus": {"code": "delivered", "text": "Delivered", "action_required": False},
            "location": {"city": "Shelbyville", "state": "IL", "zip": "62565", "country": "US"},
        },
        "tracking_history": [],
    },
}


def test_delivered_update_is_parsed() -> None:
    update = parse_track_webhook(json.dumps(DELIVERED).encode())

    assert update.status is TrackingStatus.DELIVERED and update.is_final
    assert update.tracking_number == "9400100000000000000001"
    assert update.carrier == "usps"
    assert update.label_id == "txn_000007fake"
    assert update.status_at == datetime(2026, 11, 22, 13, 58, tzinfo=UTC)
    assert update.eta == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    assert update.location == "Shelbyville, IL, 62565, US"
    assert update.substatus == "delivered"


def test_a_repeated_delivery_has_the_same_key_and_a_new_scan_a_new_one() -> None:
    repeat = copy.deepcopy(DELIVERED)
    in_transit = copy.deepcopy(DELIVERED)
    in_transit["data"]["tracking_status"].update(object_id="ts_7a11", status="TRANSIT")

    first = parse_track_webhook(DELIVERED)
    second = parse_track_webhook(repeat)
    moving = parse_track_webhook(in_transit)

    assert first.dedup_key == second.dedup_key
    assert moving.dedup_key != first.dedup_key
    assert moving.status is TrackingStatus.TRANSIT and not moving.is_final


def test_without_a_status_id_the_scan_content_identifies_it() -> None:
    anonymous = copy.deepcopy(DELIVERED)
    del anonymous["data"]["tracking_status"]["object_id"]
    later = copy.deepcopy(anonymous)
    later["data"]["tracking_status"]["status_date"] = "2026-11-22T15:00:00Z"

    assert parse_track_webhook(anonymous).dedup_key == parse_track_webhook(copy.deepcopy(anonymous)).dedup_key
    assert parse_track_webhook(later).dedup_key != parse_track_webhook(anonymous).dedup_key


def test_unrecognised_status_is_kept_raw_as_unknown() -> None:
    odd = copy.deepcopy(DELIVERED)
    odd["data"]["tracking_status"]["status"] = "HELD_AT_CUSTOMS"

    update = parse_track_webhook(odd)

    assert update.status is TrackingStatus.UNKNOWN and update.raw_status == "HELD_AT_CUSTOMS"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"event": "transaction_created", "data": {}}).encode(),
        json.dumps({"event": "track_updated", "data": {"carrier": "usps"}}).encode(),
    ],
)
def test_other_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(InvalidTrackingPayload):
        parse_track_webhook(body)


def test_url_token_check() -> None:
    assert token_matches("s3cret", "s3cret")
    assert not token_matches("guess", "s3cret")
    assert not token_matches(None, "s3cret")
