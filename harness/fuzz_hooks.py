"""Schemathesis hooks for `make fuzz` (loaded with SCHEMATHESIS_HOOKS=harness.fuzz_hooks).

The fuzzer signs in with one token of the demo admin. A schema-valid request may revoke that
token (`DELETE /tokens/{token_id}`), deactivate its user or take its admin grant away, and
every later request of the run would then be a 401 or 403 that tests nothing (seen: 133
operations answered only 401 after the fuzzer revoked its own token). So a write aimed at the
fuzzer's own user or token is sent to a record that does not exist instead: still a request
the document allows, answered 404. Nothing else is changed.
"""

from __future__ import annotations

import os

import schemathesis

OWN_USER = os.environ.get("FUZZ_OWN_USER_ID", "")
OWN_TOKEN = os.environ.get("FUZZ_OWN_TOKEN_ID", "")
ELSEWHERE = 9 * 10**17  # past every record id


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    if case.method.upper() in ("GET", "HEAD", "OPTIONS"):
        return
    params = case.path_parameters
    for name, own in (("user_id", OWN_USER), ("token_id", OWN_TOKEN)):
        if own and name in params and str(params[name]) == own:
            params[name] = ELSEWHERE
