"""Schemathesis hooks for `make fuzz` (loaded with SCHEMATHESIS_HOOKS=harness.fuzz_hooks).

The fuzzer signs in with one token of the demo admin. A schema-valid request may revoke that
token (`DELETE /tokens/{token_id}`), deactivate its user, take its admin grant away or link it
to a vendor (`POST /vendors/{id}/users`), and every later request of the run would then be a
401, a 403 or scoped to one vendor, testing nothing (seen: 133 operations answered only 401
after the fuzzer revoked its own token). So a write aimed at the fuzzer's own user or token
(in the path, or `user_id` in the body) is sent to a record that does not exist instead: still
a request the document allows, answered 404. Nothing else is changed.
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
    # A body naming the fuzzer's user (linking it to a vendor makes it a vendor user, whose
    # every request is scoped to that vendor): the same.
    body = getattr(case, "body", None)
    if OWN_USER and isinstance(body, dict) and str(body.get("user_id")) == OWN_USER:
        body["user_id"] = ELSEWHERE
