"""Issue 15 item 7: audit events in words on the staff pages."""

from __future__ import annotations

from backroom.audit.describe import Change, action_words, changes, label, raw


def test_actions_and_fields_read_as_words():
    assert action_words("shift.close") == "Shift closed"
    assert action_words("loyalty.claw_back") == "Loyalty claw back"
    assert action_words("customer.create") == "Customer created"
    assert label("closing_count_minor") == "Closing count"
    assert label("home_branch_id") == "Home branch"
    assert label("qty") == "Quantity"


def test_only_what_changed_labelled_with_money_in_the_currency():
    before = {"status": "open", "closing_count_minor": None, "currency": "EUR", "updated_at": "x"}
    after = {
        "status": "closed",
        "closing_count_minor": 9850,
        "currency": "EUR",
        "updated_at": "y",
        "note": "ok",
    }
    assert changes(before, after) == [
        Change("Status", "Open", "Closed"),
        Change("Closing count", "—", "98.50 EUR"),
        Change("Note", None, "ok"),
    ]
    # Statuses read as words; stored UTC times read in the reader's zone.
    seen = changes(
        {"kind": "target_missed"},
        {"kind": "pick_timeout", "due_at": "2026-12-01T14:00:00+00:00"},
        tz="America/New_York",
    )
    assert seen == [
        Change("Kind", "Target missed", "Pick timeout"),
        Change("Due", None, "2026-12-01 09:00 EST"),
    ]
    assert changes(None, {"active": True, "hash": "abc"}) == [Change("Active", None, "yes")]
    assert '"closing_count_minor": 9850' in raw(before, after)


def test_the_trail_shows_the_newest_ten_and_keeps_the_rest_and_the_json_a_click_away():
    from datetime import UTC, datetime

    from api.templating import make_templates
    from backroom.audit.visibility import EventView

    events = [
        EventView(id=n, at=datetime(2026, 11, n + 1, tzinfo=UTC), actor_type="user", actor_id="1",
                  actor_name="Ann", action="customer.update", entity_type="customer", entity_id="1",
                  branch_id=1, before={"name": f"v{n}"}, after={"name": f"v{n + 1}"})
        for n in range(12, 0, -1)
    ]  # fmt: skip
    env = make_templates().env
    html = env.from_string('{% from "macros.html" import audit_trail %}{{ audit_trail(events) }}').render(
        events=events
    )
    first, rest = html.split('<details class="more">')
    assert first.count("<tr><td>") == 10 and "2 earlier events" in rest and rest.count("<tr><td>") == 2
    assert "Customer updated" in first and "<b>Name</b>: v12 → v13" in first
    assert html.count("Full record") == 12 and "&#34;before&#34;" in html


async def test_a_trail_names_people_branches_and_customers(db):
    from backroom.audit import service as audit
    from backroom.audit.context import Actor
    from tests.helpers import create_branch, create_customer, create_user

    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        fay = await create_user(s, grants=[("finance", b.id)], full_name="Fay Finance")
        c = await create_customer(s, branch=b, name="Carla Customer")
        await audit.record(
            s, actor=Actor.user(fay.id, fay.full_name), action="credit.approve", entity_type="customer",
            entity_id=c.id, branch_id=b.id,
            after={"approved_by_id": fay.id, "home_branch_id": b.id, "customer_id": c.id, "ghost_user_id": 9 * 10**17},
        )  # fmt: skip
    async with db.read_sessionmaker() as s:
        (event,) = [
            e
            for e in await audit.trail(s, entity_type="customer", entity_id=c.id)
            if e.action == "credit.approve"
        ]
    shown = {ch.label: ch.new for ch in changes(event.before, event.after, event.names)}
    assert shown == {
        "Approved by": "Fay Finance",
        "Home branch": b.name,
        "Customer": "Carla Customer",
        "Ghost user": f"user #{9 * 10**17}",
    }


def test_who_made_a_write_reads_as_a_name_never_an_id():
    from types import SimpleNamespace as Event

    from backroom.audit.describe import actor

    assert actor(Event(actor_type="user", actor_id="7", actor_name="Dana Park")) == "Dana Park"
    assert actor(Event(actor_type="workflow", actor_id="order-1038", actor_name="order-1038")) == (
        "Automatic (order)"
    )
    assert actor(Event(actor_type="workflow", actor_id="credit-limit-12", actor_name=None)) == (
        "Automatic (credit limit)"
    )
    # A workflow acting for a person carries that person's name.
    assert actor(Event(actor_type="workflow", actor_id="refund-3", actor_name="Dana Park")) == "Dana Park"
    assert actor(Event(actor_type="system", actor_id="seed", actor_name=None)) == "System"


def test_a_workflows_own_writes_are_named_in_words():
    from backroom.audit.context import Actor

    assert Actor.workflow("order-1038").name == "Automatic (order)"
    assert (
        Actor.workflow("order-1038", name="Vera Seller via order-1038").name == "Vera Seller via order-1038"
    )
