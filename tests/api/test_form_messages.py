"""Issue 15 item 8: staff forms answer in a shop worker's words, accept optional fields left
blank, and never answer 500, whatever is typed (a credit limit of 99999999999999999999 was a
500 on the staff page while the API answered 422)."""

from __future__ import annotations

import re
import uuid
from html import unescape
from html.parser import HTMLParser
from urllib.parse import unquote

from sqlalchemy import select

from backroom.catalog.models import Product
from backroom.complaints import service as complaints
from backroom.complaints.schemas import ComplaintCreate
from backroom.credit import ledger
from tests.helpers import (
    TEST_ACTOR,
    add_order,
    browser_client,
    create_customer,
    create_user,
    make_app,
    make_promotion,
    make_shop,
    staff,
    uniq,
)

HUGE = "99999999999999999999"
# What a person must never read: pydantic's wording, a model's class name, the API's units.
MACHINE_WORDS = re.compile(
    r"Input should|Field required|validation error|String should|CreditSale|LimitChangeIn|"
    r"[A-Z][a-z]+(Create|Update|Form|In)\b|value is not a valid|Internal Server Error"
)


def _said(resp) -> str:
    """The page's text, or the flash a redirect carries."""
    if resp.status_code in (302, 303):
        return unquote(resp.headers.get("location", ""))
    return unescape(resp.text)


async def test_form_errors_read_as_sentences_about_the_field(sqlite_db, settings):
    people = await staff(sqlite_db, roles=("manager",))
    async with sqlite_db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
    ui = await browser_client(make_app(sqlite_db, settings), people["manager"].username)
    blank = await ui.post(
        "/customers",
        data={"csrf_token": ui.csrf, "name": "   ", "home_branch_id": str(people["branch"].id)},
    )
    assert blank.status_code == 422 and "Enter a name" in blank.text
    assert not MACHINE_WORDS.search(_said(blank))
    address = {
        "csrf_token": ui.csrf,
        "kind": "shipping",
        "line1": "1 Main St",
        "city": "Town",
        "country": "usa",
    }
    resp = await ui.post(f"/customers/{cust.id}/addresses/new", data=address)
    assert "Country must be a two-letter code such as US" in _said(resp)
    assert not MACHINE_WORDS.search(_said(resp))
    mail = await ui.post(
        f"/customers/{cust.id}/edit", data={"csrf_token": ui.csrf, "name": "Ann", "email": "ann"}
    )
    assert mail.status_code == 422 and "E-mail address must look like name@example.com" in mail.text


async def test_blank_optional_product_fields_are_accepted(sqlite_db, settings):
    async with sqlite_db.sessionmaker.begin() as s:
        admin = await create_user(s, grants=[("admin", None)])
    ui = await browser_client(make_app(sqlite_db, settings), admin.username)
    sku = uniq("SKU-")
    form = {
        "csrf_token": ui.csrf,
        "sku": sku,
        "name": "Desk lamp",
        "category": "lamps",
        "price": "25.00",
    }
    blanks = dict.fromkeys(["currency", "tax_rate", "weight_g", "length_mm", "width_mm", "height_mm"], "")
    resp = await ui.post("/catalog/new", data={**form, **blanks, "warranty_months": ""})
    assert resp.status_code == 303, _said(resp)[:500]
    async with sqlite_db.read_sessionmaker() as s:
        product = await s.scalar(select(Product).where(Product.sku == sku))
    assert (
        product.price_minor,
        product.currency,
        product.tax_rate_bp,
        product.weight_g,
        product.warranty_months,
    ) == (
        2500,
        "USD",
        0,
        0,
        0,
    )


async def test_a_credit_limit_past_any_the_ledger_holds_is_refused_in_words(sqlite_db, settings):
    people = await staff(sqlite_db, roles=("clerk", "finance"))
    async with sqlite_db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
        await ledger.open_account(s, actor=TEST_ACTOR, customer_id=cust.id)
    app = make_app(sqlite_db, settings)
    clerk = await browser_client(app, people["clerk"].username)
    form = {"csrf_token": clerk.csrf, "requested_limit": HUGE, "reason": "Big spender"}
    resp = await clerk.post(f"/customers/{cust.id}/credit-limit", data=form)
    assert resp.status_code == 422 and "Credit limit is too large" in resp.text
    assert HUGE in resp.text  # the input stays in the box
    finance = await browser_client(app, people["finance"].username)
    sale = {"csrf_token": finance.csrf, "amount": HUGE, "reference": "INV-1"}
    resp = await finance.post(f"/credit/customers/{cust.id}/payment", data=sale)
    assert resp.status_code == 303 and "Amount is too large" in _said(resp)
    assert not MACHINE_WORDS.search(_said(resp))


