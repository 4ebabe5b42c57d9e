"""The OpenAPI document describes what each JSON route really returns, and path ids are
validated before they reach the database."""

from __future__ import annotations

import typing

import pytest

from tests.helpers import create_branch, create_user, make_app, token_client

JSON_TYPE = "application/json"


def _resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = doc["components"]["schemas"][name]
    return schema


def _says_nothing(doc: dict, schema: dict | None) -> bool:
    """No schema, the empty `{}` FastAPI writes for an undeclared return, or a bare `dict`."""
    schema = _resolve(doc, schema or {})
    if not schema:
        return True
    return schema.get("type") == "object" and not schema.get("properties") and "$ref" not in str(schema)


def untyped_routes(doc: dict) -> list[str]:
    """Routes in the document whose 2xx answer does not say what it returns (pages are not in
    the document: see the test below)."""
    bad = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            ok = {code: r for code, r in op.get("responses", {}).items() if code.startswith("2")}
            if not ok:
                bad.append(f"{method.upper()} {path}: no 2xx response")
                continue
            for code, resp in ok.items():
                content = resp.get("content", {})
                if code == "204" or (content and JSON_TYPE not in content):
                    continue  # no body, or a declared non-JSON one (a PDF label, a CSV export)
                schema = content.get(JSON_TYPE, {}).get("schema")
                if _says_nothing(doc, schema):
                    bad.append(f"{method.upper()} {path}: {code} has no schema")
    return bad


@pytest.fixture
def doc(sqlite_db, settings) -> dict:
    return make_app(sqlite_db, settings).openapi()


def test_every_json_route_declares_its_response(doc):
    bad = untyped_routes(doc)
    assert not bad, "JSON routes without a response model:\n" + "\n".join(sorted(bad))


