"""Audit events in words for the staff pages: what the action was ("Shift closed") and which
fields changed, labelled ("Closing count: 100.00 USD → 98.50 USD"), people, branches and
customers by name ("Approved by: Fay Finance"), the raw JSON kept for whoever wants it.
Pure, but for `names_for` (one read per kind of record named)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import automatic
from backroom.money import format_money
from backroom.text import words

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
WORDS = {"qty": "quantity", "sku": "SKU", "sla": "SLA", "rma": "RMA", "pct": "%", "g": "(g)", "mm": "(mm)"}


# Which record a field names, by the field's name.
NAMED = (
    ("user", ("_by_id", "user_id", "assignee_id", "owner_id", "actor_user_id")),
    ("branch", ("branch_id",)),
    ("customer", ("customer_id", "survivor_id", "loser_id")),
)


def kind_of(field: str) -> str | None:
    """'approved_by_id' -> 'user'; 'home_branch_id' -> 'branch'; 'note' -> None."""
    return next((kind for kind, ends in NAMED if field.endswith(ends)), None)


async def names_for(session: AsyncSession, events, *, subjects: bool = False) -> dict[tuple[str, int], str]:
    """(kind, id) -> name for every user, branch and customer the events' fields name (and,
    with `subjects`, the customers and credit accounts (by their customer) the events are
    about). Read-only."""
    from backroom.auth.models import User
    from backroom.branches.models import Branch
    from backroom.customers.models import Customer

    wanted: dict[str, set[int]] = {}
    out: dict[tuple[str, int], str] = {}
    for e in events:
        for data in (e.before or {}, e.after or {}):
            for field, value in data.items():
                kind = kind_of(field)
                if kind and isinstance(value, int) and not isinstance(value, bool):
                    wanted.setdefault(kind, set()).add(value)
        if subjects and e.entity_type in ("customer", "credit_account") and str(e.entity_id).isdigit():
            wanted.setdefault(e.entity_type, set()).add(int(e.entity_id))
    columns = {
        "user": (User.id, User.full_name),
        "branch": (Branch.id, Branch.name),
        "customer": (Customer.id, Customer.name),
    }
    if accounts := wanted.pop("credit_account", None):  # an account is its customer's
        from backroom.credit.models import CreditAccount

        q = select(CreditAccount.id, Customer.name).join(Customer, Customer.id == CreditAccount.customer_id)
        for ident, text in await session.execute(q.where(CreditAccount.id.in_(accounts))):
            out[("credit_account", ident)] = text
    for kind, ids in wanted.items():
        key, name = columns[kind]
        for ident, text in await session.execute(select(key, name).where(key.in_(ids))):
            out[(kind, ident)] = text
    return out


@dataclass(frozen=True)
class Change:
    label: str
    old: str | None  # None: the field is new (a create)
    new: str


def subject(event, names: dict[tuple[str, int], str]) -> str:
    """The record an event is about, for people: "Alice Moreno" (a customer), "Credit account
    of Alice Moreno" (a record that names its customer), else "Order #1033"."""
    what = event.entity_type.replace("_", " ")
    ident = int(event.entity_id) if str(event.entity_id).isdigit() else None
    if event.entity_type == "customer":
        return names.get(("customer", ident), f"Customer #{event.entity_id}")
    data = {**(event.before or {}), **(event.after or {})}
    owner = data.get("customer_id")
    who = names.get(("customer", owner)) if isinstance(owner, int) and not isinstance(owner, bool) else None
    who = who or names.get((event.entity_type, ident))
    return (
        f"{what[:1].upper()}{what[1:]} of {who}"
        if who
        else f"{what[:1].upper()}{what[1:]} #{event.entity_id}"
    )


def actor(event) -> str:
    """Who made a write, for people: the user's name; "Automatic (order)" for a workflow's own
    step (its name is its id, e.g. "order-1038", which people should not have to read); "System"."""
    if event.actor_type == "workflow" and event.actor_name in (None, "", event.actor_id):
        return automatic(str(event.actor_id))  # events written before workflows were named so
    return event.actor_name or ("System" if event.actor_type == "system" else "Unknown")


def action_words(action: str) -> str:
    """'shift.close' -> 'Shift closed'; 'loyalty.claw_back' -> 'Loyalty claw back'."""
    parts = action.replace("_", " ").split(".")
    verb = DONE.get(parts[-1], parts[-1]) if len(parts) > 1 else parts[-1]
    words = " ".join([*parts[:-1], verb]) if len(parts) > 1 else verb
    return words[:1].upper() + words[1:]


def label(field: str) -> str:
    """'closing_count_minor' -> 'Closing count'; 'home_branch_id' -> 'Home branch'."""
    name = field.removesuffix("_minor").removesuffix("_id").removesuffix("_at").removesuffix("_bp")
    name = name[:-4] + "s" if name.endswith("_ids") else name  # product_ids -> products
    text = " ".join(WORDS.get(w, w) for w in name.split("_"))
    return text[:1].upper() + text[1:]


CODES = {"status", "kind", "state", "severity", "channel", "direction", "compensation", "level"}


def _show(
    field: str, value: Any, currency: str | None, names: dict | None = None, tz: str | None = None
) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if names is not None and (kind := kind_of(field)) and isinstance(value, int):
        return names.get((kind, value), f"{kind} #{value}")
    if field.endswith("_minor") and isinstance(value, int) and currency:
        return format_money(value, currency)
    if field.endswith("_bp") and isinstance(value, int):  # basis points, as people say it
        return f"{value / 100:g} %"
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value) or "—"  # tags, codes
    if isinstance(value, (dict, list)):  # a nested record: the full record shows it
        n = len(value)
        return f"{n} {'entry' if n == 1 else 'entries'} (see the full record)"
    text = str(value)
    if field == "payment_method" and text.startswith("pm_"):  # Stripe's id of the card used
        return "Card"
    if field.endswith("_at") and "T" in text:  # an ISO time as stored: in the reader's zone
        return _local(text, tz)
    if (field in CODES or field.endswith(("_status", "_kind"))) and isinstance(value, str):
        return words(value)
    return text


def _local(iso: str, tz: str | None) -> str:
    try:
        at = datetime.fromisoformat(iso)
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        return at.astimezone(ZoneInfo(tz or "UTC")).strftime("%Y-%m-%d %H:%M %Z")
    except (ValueError, ZoneInfoNotFoundError):
        return iso.replace("T", " ")[:16] + " UTC"


def changes(
    before: dict | None, after: dict | None, names: dict | None = None, tz: str | None = None
) -> list[Change]:
    """The fields an event changed (or set, for a create), labelled, in the record's currency
    where it names one, records by name (`names` from names_for), times in `tz` (the reader's
    zone), statuses as words. Unchanged and bookkeeping fields are left out."""
    before, after = before or {}, after or {}
    currency = after.get("currency") or before.get("currency")
    out = []
    for field, new in after.items():
        if field in HIDDEN or field.endswith("_hash"):
            continue
        if field in before and before[field] == new:
            continue
        old = _show(field, before[field], currency, names, tz) if field in before else None
        out.append(Change(label(field), old, _show(field, new, currency, names, tz)))
    for field in before.keys() - after.keys() - HIDDEN:
        out.append(Change(label(field), _show(field, before[field], currency, names, tz), "—"))
    return out


def raw(before: dict | None, after: dict | None) -> str:
    """The event's stored before/after as indented JSON (the 'full record' view)."""
    return json.dumps({"before": before, "after": after}, indent=2, ensure_ascii=False, default=str)
