"""The fuzz harness keeps its own credentials: a write aimed at the fuzzer's user or token goes
to a record that does not exist, every other request is sent as generated."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from harness import fuzz_hooks


@pytest.fixture
def own(monkeypatch):
    monkeypatch.setattr(fuzz_hooks, "OWN_USER", "7")
    monkeypatch.setattr(fuzz_hooks, "OWN_TOKEN", "42")


def _case(method: str, body=None, **params):
    return SimpleNamespace(method=method, path_parameters=dict(params), body=body)


@pytest.mark.parametrize(
    ("method", "params", "sent"),
    [
        ("DELETE", {"token_id": 42}, {"token_id": fuzz_hooks.ELSEWHERE}),
        ("DELETE", {"user_id": "7", "token_id": 3}, {"user_id": fuzz_hooks.ELSEWHERE, "token_id": 3}),
        ("POST", {"user_id": 7}, {"user_id": fuzz_hooks.ELSEWHERE}),
        ("DELETE", {"token_id": 43}, {"token_id": 43}),  # another token: as generated
        ("GET", {"user_id": 7}, {"user_id": 7}),  # reading itself harms nothing
    ],
)
def test_the_fuzzer_never_revokes_its_own_credentials(own, method, params, sent):
    case = _case(method, **params)
    fuzz_hooks.before_call(None, case, {})
    assert case.path_parameters == sent


def test_a_body_naming_the_fuzzers_user_names_no_one(own):
    case = _case("POST", body={"user_id": 7}, vendor_id=1)
    fuzz_hooks.before_call(None, case, {})
    assert case.body == {"user_id": fuzz_hooks.ELSEWHERE} and case.path_parameters == {"vendor_id": 1}
    other = _case("POST", body={"user_id": 8})
    fuzz_hooks.before_call(None, other, {})
    assert other.body == {"user_id": 8}