class _Forms(HTMLParser):
    """The POST forms of a page: (action, {field: value}, [fields a person types into])."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict, list]] = []
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            if (a.get("method") or "").lower() == "post" and a.get("action"):
                self.forms.append((a["action"], {}, []))
            else:
                self.forms.append(("", {}, []))
            return
        if not self.forms or not a.get("name"):
            if tag == "option" and self._select and self.forms:
                self.forms[-1][1].setdefault(self._select, a.get("value", ""))
            return
        _action, values, typed = self.forms[-1]
        name = a["name"]
        if tag == "select":
            self._select = name
        elif tag == "textarea":
            values[name], _ = "Words", typed.append(name)
        elif tag == "input":
            kind = a.get("type", "text")
            if kind == "hidden":
                values[name] = a.get("value", "")
            elif kind in ("checkbox", "radio"):
                values.setdefault(name, a.get("value", "on"))
            elif kind not in ("submit", "file", "button"):
                values[name] = a.get("value") or ("3" if kind == "number" else "Words")
                typed.append(name)

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


# Forms that end the session or remove the record the sweep walks through.
DESTRUCTIVE = re.compile(r"logout|deactivate|erase|merge|archive|remove|cancel|revoke|/decision")


async def test_huge_numbers_in_every_staff_form_are_refused_in_words_never_a_500(sqlite_db, settings):
    """Open the staff pages of real records, and send each of their forms once per field a
    person types into, with 99999999999999999999 in that field."""
    async with sqlite_db.sessionmaker.begin() as s:
        admin = await create_user(s, grants=[("admin", None)])
        branch, _b, (product,) = await make_shop(s)
        cust = await create_customer(s, branch=branch)
        await ledger.open_account(s, actor=TEST_ACTOR, customer_id=cust.id)
        order = await add_order(s, cust, total_minor=5000, placed_at=cust.created_at, status="placed")
        promo = await make_promotion(s, branch, submit=False)
        complaint = await complaints.open_complaint(
            s,
            data=ComplaintCreate(
                customer_id=cust.id, channel="phone", category="late", severity="low", description="Late"
            ),
            actor=TEST_ACTOR,
            sla=settings.complaint_sla,
            reopen_minutes=60,
        )
    ui = await browser_client(make_app(sqlite_db, settings), admin.username)
    pages = [
        f"/orders/{order.id}",
        f"/promotions/{promo.id}",
        f"/complaints/{complaint.id}",
        "/aftersales/new",
        "/warranties",
        "/vendors/new",
        "/segments/new",
        "/admin/users",
        f"/admin/branches/{branch.id}/calendar",
        "/report-subscriptions",
        f"/customers/{cust.id}",
        f"/credit/customers/{cust.id}",
        "/customers",
        "/catalog/new",
        f"/catalog/{product.id}",
        f"/complaints/new?customer_id={cust.id}",
        "/shifts",
        "/loyalty",
        "/promotions/new",
        "/account/tokens",
        f"/admin/users/{admin.id}",
    ]
    failures, sent = [], 0
    for page in pages:
        html = await ui.get(page)
        assert html.status_code == 200, page
        parser = _Forms()
        parser.feed(html.text)
        for action, values, typed in parser.forms:
            if not action or DESTRUCTIVE.search(action):
                continue
            for name in typed:
                data = {**values, name: HUGE, "submission_key": uuid.uuid4().hex}
                resp = await ui.post(action, data=data)
                sent += 1
                said = _said(resp)
                if resp.status_code >= 500 or MACHINE_WORDS.search(said):
                    found = MACHINE_WORDS.search(said)
                    failures.append(f"{page} -> {action} [{name}]: {resp.status_code} {found and found[0]}")
    assert sent >= 30
    assert failures == [], "\n".join(failures)