def test_the_checker_catches_an_untyped_route():
    """The walk above must be able to fail: a route returning a bare dict is reported."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/api/v1/untyped")
    async def untyped() -> dict:
        return {}

    @app.get("/api/v1/typed")
    async def typed() -> list[int]:
        return []

    assert untyped_routes(app.openapi()) == ["GET /api/v1/untyped: 200 has no schema"]


def test_pages_and_forms_are_not_in_the_api_document(doc):
    """HTML pages and form posts are not part of the JSON API."""
    assert doc["paths"], "the document lists no routes at all"
    others = sorted(p for p in doc["paths"] if not p.startswith("/api/") and p != "/healthz")
    assert not others, others


def test_list_routes_return_a_page(doc):
    """A list answers with its items and the cursor of the next page."""
    pages = []
    for path, item in doc["paths"].items():
        op = item.get("get")
        if not op or "{" in path.rsplit("/", 1)[-1] or not path.startswith("/api/v1/"):
            continue
        schema = op["responses"].get("200", {}).get("content", {}).get(JSON_TYPE, {}).get("schema")
        props = _resolve(doc, schema or {}).get("properties", {})
        if "items" in props:
            pages.append(path)
            assert "next_cursor" in props, f"{path} lists items without a next_cursor"
    assert "/api/v1/orders" in pages and "/api/v1/products" in pages, pages


def test_every_path_id_is_a_bounded_integer(doc):
    """A record id in a path is 1..2**63-1 (api.params.Id), so a wild one never reaches the database."""
    loose = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                if param["in"] != "path" or not param["name"].endswith("_id"):
                    continue
                schema = param["schema"]
                if (schema.get("type"), schema.get("minimum"), schema.get("maximum")) != (
                    "integer",
                    1,
                    2**63 - 1,
                ):
                    loose.append(f"{method.upper()} {path}: {param['name']}")
    assert not loose, "path ids without api.params.Id:\n" + "\n".join(sorted(loose))


WILD_IDS = ("-1", "0", str(2**63), "99999999999999999999999")
ID_ROUTES = (
    ("get", "/api/v1/orders/{id}"),
    ("post", "/api/v1/orders/{id}/cancel"),
    ("get", "/api/v1/products/{id}"),
    ("get", "/api/v1/carts/{id}"),
    ("get", "/api/v1/approvals/{id}"),
    ("post", "/api/v1/shifts/{id}/close"),
    ("delete", "/api/v1/tokens/{id}"),
    ("get", "/api/v1/orders/1/parcels/{id}/label.pdf"),
)


async def test_a_wild_id_is_refused_never_a_server_error(sqlite_db, settings):
    async with sqlite_db.sessionmaker.begin() as s:
        b = await create_branch(s)
        admin = await create_user(s, grants=[("admin", None), ("manager", b.id)])
    api = await token_client(make_app(sqlite_db, settings), sqlite_db, admin)
    bodies = {"post": {"reason": "x", "closing_count_minor": 0}}
    for method, template in ID_ROUTES:
        for wild in WILD_IDS:
            url = template.replace("{id}", wild)
            kw = {"json": bodies[method]} if method in bodies else {}
            r = await api.request(method.upper(), url, **kw)
            assert r.status_code in (404, 422), f"{method} {url}: {r.status_code} {r.text[:200]}"
            assert r.headers["content-type"].startswith("application/problem+json"), url
    # An id in a body is held to the same range before it can reach a workflow.
    r = await api.post("/api/v1/carts/1/items", json={"product_id": 2**63, "qty": 1})
    assert r.status_code == 422 and r.json()["code"] == "validation_failed", r.text


def test_every_operation_documents_its_error_responses(doc):
    """401, 403, 404, 409, 413, 422 and 503 as Problem Details on every operation (issue 16)."""
    missing = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for code in ("401", "403", "404", "409", "413", "422", "503"):
                content = op.get("responses", {}).get(code, {}).get("content", {})
                if "application/problem+json" not in content:
                    missing.append(f"{method.upper()} {path} {code}")
    assert not missing, "undocumented error responses:\n" + "\n".join(missing[:20])
    assert "Retry-After" in doc["paths"]["/api/v1/carts"]["post"]["responses"]["503"]["headers"]


async def test_a_wrong_method_is_a_405_that_says_what_is_allowed(sqlite_db, settings):
    from tests.helpers import client_for

    c = client_for(make_app(sqlite_db, settings))
    r = await c.delete("/api/v1/carts")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_fixed_path_beside_an_id_route_answers_405_not_the_id_routes_422(sqlite_db, settings):
    """`/customers/duplicates` is not `/customers/{customer_id}`: another method there is a 405
    that names the methods served (fuzz ST204/ST205), while a wild id still gets its words."""
    async with sqlite_db.sessionmaker.begin() as s:
        admin = await create_user(s, grants=[("admin", None)])
    api = await token_client(make_app(sqlite_db, settings), sqlite_db, admin)
    for method, path, allow in (
        ("PATCH", "/api/v1/customers/duplicates", "GET"),
        ("PATCH", "/api/v1/aftersales/cases/work", "GET"),
        ("OPTIONS", "/api/v1/vendor-payouts/runs", "POST"),
        ("POST", "/api/v1/promotions/1/codes.csv", "GET"),
    ):
        r = await api.request(method, path)
        assert (r.status_code, r.headers.get("allow")) == (405, allow), f"{method} {path}: {r.text[:200]}"
    r = await api.patch("/api/v1/customers/-1", json={})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "customer_id"


def test_number_bounds_use_json_schema_words(doc):
    """Pydantic writes an optional number's bounds as `ge`/`le`, which JSON Schema ignores; the
    document says `minimum`/`maximum` (a refused 0 was "schema-valid" before)."""
    import json

    text = json.dumps(doc)
    assert not any(f'"{k}":' in text for k in ("ge", "le", "gt", "lt"))
    price = doc["components"]["schemas"]["ProductUpdate"]["properties"]["price_minor"]["anyOf"][0]
    assert (price["minimum"], price["maximum"]) == (0, 10**11)


def test_a_rule_the_schema_cannot_state_is_a_409(doc):
    """A refusal by the records' state or a rule across fields (backroom.errors.Refused) is 409,
    documented on every operation; 422 stays for values wrong in themselves."""
    from backroom.credit.errors import CurrencyMismatch
    from backroom.errors import InvalidInput, Refused
    from backroom.orders.errors import CartEmpty

    assert (Refused.status, CartEmpty.status, CurrencyMismatch.status, InvalidInput.status) == (
        409,
        409,
        409,
        422,
    )
    assert issubclass(Refused, InvalidInput)  # a form shows it beside its field like any input error
    assert "409" in doc["paths"]["/api/v1/carts/{cart_id}/checkout"]["post"]["responses"]


def _models(tp) -> list:
    from pydantic import BaseModel

    args = typing.get_args(tp)
    if args:
        return [m for a in args for m in _models(a)]
    return [tp] if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def test_every_json_body_takes_json_types_as_sent():
    """Every request body model (and each model nested in one) derives from backroom.inputs.Input,
    so what the document says is an integer, a boolean or a time is what the API accepts."""
    from api.app import create_app
    from backroom.inputs import Input
    from tests.api.routes import app_routes

    def dependants(d):
        yield d
        for sub in d.dependencies:
            yield from dependants(sub)

    seen, todo = set(), []
    for route in app_routes(create_app()):
        if route.is_api:
            for d in dependants(route.route.dependant):
                todo += [m for p in d.body_params for m in _models(p.field_info.annotation)]
    while todo:
        model = todo.pop()
        if model not in seen:
            seen.add(model)
            todo += [m for f in model.model_fields.values() for m in _models(f.annotation)]
    assert len(seen) > 40
    assert sorted(m.__name__ for m in seen if not issubclass(m, Input)) == []
