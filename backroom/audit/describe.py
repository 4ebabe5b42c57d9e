"""Audit events in words for the staff pages: what the action was ("Shift closed") and which
fields changed, labelled ("Closing count: 100.00 USD → 98.50 USD"), the raw JSON kept for
whoever wants it. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from backroom.money import format_money

# The last word of an action as a past participle; anything else reads as written.
DONE = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "open": "opened",
    "close": "closed",
    "approve": "approved",
    "reject": "rejected",
    "submit": "submitted",
    "post": "posted",
    "cancel": "cancelled",
    "erase": "erased",
    "merge": "merged",
    "assign": "assigned",
    "escalate": "escalated",
    "resolve": "resolved",
    "reopen": "reopened",
    "suspend": "suspended",
    "reinstate": "reinstated",
    "archive": "archived",
    "export": "exported",
    "grant": "granted",
    "revoke": "revoked",
    "reserve": "reserved",
    "release": "released",
    "hold": "put on hold",
}
# Fields that say nothing to a person reading the trail (the hash chain, bookkeeping).
HIDDEN = {"id", "created_at", "updated_at", "hash", "prev_hash", "key", "token"}
WORDS = {"qty": "quantity", "sku": "SKU", "sla": "SLA", "rma": "RMA", "bp": "(basis points)", "pct": "%"}


@dataclass(frozen=True)
class Change:
    label: str
    old: str | None  # None: the field is new (a create)
    new: str


def action_words(action: str) -> str:
    """'shift.close' -> 'Shift closed'; 'loyalty.claw_back' -> 'Loyalty claw back'."""
    parts = action.replace("_", " ").split(".")
    verb = DONE.get(parts[-1], parts[-1]) if len(parts) > 1 else parts[-1]
    words = " ".join([*parts[:-1], verb]) if len(parts) > 1 else verb
    return words[:1].upper() + words[1:]


def label(field: str) -> str:
    """'closing_count_minor' -> 'Closing count'; 'home_branch_id' -> 'Home branch'."""
    name = field.removesuffix("_minor").removesuffix("_id").removesuffix("_at")
    words = " ".join(WORDS.get(w, w) for w in name.split("_"))
    return words[:1].upper() + words[1:]


def _show(field: str, value: Any, currency: str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field.endswith("_minor") and isinstance(value, int) and currency:
        return format_money(value, currency)
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return text if len(text) <= 120 else text[:117] + "..."
    text = str(value)
    if field.endswith("_at") and "T" in text:  # an ISO time as stored: date and minutes
        text = text.replace("T", " ")[:16] + " UTC"
    return text


def changes(before: dict | None, after: dict | None) -> list[Change]:
    """The fields an event changed (or set, for a create), labelled, in the record's currency
    where it names one. Unchanged and bookkeeping fields are left out."""
    before, after = before or {}, after or {}
    currency = after.get("currency") or before.get("currency")
    out = []
    for field, new in after.items():
        if field in HIDDEN or field.endswith("_hash"):
            continue
        if field in before and before[field] == new:
            continue
        old = _show(field, before[field], currency) if field in before else None
        out.append(Change(label(field), old, _show(field, new, currency)))
    for field in before.keys() - after.keys() - HIDDEN:
        out.append(Change(label(field), _show(field, before[field], currency), "—"))
    return out


def raw(before: dict | None, after: dict | None) -> str:
    """The event's stored before/after as indented JSON (the 'full record' view)."""
    return json.dumps({"before": before, "after": after}, indent=2, ensure_ascii=False, default=str)
