"""Malformed input on every write route: never a 500, always a 4xx, and nothing written
(the audit chain keeps its length). Walks the app's routes, so new routes are covered."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

import api
from backroom.audit.models import AuditEvent
from tests.api.routes import RouteInfo, app_routes
from tests.helpers import create_user, make_app, token_client

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Routes that legitimately ignore their body and answer with a redirect.
IGNORES_BODY = {("POST", "/logout")}
# A failed sign-in is audited on purpose (and throttles the next guess).
AUDITS_REJECTIONS = {("POST", "/login")}
MISSING = "987654321"  # an id no test creates
# Malformed bodies the app refuses before it reads the database.
DATABASE_BLIND = {
    "not JSON",
    "binary",
    "a string",
    "a number",
    "a list",
    "null",
    "deep nesting",
    "empty form",
}
BAD_IDS = ("abc", "-5", "0", "99999999999999999999999", "1.5")
COMMON_FIELDS = (
    "name",
    "username",
    "full_name",
    "password",
    "email",
    "role",
    "branch",
    "branch_id",
    "customer_id",
    "amount_minor",
    "currency",
    "reason",
    "note",
    "opening_float",
    "closing_count",
    "closing_count_minor",
    "opening_float_minor",
    "approve",
    "status",
    "quantity",
    "expires_in_days",
)
HUGE = "x" * 50_000  # well past every max_length, cheap enough to send per field


@functools.cache
def form_field_names() -> list[str]:
    """Every input name the page templates use: pages parse their own forms, so this is how
    the test learns their fields."""
    templates = Path(api.__file__).parent / "templates"
    pattern = r'name="([a-z_]+)"|(?:field|textarea)\("([a-z_]+)"'  # plain inputs and macros.html's
    found = {a or b for f in templates.rglob("*.html") for a, b in re.findall(pattern, f.read_text())}
    return sorted(found - {"csrf_token"})


def field_names(route: RouteInfo) -> list[str]:
    """The body model's fields (API) plus every form field name (pages)."""
    names = [*COMMON_FIELDS, *form_field_names()]
    for param in route.route.dependant.body_params:
        model = getattr(param.field_info, "annotation", None)
        names.extend(getattr(model, "model_fields", {}) or [param.name])
    return list(dict.fromkeys(names))


def malformed(route: RouteInfo) -> list[tuple[str, dict]]:
    fields = field_names(route)
    every = lambda value: dict.fromkeys(fields, value)  # noqa: E731
    js = lambda body: {"content": json.dumps(body), "headers": {"content-type": "application/json"}}  # noqa: E731
    return [
        ("not JSON", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
        (
            "binary",
            {"content": bytes(range(256)) * 4, "headers": {"content-type": "application/octet-stream"}},
        ),
        ("a string", js("hello")),
        ("a number", js(42)),
        ("a list", js([])),
        ("null", js(None)),
        ("missing fields", js({})),
        ("wrong types", js(every({"nested": [1, 2]}))),
        ("huge strings", js(every(HUGE))),
        ("negative numbers", js(every(-1))),
        ("huge numbers", js(every(10**30))),
        (
            "deep nesting",
            {"content": "[" * 5000 + "]" * 5000, "headers": {"content-type": "application/json"}},
        ),
        ("empty form", {"data": {}}),
        ("huge form", {"data": every(HUGE)}),
        ("form of junk", {"data": every("\x00<script>'")}),
        *[
            (f"form of {n!r}", {"data": every(n)})
            for n in ("Infinity", "sNaN", "-1e999999999", "1e-999999999")
        ],
    ]


async def chain_end(db) -> int:
    """The newest audit event's id (an index lookup; counting rescanned the growing table
    on every one of the ~4,000 requests)."""
    async with db.read_sessionmaker() as s:
        return await s.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


async def test_malformed_bodies_and_ids_on_every_write_route_are_4xx_and_change_nothing(db, settings):
    async with db.sessionmaker.begin() as s:
        admin = await create_user(s, grants=[("admin", None)])
    app = make_app(db, settings)
    # Its own address: the failed sign-ins below must not throttle other tests' clients.
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("192.0.2.77", 50000)),
        base_url="https://testserver",
        headers={"Authorization": (await token_client(app, db, admin)).headers["Authorization"]},
    )
    routes = [r for r in app_routes(app) if r.method in WRITE_METHODS]
    assert len(routes) >= 10
    failures = []
    for route in routes:
        cases = [(what, route.url(MISSING), kw) for what, kw in malformed(route)]
        if db.kind == "postgres":
            # Bodies refused before any query answer the same on both databases; PostgreSQL
            # gets what its own types and limits could turn into an error.
            cases = [c for c in cases if c[0] not in DATABASE_BLIND]
        if "{" in route.path:
            cases += [(f"id {bad!r}", route.url(bad), {"json": {}}) for bad in BAD_IDS]
        before = await chain_end(db)
        for what, url, kw in cases:
            resp = await client.request(route.method, url, **kw)
            status = resp.status_code
            if status >= 500 or (not 400 <= status < 500 and (route.method, route.path) not in IGNORES_BODY):
                failures.append(f"{route} with {what}: {status} {resp.text[:200]}")
        # Per route, not per request: two extra queries on each of ~4,000 requests were a third
        # of the test's time. A growth names the route; its cases are the ones listed above.
        if (route.method, route.path) not in AUDITS_REJECTIONS and await chain_end(db) != before:
            failures.append(f"{route}: every case was rejected but the audit chain grew")
    assert failures == []


