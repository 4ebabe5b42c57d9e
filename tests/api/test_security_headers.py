"""Issue 15 item 4: response headers (no caching of people's data, no framing, no inline
script), a CSRF token on every state-changing form a visitor can reach, and CSV exports that
neither run formulas nor leave without an audit event."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from sqlalchemy import select

from backroom.audit.models import AuditEvent
from tests.api.routes import app_routes
from tests.helpers import browser_client, client_for, create_customer, make_app, staff, token_client, uniq

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"


def _csp(resp) -> dict[str, str]:
    return {
        d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2]
        for d in resp.headers["content-security-policy"].split(";")
    }


async def test_pages_and_answers_are_not_cached_framed_or_scripted_inline(db, settings):
    people = await staff(db, roles=("manager",))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
    app = make_app(db, settings)
    ui = await browser_client(app, people["manager"].username)
    api = await token_client(app, db, people["manager"])
    answers = [
        await ui.get(f"/customers/{cust.id}"),
        await ui.get("/"),
        await client_for(app).get("/login"),
        await client_for(app).get("/shop"),
        await api.get(f"/api/v1/customers/{cust.id}"),
    ]
    for resp in answers:
        assert resp.status_code == 200, resp.request.url
        assert resp.headers["cache-control"] == "no-store", resp.request.url
        assert resp.headers["x-frame-options"] == "DENY"
        csp = _csp(resp)
        assert csp["frame-ancestors"] == "'none'"
        assert csp["script-src"] == "'self'"  # no 'unsafe-inline', no other host
        assert csp["default-src"] == "'self'"
    # Files that are the same for everyone may still be cached by the browser.
    static = await ui.get("/static/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")


def test_no_template_has_inline_script():
    inline = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag:
                inline.append(f"{path.name}: {tag}")
        inline += [f"{path.name}: {m}" for m in re.findall(r"<[^>]+\son[a-z]+\s*=", text)]
        inline += [f"{path.name}: javascript: link" for _ in re.findall(r"javascript:", text)]
    assert inline == []


async def test_every_visitor_form_refuses_a_post_without_its_token(sqlite_db, settings):
    """Staff forms check the session's token in current_principal; these public ones (the shop,
    the card form's post-back, the repair quote, the unsubscribe links) check a double-submit cookie.
    Sign-in itself is left out: it acts for no one yet."""
    app = make_app(sqlite_db, settings)
    posts = [
        r
        for r in app_routes(app)
        if r.public and r.method == "POST" and not r.is_api and r.path not in ("/login", "/logout")
    ]
    assert "/shop/orders/{token}/payment" in {r.path for r in posts}
    visitor = client_for(app)
    await visitor.get("/shop")  # holds a shop cookie, but the form does not echo it
    for r in posts:
        resp = await visitor.post(r.url("some-token"), data={"result": "fail", "answer": "approve"})
        assert resp.status_code == 403, str(r)
        assert "page expired" in resp.text.lower(), str(r)


async def test_customer_export_neutralises_formulas_and_is_audited(db, settings):
    people = await staff(db, roles=("supervisor",))
    evil = f'=HYPERLINK("http://evil.test","{uniq()}")'
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"], name=evil, phone="+1 212 555 0102")
    app = make_app(db, settings)
    sup = await token_client(app, db, people["supervisor"])
    resp = await sup.get("/api/v1/customers/export.csv")
    assert resp.status_code == 200
    rows = {row[0]: row for row in csv.reader(io.StringIO(resp.text))}
    row = dict(zip(rows["id"], rows[str(cust.id)], strict=True))
    assert row["name"] == "'" + evil and row["phone"] == "'+1 212 555 0102"
    for cells in rows.values():
        assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    async with db.read_sessionmaker() as s:
        event = await s.scalar(
            select(AuditEvent)
            .where(
                AuditEvent.action == "customer.export", AuditEvent.actor_id == str(people["supervisor"].id)
            )
            .order_by(AuditEvent.id.desc())
        )
    assert event is not None and event.after["rows"] >= 1
    assert event.after["branch_ids"] == [people["branch"].id]


def test_the_card_form_policy_allows_the_stripe_js_origin_only():
    from api.security import CSP, csp_with_stripe

    stripe = csp_with_stripe("https://js.stripe.com/v3/")
    assert "script-src 'self' https://js.stripe.com;" in stripe
    assert "connect-src 'self' https://js.stripe.com https://api.stripe.com;" in stripe
    assert "frame-src https://js.stripe.com https://hooks.stripe.com;" in stripe
    local = csp_with_stripe("http://127.0.0.1:8420/js.stripe.com/v3/")
    assert "script-src 'self' http://127.0.0.1:8420;" in local and "stripe.com" not in local
    assert "stripe" not in CSP and "127.0.0.1" not in CSP  # every other page: our scripts only
