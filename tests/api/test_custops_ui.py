"""Staff pages: complaint queue and form, complaint page, credit page, customer sections, tasks, mailbox."""

import re
from datetime import timedelta
from urllib.parse import unquote

from backroom.complaints.models import Complaint
from backroom.credit import ledger
from backroom.db.base import utcnow
from backroom.notifications.sender import send_pending
from tests.helpers import TEST_ACTOR, browser_client, create_customer, make_app, staff, uniq


async def test_agent_logs_complaint_through_the_form(db, settings, dev_env):
    people = await staff(db, roles=("agent", "warehouse"))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"], name=f"Queue {uniq()}")
    app = make_app(db, settings, temporal_client=dev_env.client)
    ui = await browser_client(app, people["agent"].username)
    bad = await ui.post(
        "/complaints/new",
        data={
            "csrf_token": ui.csrf,
            "customer_id": str(cust.id),
            "channel": "phone",
            "category": "x",
            "severity": "high",
            "description": "broken",
        },
    )
    assert bad.status_code == 422 and "field-error" in bad.text
    r = await ui.post(
        "/complaints/new",
        data={
            "csrf_token": ui.csrf,
            "customer_id": str(cust.id),
            "channel": "phone",
            "category": "damaged",
            "severity": "critical",
            "description": "broken",
        },
    )
    assert r.status_code == 303
    cid = int(re.search(r"/complaints/(\d+)", r.headers["location"]).group(1))
    page = await ui.get(f"/complaints/{cid}")
    assert page.status_code == 200 and "On track" in page.text and "Logged" in page.text
    queue = await ui.get("/complaints")
    assert f"/complaints/{cid}" in queue.text
    r = await ui.post(f"/complaints/{cid}/await", data={"csrf_token": ui.csrf, "message": "asked for photo"})
    assert r.status_code == 303
    assert "paused" in (await ui.get(f"/complaints/{cid}")).text
    assert (await ui.post(f"/complaints/{cid}/resolve", data={"outcome": "x"})).status_code == 403  # no CSRF
    # Compensation is typed in the customer's currency ("12.50"), never in minor units.
    page = await ui.get(f"/complaints/{cid}")
    assert 'name="amount"' in page.text and "minor" not in page.text
    bad = await ui.post(
        f"/complaints/{cid}/resolve",
        data={
            "csrf_token": ui.csrf,
            "outcome": "Sent a voucher",
            "compensation": "goodwill",
            "amount": "12.505",
        },
    )
    assert "Enter%20an%20amount%20in%20USD%20such%20as%2012.50" in bad.headers["location"]
    r = await ui.post(
        f"/complaints/{cid}/resolve",
        data={
            "csrf_token": ui.csrf,
            "outcome": "Sent a voucher",
            "compensation": "goodwill",
            "amount": "12.50",
        },
    )
    assert r.status_code == 303 and "Saved" in unquote(r.headers["location"])
    async with db.read_sessionmaker() as s:
        assert (await s.get(Complaint, cid)).compensation_minor == 1250
    wh = await browser_client(app, people["warehouse"].username)
    assert (await wh.get("/complaints")).status_code == 403


