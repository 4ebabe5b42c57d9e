"""Permission checks answer exactly what the Casbin model would, without evaluating it per check."""

import threading
import traceback

import pytest

import policies
from backroom.auth.principal import Principal

BRANCHES = (1, 2, None)
FUNCTIONS = (*policies.FUNCTIONS, "no-such-function")
ACTIONS = (*policies.ACTIONS, "delete")


def casbin_answer(enforcer, user_id: int, grants, function: str, action: str, branch_id) -> bool:
    """The model's own answer, evaluated by Casbin (the pre-computed sets must agree)."""
    sub = policies.subject(user_id)
    if branch_id is not None:
        return enforcer.enforce(sub, function, action, str(branch_id))
    return any(enforcer.enforce(sub, function, action, policies.domain(b)) for _, b in grants)


@pytest.mark.parametrize("role", policies.ROLES)
def test_principal_agrees_with_casbin_for_every_question(role):
    for grants in (((role, 1),), ((role, None),), ((role, 1), ("clerk", 2))):
        enforcer = policies.load_enforcer([(9, r, b) for r, b in grants])
        p = Principal(
            user_id=9, username="u", full_name="U", grants=grants, enforcer=policies.load_enforcer()
        )
        for function in FUNCTIONS:
            for action in ACTIONS:
                for branch in BRANCHES:
                    want = casbin_answer(enforcer, 9, grants, function, action, branch)
                    assert p.can(function, action, branch) is want, (grants, function, action, branch)
                want_all = any(b is None for _, b in grants) and enforcer.enforce(
                    policies.subject(9), function, action, policies.ALL_BRANCHES
                )
                got = p.branch_ids(function, action)
                if want_all:
                    assert got is None
                else:
                    assert got == {b for _, b in grants if b is not None and p.can(function, action, b)}


def test_thousands_of_checks_beside_threads_formatting_tracebacks():
    """The checks used to re-parse the matcher (ast.parse) and now and then raised SystemError
    beside threads formatting tracebacks; they must not fail under that load."""
    p = Principal(
        user_id=3,
        username="u",
        full_name="U",
        grants=(("manager", 1), ("clerk", 2)),
        enforcer=policies.load_enforcer(),
    )
    stop = threading.Event()
    errors: list[BaseException] = []

    def noisy() -> None:
        while not stop.is_set():
            try:
                raise RuntimeError("workflow already started")
            except RuntimeError:
                traceback.format_exc()

    def checker() -> None:
        try:
            for i in range(5_000):
                assert p.can("customers", "read", 1 + i % 2)
                assert not p.can("admin", "update", 2)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=noisy) for _ in range(2)] + [
        threading.Thread(target=checker) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads[2:]:
        t.join()
    stop.set()
    for t in threads[:2]:
        t.join()
    assert errors == []
