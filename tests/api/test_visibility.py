"""Issue 15 item 2: what a role may not read it does not see, on the page or in an answer (the
customer timeline and audit trail leave out CRM interactions for finance), and secrets (the
shopper's order-page token) and server file paths (label_path) reach no page or answer."""

from __future__ import annotations

import re

from backroom.audit import service as audit
from backroom.crm import service as crm
from backroom.crm.models import Direction, InteractionChannel
from tests.helpers import (
    TEST_ACTOR,
    browser_client,
    create_customer,
    create_user,
    make_app,
    make_shop,
    place,
    staff,
    token_client,
    uniq,
)

LABEL = "/srv/backroom/var/labels/parcel-7-label.pdf"


async def test_finance_sees_no_crm_interaction_but_an_agent_does(db, settings):
    people = await staff(db, roles=("agent", "finance"))
    subject, body = f"Divorce papers {uniq()}", f"Asked us to keep it quiet {uniq()}"
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
        await crm.log_interaction(
            s,
            actor=TEST_ACTOR,
            customer_id=cust.id,
            channel=InteractionChannel.call,
            direction=Direction.inbound,
            subject=subject,
            body=body,
        )
    app = make_app(db, settings)
    finance = await browser_client(app, people["finance"].username)
    page = await finance.get(f"/customers/{cust.id}")
    assert page.status_code == 200 and cust.name in page.text
    assert subject not in page.text and body not in page.text and "interaction.log" not in page.text
    api = await token_client(app, db, people["finance"])
    timeline = await api.get(f"/api/v1/customers/{cust.id}/timeline")
    assert timeline.status_code == 200 and subject not in timeline.text and body not in timeline.text
    agent = await browser_client(app, people["agent"].username)
    seen = await agent.get(f"/customers/{cust.id}")
    assert subject in seen.text  # the role that may read interactions still sees them


async def test_order_token_and_label_path_reach_no_page_or_answer(db, settings):
    async with db.sessionmaker.begin() as s:
        a, _b, (product,) = await make_shop(s)
        manager = await create_user(s, grants=[("manager", a.id), ("auditor", None)])
    order = await place(db, a, [(product.id, 1)])
    async with db.sessionmaker.begin() as s:
        await audit.record(
            s,
            actor=TEST_ACTOR,
            action="parcel.label",
            entity_type="order",
            entity_id=order.id,
            branch_id=a.id,
            after={"label_path": LABEL, "tracking": "1Z999"},
        )
    app = make_app(db, settings)
    ui = await browser_client(app, manager.username)
    page = await ui.get(f"/orders/{order.id}")
    assert page.status_code == 200 and LABEL not in page.text
    trail = re.search(r'<table class="audit">.*?</table>', page.text, re.S).group(0)
    assert "Order place" in trail and "1Z999" in trail
    # The staff page links to the customer's page on purpose; the trail never spells the token.
    assert order.token not in trail
    api = await token_client(app, db, manager)
    events = await api.get("/api/v1/audit/events", params={"entity_type": "order", "entity_id": order.id})
    assert events.status_code == 200 and len(events.json()["items"]) >= 2
    assert order.token not in events.text and LABEL not in events.text
