"""Hostile input at the edge: wild ids, LIKE wildcards, money as text or booleans, NUL bytes and
internal errors never reach the database's error text or a 500 page with internals."""

from __future__ import annotations

import httpx
import pytest

from api.routes import catalog as catalog_routes
from tests.helpers import client_for, create_customer, create_user, make_app, make_shop, token_client, uniq

HUGE_ID = 2**63


def product(**over) -> dict:
    return {"sku": uniq("SKU-"), "name": "Mug", "category": "kitchen", "price_minor": 1250, **over}


async def test_an_id_past_64_bits_is_a_quick_4xx(sqlite_db, settings):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        a, _b, _ = await make_shop(s)
        clerk = await create_user(s, grants=[("clerk", a.id)])
    app = make_app(db, settings)  # Temporal unreachable: a refusal must come before it
    api = await token_client(app, db, clerk)
    r = await api.post(f"/api/v1/carts/{HUGE_ID}/items", json={"product_id": 1, "qty": 1})
    assert r.status_code == 422
    r = await api.post("/api/v1/carts/1/items", json={"product_id": HUGE_ID, "qty": 1})
    assert r.status_code == 422 and "product_id" in r.text
    shop = client_for(app)
    await shop.get("/shop")
    form = {"csrf_token": shop.cookies.get("shop_sid"), "product_id": str(HUGE_ID), "qty": "1"}
    r = await shop.post("/shop/cart/add", data=form)
    assert 400 <= r.status_code < 500
    assert "INSERT" not in r.text and "SELECT" not in r.text and "location" not in r.headers


async def test_like_wildcards_match_themselves(db, settings):
    async with db.sessionmaker.begin() as s:
        boss = await create_user(s, grants=[("admin", None)])
    api = await token_client(make_app(db, settings), db, boss)
    tag = uniq("w")
    for name in (f"{tag} 50% off", f"{tag} plain", f"{tag} a_b"):
        assert (await api.post("/api/v1/products", json=product(name=name))).status_code == 201
    names = lambda r: sorted(p["name"] for p in r.json()["items"])  # noqa: E731
    assert names(await api.get("/api/v1/products", params={"q": f"{tag} 50%"})) == [f"{tag} 50% off"]
    assert names(await api.get("/api/v1/products", params={"q": f"{tag} a_"})) == [f"{tag} a_b"]
    assert names(await api.get("/api/v1/products", params={"q": f"{tag} _"})) == []


@pytest.mark.parametrize("price", ["100", True, 12.5, "12.50"])
async def test_money_is_a_whole_number_not_text_or_a_boolean(sqlite_db, settings, price):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        boss = await create_user(s, grants=[("admin", None)])
    api = await token_client(make_app(db, settings), db, boss)
    r = await api.post("/api/v1/products", json=product(price_minor=price))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "price_minor", r.text
    assert (await api.post("/api/v1/products", json=product(price_minor=100))).status_code == 201
    # 100.0 is the integer 100 in JSON Schema, which the document speaks
    assert (await api.post("/api/v1/products", json=product(price_minor=100.0))).status_code == 201


# (field, value): JSON of another type than the document says, which lax parsing once took
# (the fuzzer's ST201 finds: false as 0, 0 as "no", 0 as 1970-01-01, "5" as 5).
WRONG_TYPES = [
    ("serial_tracked", 0),
    ("serial_tracked", "true"),
    ("weight_g", False),
    ("weight_g", "5"),
    ("weight_g", 5.5),
]


@pytest.mark.parametrize(("field", "value"), WRONG_TYPES)
async def test_numbers_and_yes_no_fields_take_json_types_as_sent(sqlite_db, settings, field, value):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        boss = await create_user(s, grants=[("admin", None)])
    api = await token_client(make_app(db, settings), db, boss)
    r = await api.post("/api/v1/products", json=product(**{field: value}))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text


