"""Permission checks per second: `Principal.can` (what every route pays) against a bare
`FastEnforcer.enforce` on the same enforcer and the same questions."""

from __future__ import annotations

import random
import time

import policies
from backroom.auth.principal import Principal

USERS, BRANCHES, CHECKS = 500, 20, 10_000


def _questions(rng: random.Random, mine: list[int]) -> list[tuple[str, str, int]]:
    # Mostly the user's own branches, as in real traffic; some elsewhere (always refused).
    return [
        (
            rng.choice(policies.FUNCTIONS),
            rng.choice(policies.ACTIONS),
            rng.choice(mine) if rng.random() < 0.8 else rng.randint(1, BRANCHES),
        )
        for _ in range(CHECKS)
    ]


def _rate(fn, questions) -> float:
    started = time.perf_counter()
    for f, a, b in questions:
        fn(f, a, b)
    return len(questions) / (time.perf_counter() - started)


def run() -> dict:
    """Checks/s of both, best of three rounds, and their ratio."""
    rng = random.Random(7)
    roles = [r for r in policies.ROLES if r not in ("admin", "auditor")]
    grants = [(u, rng.choice(roles), rng.randint(1, BRANCHES)) for u in range(1, USERS + 1) for _ in range(2)]
    enforcer = policies.load_enforcer(grants)
    me = 1
    principal = Principal(
        user_id=me,
        username="bench",
        full_name="Bench",
        enforcer=enforcer,
        grants=tuple((r, b) for u, r, b in grants if u == me),
    )
    questions = _questions(rng, [b for _, b in principal.grants])
    subject = policies.subject(me)
    bare = lambda f, a, b: enforcer.enforce(subject, f, a, str(b))  # noqa: E731
    # Warm both paths once, then interleave rounds so drift hits both alike.
    _rate(bare, questions[:500])
    _rate(principal.can, questions[:500])
    anywhere = lambda f, a, b: principal.can(f, a)  # noqa: E731  (what require() asks per request)
    bare_rates, can_rates, any_rates = [], [], []
    for _ in range(3):
        bare_rates.append(_rate(bare, questions))
        can_rates.append(_rate(principal.can, questions))
        any_rates.append(_rate(anywhere, questions))
    bare_best, can_best = max(bare_rates), max(can_rates)
    allowed = sum(principal.can(f, a, b) for f, a, b in questions[:2000])
    return {
        "summary": f"Principal.can runs at {can_best / bare_best:.0%} of bare enforce ({can_best:,.0f} vs {bare_best:,.0f} checks/s)",
        "FastEnforcer.enforce checks/s": bare_best,
        "Principal.can checks/s": can_best,
        "ratio can/enforce": round(can_best / bare_best, 3),
        "Principal.can(any branch) checks/s": max(any_rates),
        "checks per round": CHECKS,
        "users x grants": f"{USERS} x 2 in {BRANCHES} branches",
        "allowed share (sample)": round(allowed / 2000, 3),
    }