@pytest.mark.parametrize(
    "body",
    [
        {"name": "ok", "expires_in_days": 10**30},
        {"name": "ok", "extra": 1},
        {"name": "\n\t"},
        {"name": "x" * 81},
    ],
)
async def test_token_create_rejects_out_of_range_and_unknown_fields(sqlite_db, settings, body):
    async with sqlite_db.sessionmaker.begin() as s:
        user = await create_user(s, grants=[("clerk", None)])
    client = await token_client(make_app(sqlite_db, settings), sqlite_db, user)
    resp = await client.post("/api/v1/tokens", json=body)
    assert resp.status_code == 422 and resp.json()["code"] == "validation_failed"
    assert resp.json()["errors"]


def _cursor(value) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


JUNK_QUERIES = [
    {"cursor": "!!not-a-cursor!!", "limit": "-1"},
    {"cursor": _cursor(["text", "where an id belongs"]), "limit": "0"},
    {"cursor": _cursor({"dt": "yesterday"}), "limit": "99999999999999999999999"},
    {"cursor": _cursor([[1], {"a": 2}])},
    {"q": HUGE[:5000], "status": "\x00", "branch_id": "-3", "entity_id": HUGE[:100]},
]


async def test_junk_query_parameters_on_every_page_and_list_are_never_a_server_error(db, settings):
    async with db.sessionmaker.begin() as s:
        admin = await create_user(s, grants=[("admin", None)])
    app = make_app(db, settings)
    client = await token_client(app, db, admin)
    failures = []
    for route in [r for r in app_routes(app) if r.method == "GET"]:
        for params in JUNK_QUERIES:
            resp = await client.get(route.url(MISSING), params=params)
            if resp.status_code >= 500:
                failures.append(f"{route} with {sorted(params)}: {resp.status_code} {resp.text[:200]}")
    assert failures == []


async def test_the_api_says_what_is_wrong_in_the_forms_words(sqlite_db, settings):
    """A program gets pydantic's error type per field; the words (for the person in front of it)
    are the staff forms' own, never pydantic's ("String should have at least 3 characters")."""
    from tests.helpers import create_branch

    async with sqlite_db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        user = await create_user(s, grants=[("admin", None)])
    client = await token_client(make_app(sqlite_db, settings), sqlite_db, user)

    async def refused(resp) -> tuple[str, list[tuple[str, str, str]]]:
        assert resp.status_code == 422 and resp.json()["code"] == "validation_failed", resp.text
        return resp.json()["detail"], [(e["field"], e["type"], e["message"]) for e in resp.json()["errors"]]

    customer = await client.post("/api/v1/customers", json={"name": "Ann", "home_branch_id": branch.id})
    url = f"/api/v1/customers/{customer.json()['id']}/credit-limit-requests"
    detail, errors = await refused(await client.post(url, json={"requested_limit_minor": -5, "reason": "x"}))
    assert errors == [
        ("requested_limit_minor", "greater_than_equal", "Credit limit cannot be negative"),
        ("reason", "string_too_short", "Reason needs at least 3 characters"),
    ]
    assert detail == "Credit limit cannot be negative. Reason needs at least 3 characters."
    detail, errors = await refused(
        await client.post(url, content=b"{not json", headers={"content-type": "application/json"})
    )
    assert errors == [("body", "json_invalid", "The request body is not valid JSON")]
    detail, errors = await refused(await client.get("/api/v1/customers?limit=abc"))
    assert errors == [("limit", "int_parsing", "Limit must be a whole number")]