async def test_credit_page_and_customer_sections(db, settings, dev_env):
    people = await staff(db, roles=("finance", "clerk", "agent"))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"], credit_limit_minor=20_000)
        acct = await ledger.open_account(s, actor=TEST_ACTOR, customer_id=cust.id)
        await ledger.post_entry(
            s,
            actor=TEST_ACTOR,
            account_id=acct.id,
            kind="sale",
            amount_minor=5_000,
            currency="USD",
            reference=uniq("inv"),
            occurred_at=utcnow() - timedelta(days=50),
        )
    app = make_app(db, settings, temporal_client=dev_env.client)
    fin = await browser_client(app, people["finance"].username)
    r = await fin.post(
        f"/credit/customers/{cust.id}/payment",
        data={"csrf_token": fin.csrf, "amount": "10.00", "reference": uniq("pay")},
    )
    assert "Payment%20posted" in r.headers["location"]
    page = await fin.get(f"/credit/customers/{cust.id}")
    assert page.status_code == 200 and "40.00 USD" in page.text and "31-60" in page.text
    r = await fin.post(
        f"/credit/customers/{cust.id}/terms",
        data={"csrf_token": fin.csrf, "terms_days": "45", "grace_days": "10"},
    )
    assert "Terms%20saved" in r.headers["location"]
    assert "45+10 d" in (await fin.get(f"/credit/customers/{cust.id}")).text
    bad = await fin.post(
        f"/credit/customers/{cust.id}/payment",
        data={"csrf_token": fin.csrf, "amount": "1.234", "reference": uniq("pay")},
    )
    assert "Not%20saved" in bad.headers["location"]
    agent = await browser_client(app, people["agent"].username)
    r = await agent.post(
        f"/customers/{cust.id}/interactions/new",
        data={
            "csrf_token": agent.csrf,
            "channel": "call",
            "direction": "inbound",
            "subject": "Asked about invoice",
        },
    )
    assert r.status_code == 303
    r = await agent.post(
        f"/customers/{cust.id}/tasks/new",
        data={"csrf_token": agent.csrf, "title": "Send statement", "due_at": "2030-01-01T09:00"},
    )
    assert "Follow-up" in r.headers["location"]
    ops_page = await agent.get(f"/customers/{cust.id}")
    assert "Asked about invoice" in ops_page.text and "Send statement" in ops_page.text
    assert "Credit sale" in ops_page.text or "credit" in ops_page.text
    tasks = await agent.get("/tasks")
    assert "Send statement" in tasks.text
    assert (
        await agent.post(
            f"/credit/customers/{cust.id}/payment",
            data={"csrf_token": agent.csrf, "amount": "1", "reference": uniq()},
        )
    ).status_code == 403


async def test_mailbox_lists_sent_messages(db, settings, dev_env):
    people = await staff(db, roles=("agent",))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
    app = make_app(db, settings, temporal_client=dev_env.client)
    ui = await browser_client(app, people["agent"].username)
    await ui.post(
        "/complaints/new",
        data={
            "csrf_token": ui.csrf,
            "customer_id": str(cust.id),
            "channel": "email",
            "category": "billing",
            "severity": "low",
            "description": "double charge",
        },
    )
    await send_pending(db.sessionmaker, settings)
    page = await ui.get("/mailbox")
    assert cust.email in page.text and "We received your complaint" in page.text
    other = await staff(db, roles=("agent",))
    stranger = await browser_client(app, other["agent"].username)
    assert cust.email not in (await stranger.get("/mailbox")).text  # another branch's mail


async def test_the_complaint_form_offers_the_customers_own_orders(sqlite_db, settings):
    """The order is chosen from the customer's orders; another customer's order is refused
    on the form, in words, before anything is logged."""
    from tests.helpers import make_shop, place

    db = sqlite_db
    people = await staff(db, roles=("agent",))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
        other = await create_customer(s, branch=people["branch"])
        shop, _b, (p1,) = await make_shop(s)
    order = await place(db, shop, [(p1.id, 1)])
    async with db.sessionmaker.begin() as s:
        from backroom.orders.models import Order

        (await s.get(Order, order.id)).customer_id = cust.id
    ui = await browser_client(make_app(db, settings), people["agent"].username)
    page = (await ui.get(f"/complaints/new?customer_id={cust.id}")).text
    assert f'<option value="{order.id}"' in page
    assert f'<option value="{order.id}"' not in (await ui.get(f"/complaints/new?customer_id={other.id}")).text
    form = {
        "csrf_token": ui.csrf,
        "customer_id": str(other.id),
        "channel": "phone",
        "category": "damaged",
        "severity": "high",
        "description": "broken",
        "order_id": str(order.id),
    }
    r = await ui.post("/complaints/new", data=form)
    assert r.status_code == 422 and "not one of this customer" in r.text
