"""Issue 15 item 9: the customer picker's type-ahead finds customers by name in any word order,
e-mail or phone however written, only in the user's branches; the complaint queue filters by
the user's own, level, status (resolved too) and customer and names each assignee; inbox rows
name and link the customer, order or account behind them."""

from __future__ import annotations

from html import unescape

from backroom.complaints import service as complaints
from backroom.complaints.schemas import ComplaintCreate
from tests.helpers import (
    TEST_ACTOR,
    add_order,
    browser_client,
    create_branch,
    create_customer,
    create_user,
    make_app,
    pending_approval,
    uniq,
)


async def test_the_picker_finds_by_name_any_order_email_and_phone_in_my_branches(db, settings):
    last = uniq("Pickett")
    async with db.sessionmaker.begin() as s:
        mine, other = await create_branch(s), await create_branch(s)
        ann = await create_customer(s, branch=mine, name=f"Ann {last}", phone="+1 212 555 0102")
        await create_customer(s, branch=other, name=f"Ann {last} Elsewhere", phone="212 555 0102")
        clerk = await create_user(s, grants=[("clerk", mine.id)])
    ui = await browser_client(make_app(db, settings), clerk.username)
    for q in (
        f"{last} ann",
        f"ann {last.lower()}",
        ann.email[: ann.email.index("@") + 3],
        "(212) 555-0102",
        "212-555-0102",
        "2125550102",
    ):
        found = (await ui.get("/customers/pick", params={"q": q})).json()
        assert [c["id"] for c in found] == [ann.id], q
        assert found[0]["name"] == ann.name and ann.email in found[0]["detail"]
    assert (await ui.get("/customers/pick", params={"q": "a"})).json() == []


async def _complaint(s, customer, settings, **kw):
    data = ComplaintCreate(
        customer_id=customer.id, channel="phone", category="late", severity="high", description="Late again"
    )
    c = await complaints.open_complaint(
        s, data=data, actor=TEST_ACTOR, sla=settings.complaint_sla, reopen_minutes=60
    )
    for k, v in kw.items():
        setattr(c, k, v)
    await s.flush()
    return c


async def test_the_complaint_queue_filters_and_names_the_assignee(db, settings):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        agent = await create_user(s, grants=[("agent", b.id)], full_name=f"Agnes {uniq()}")
        boss = await create_user(s, grants=[("supervisor", b.id)], full_name=f"Sue {uniq()}")
        ann, bob = await create_customer(s, branch=b), await create_customer(s, branch=b)
        ours = await _complaint(s, ann, settings, assignee_id=agent.id)
        raised = await _complaint(s, bob, settings, assignee_id=boss.id, level="supervisor")
        done = await _complaint(s, ann, settings, assignee_id=agent.id, status="resolved")
    ui = await browser_client(make_app(db, settings), agent.username)

    async def shown(**params) -> set[int]:
        page = await ui.get("/complaints", params=params)
        assert page.status_code == 200, page.text[:300]
        return {c for c in (ours.id, raised.id, done.id) if f'href="/complaints/{c}"' in page.text}

    assert await shown() == {ours.id, raised.id}
    assert await shown(mine="true") == {ours.id}
    assert await shown(level="supervisor") == {raised.id}
    assert await shown(status="resolved") == {done.id}
    assert await shown(status="all", customer=str(ann.id)) == {ours.id, done.id}
    page = unescape((await ui.get("/complaints")).text)
    assert agent.full_name in page and boss.full_name in page  # the assignee column
    assert (await ui.get("/complaints", params={"level": "boss"})).status_code == 422


async def test_inbox_rows_name_and_link_what_they_are_about(sqlite_db, settings):
    async with sqlite_db.sessionmaker.begin() as s:
        b = await create_branch(s)
        finance = await create_user(s, grants=[("finance", b.id)])
        cust = await create_customer(s, branch=b, name=f"Cora {uniq()}")
        order = await add_order(s, cust, total_minor=9000, placed_at=cust.created_at, status="review")
        limit = await pending_approval(s, b.id)
        limit.subject_id = str(cust.id)
        review = await pending_approval(s, b.id)
        review.subject_type, review.subject_id, review.function = "order", str(order.id), "orders"
    page = unescape(
        (await (await browser_client(make_app(sqlite_db, settings), finance.username)).get("/inbox")).text
    )
    assert f'<a href="/credit/customers/{cust.id}">Credit account of {cust.name}</a>' in page
    assert f'<a href="/orders/{order.id}">Order #{order.id} for {cust.name}</a>' in page
    assert f"customer {cust.id}" not in page and "branch " + str(b.id) not in page


async def test_credit_and_carts_choose_the_customer_with_the_picker(sqlite_db, settings):
    async with sqlite_db.sessionmaker.begin() as s:
        b = await create_branch(s)
        finance = await create_user(s, grants=[("finance", b.id), ("clerk", b.id)])
        cust = await create_customer(s, branch=b)
    ui = await browser_client(make_app(sqlite_db, settings), finance.username)
    for page in ("/credit", "/carts", "/complaints/new", "/aftersales/new", "/warranties"):
        text = (await ui.get(page)).text
        assert "data-customer-picker" in text and "/static/customer-picker.js" in text, page
    chosen = await ui.get("/credit", params={"customer": str(cust.id)})
    assert chosen.status_code == 303 and chosen.headers["location"] == f"/credit/customers/{cust.id}"
    typed = await ui.get("/credit", params={"customer": "Cora"})
    assert typed.status_code == 200 and "Choose a customer from the list" in typed.text
