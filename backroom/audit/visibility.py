"""What of the audit trail a viewer may see. An event whose action belongs to a function the
viewer may not read (a CRM interaction logged on a customer, for finance) is left out; secrets
(the shopper's order-page token, hashes) and server file paths are never shown to anyone.
Pure functions over loaded events; the ORM rows are never modified (the chain is append-only)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backroom.audit.shred import open_personal

# The function an action's first word belongs to, where it is not the record's own.
ACTION_FUNCTION = {
    "interaction": "crm",
    "followup": "crm",
    "task": "crm",
    "credit": "credit",
    "credit_limit": "credit",
    "payment": "payments",
    "complaint": "complaints",
    "order": "orders",
    "loyalty": "loyalty",
    "points": "loyalty",
    "warranty": "warranty",
    "rma": "service",
    "case": "service",
}
HIDDEN = "(hidden)"
_SECRET_NAMES = {"token", "secret", "password", "csrf_token", "session_token", "checkout_key"}
_SECRET_ENDS = ("_token", "_hash", "_secret", "_path", "password")


def is_secret(key: str) -> bool:
    """Whether a payload field holds a secret or a server path (never shown)."""
    k = key.lower()
    return k in _SECRET_NAMES or k.endswith(_SECRET_ENDS)


def redact(payload: Any) -> Any:
    """The payload with every secret field's value replaced by HIDDEN (nested too)."""
    if isinstance(payload, dict):
        return {k: HIDDEN if is_secret(str(k)) and v is not None else redact(v) for k, v in payload.items()}
    if isinstance(payload, list):
        return [redact(v) for v in payload]
    return payload


def function_of(action: str) -> str | None:
    return ACTION_FUNCTION.get(action.split(".", 1)[0])


@dataclass(frozen=True)
class EventView:
    """An audit event as a page or answer shows it."""

    id: int
    at: datetime
    actor_type: str
    actor_id: str
    actor_name: str | None
    action: str
    entity_type: str
    entity_id: str
    branch_id: int | None
    before: dict | None
    after: dict | None
    request_id: str | None = None
    workflow_id: str | None = None
    prev_hash: str | None = None  # None until sealed
    hash: str | None = None
    # (kind, id) -> name of the users, branches and customers its fields name (pages only).
    names: dict = field(default_factory=dict, compare=False, repr=False)


def readable(
    events: Iterable[Any], may_read: Callable[[str], bool] | None = None, keys: dict | None = None
) -> list[EventView]:
    """The events the viewer may read (`may_read(function)`; None: all), secrets redacted,
    personal fields decrypted with `keys` (subject -> key, backroom.audit.shred.keys_for; a
    missing or destroyed key reads "(erased)")."""
    keys = keys or {}
    out = []
    for e in events:
        function = function_of(e.action)
        if function and may_read is not None and not may_read(function):
            continue
        out.append(
            EventView(
                id=e.id,
                at=e.at,
                actor_type=e.actor_type,
                actor_id=e.actor_id,
                actor_name=e.actor_name,
                action=e.action,
                entity_type=e.entity_type,
                entity_id=e.entity_id,
                branch_id=e.branch_id,
                before=redact(open_personal(e.before, keys)),
                after=redact(open_personal(e.after, keys)),
                request_id=e.request_id,
                workflow_id=e.workflow_id,
                prev_hash=e.prev_hash,
                hash=e.hash,
            )
        )
    return out