async def test_a_time_is_text_never_a_number(sqlite_db, settings):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        a, _b, _ = await make_shop(s)
        boss = await create_user(s, grants=[("admin", None)])
        customer = await create_customer(s, branch=a)
    api = await token_client(make_app(db, settings), db, boss)
    note = {"channel": "call", "direction": "outbound", "subject": "s", "body": "", "outcome": ""}
    url = f"/api/v1/customers/{customer.id}/interactions"
    r = await api.post(url, json={**note, "occurred_at": 0})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "occurred_at", r.text
    r = await api.post(url, json={**note, "occurred_at": "2026-11-30T10:00:00Z"})
    assert r.status_code == 201, r.text
    assert (await api.post(f"/api/v1/customers/{customer.id}/credit", json={})).status_code == 201
    statement = f"/api/v1/customers/{customer.id}/credit/statement"
    assert (await api.get(statement, params={"start": "0.5"})).status_code == 422
    assert (await api.get(statement, params={"start": "2026-11-01T00:00:00Z"})).status_code == 200


async def test_nul_characters_are_refused_on_both_databases(db, settings):
    async with db.sessionmaker.begin() as s:
        boss = await create_user(s, grants=[("admin", None)])
    api = await token_client(make_app(db, settings), db, boss)
    r = await api.post("/api/v1/products", json=product(name="Mug\u0000"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    r = await api.get("/api/v1/products", params={"q": "a\x00b"})
    assert r.status_code == 422
    assert (await api.post("/api/v1/products", json=product(name="Mug"))).status_code == 201


async def test_an_internal_error_says_nothing_of_its_cause(sqlite_db, settings, monkeypatch):
    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        boss = await create_user(s, grants=[("admin", None)])

    async def broken(*a, **kw):
        raise RuntimeError("SELECT password_hash FROM users WHERE id = 1")

    monkeypatch.setattr(catalog_routes.catalog, "list_products", broken)
    app = make_app(db, settings)
    api = await token_client(app, db, boss)
    api._transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    r = await api.get("/api/v1/products")
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/problem+json")
    assert "SELECT" not in r.text and r.json()["code"] == "internal_error"


async def test_an_error_whose_detail_names_a_status_is_not_a_500(sqlite_db, settings, monkeypatch):
    """Found by the fuzzer: an AppError carrying `status=` (a record's state) clashed with the
    Problem's own `status` and became a 500."""
    from backroom.errors import Conflict

    db = sqlite_db
    async with db.sessionmaker.begin() as s:
        boss = await create_user(s, grants=[("admin", None)])

    async def refuses(*a, **kw):
        raise Conflict("The promotion is archived.", status="archived")

    monkeypatch.setattr(catalog_routes.catalog, "list_products", refuses)
    api = await token_client(make_app(db, settings), db, boss)
    r = await api.get("/api/v1/products")
    assert r.status_code == 409 and r.json()["status"] == 409 and r.json()["record_status"] == "archived"


@pytest.mark.parametrize(("low", "high"), [(3, 300), (1, None), (0, 5), (1, 1)])
def test_a_stripped_texts_documented_pattern_says_what_the_model_accepts(low, high):
    """A model that strips whitespace counts what is left; the document's pattern counts the same
    (three spaces and 300 letters fit 300; "\\t" is empty), with Pydantic's own idea of space."""
    import re

    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    from backroom.inputs import stripped_length

    class Text(BaseModel):
        model_config = ConfigDict(str_strip_whitespace=True)
        a: str = Field(min_length=low, max_length=high)

    pattern = stripped_length(low, high)
    for text in (
        "",
        "\t",
        "a",
        "ab",
        " abc ",
        "a" * 5,
        "a" * 6,
        "   " + "a" * 300 + " ",
        "\x1cab",
        "\u3000a\u3000",
        "a b",
    ):
        try:
            Text(a=text)
            accepted = True
        except ValidationError:
            accepted = False
        assert bool(re.search(pattern, text)) == accepted, (text, low, high)
