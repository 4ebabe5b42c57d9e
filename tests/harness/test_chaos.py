"""`make chaos`'s checks against crafted end states: a consistent run passes them all, and each
kind of damage the harness is there to find fails the check that names it."""

from __future__ import annotations

import copy

import pytest

from harness.chaos import CHECKS, Facts, Told, lost_and_doubled, run_checks


def consistent() -> tuple[Told, Facts]:
    """Two orders: #1 (2 units) shipped and captured with one label, #2 (1 unit) cancelled
    before its label; 10 units to start with, 2 shipped."""
    told = Told(carts={11, 12}, added={11: 2, 12: 1}, orders={1: (11, 5400), 2: (12, 2700)})
    facts = Facts(
        initial_stock=10,
        on_hand=8,
        reserved=0,
        ledger_on_hand=8,
        ledger_reserved=0,
        held_units=0,
        carts={11, 12},
        cart_lines={11: 2, 12: 1},
        orders={
            1: {"status": "shipped", "cart_id": 11, "units": 2, "total_minor": 5400},
            2: {"status": "cancelled", "cart_id": 12, "units": 1, "total_minor": 2700},
        },
        parcels={
            21: {"order_id": 1, "status": "shipped", "label_id": "txn_1"},
            22: {"order_id": 2, "status": "pending", "label_id": None},
        },
        captures={1: [5400]},
        open_holds={},
        labels={21: ["txn_1"]},
        served_labels={21: True},
        audit_ok=True,
    )
    return told, facts


def test_a_consistent_run_passes_every_check():
    told, facts = consistent()
    assert run_checks(told, facts) == {name: [] for name in CHECKS}
    assert lost_and_doubled(told, facts) == (0, 0)


def _order(status):
    return lambda t, f: f.orders[1].update(status=status)


DAMAGE = {
    "an order stuck in picking": ("orders terminal", _order("picking")),
    "a client that never got an answer": ("orders terminal", lambda t, f: t.gave_up.append("order 3 cart")),
    "a second capture": ("one capture per order", lambda t, f: f.captures[1].append(5400)),
    "a shipped order not captured": ("one capture per order", lambda t, f: f.captures.clear()),
    "a cancelled order captured": ("one capture per order", lambda t, f: f.captures.update({2: [2700]})),
    "the wrong amount captured": ("one capture per order", lambda t, f: f.captures.update({1: [5000]})),
    "a card hold left open": ("one capture per order", lambda t, f: f.open_holds.update({2: 1})),
    "a capture for an unknown order": ("one capture per order", lambda t, f: f.captures.update({9: [100]})),
    "a second label": ("one label per parcel", lambda t, f: f.labels[21].append("txn_2")),
    "a shipped parcel without a label": ("one label per parcel", lambda t, f: f.labels.clear()),
    "a label the app cannot serve": ("one label per parcel", lambda t, f: f.served_labels.clear()),
    "another label recorded": ("one label per parcel", lambda t, f: f.parcels[21].update(label_id="txn_9")),
    "a label for an unknown parcel": ("one label per parcel", lambda t, f: f.labels.update({99: ["txn_3"]})),
    "stock off the ledger": ("stock and ledger exact", lambda t, f: setattr(f, "ledger_on_hand", 9)),
    "a unit shipped twice": (
        "stock and ledger exact",
        lambda t, f: (setattr(f, "on_hand", 7), setattr(f, "ledger_on_hand", 7)),
    ),
    "a reservation never released": (
        "stock and ledger exact",
        lambda t, f: (
            setattr(f, "reserved", 1),
            setattr(f, "ledger_reserved", 1),
            setattr(f, "held_units", 1),
        ),
    ),
    "a broken audit chain": ("audit chain intact", lambda t, f: setattr(f, "audit_ok", False)),
    "a confirmed order missing": ("no told write missing or doubled", lambda t, f: f.orders.pop(2)),
    "a created cart missing": ("no told write missing or doubled", lambda t, f: t.carts.add(13)),
    "an add applied twice": ("no told write missing or doubled", lambda t, f: f.orders[1].update(units=4)),
    "one cart, two orders": (
        "no told write missing or doubled",
        lambda t, f: f.orders.update({3: {**f.orders[2]}}),
    ),
    "an order other than confirmed": (
        "no told write missing or doubled",
        lambda t, f: f.orders[2].update(total_minor=1),
    ),
    "a server error": (
        "no told write missing or doubled",
        lambda t, f: t.server_errors.append("POST /x: 500"),
    ),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_each_damage_fails_its_check(damage):
    check, harm = DAMAGE[damage]
    told, facts = copy.deepcopy(consistent())
    harm(told, facts)
    assert run_checks(told, facts)[check], f"{check} did not notice {damage}"


def test_lost_and_doubled_count_what_clients_were_told():
    told, facts = consistent()
    facts.orders.pop(2)
    facts.captures[1].append(5400)
    facts.labels[21].append("txn_2")
    facts.orders[1]["units"] = 4
    assert lost_and_doubled(told, facts) == (1, 3)
