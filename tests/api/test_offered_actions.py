"""Issue 15 item 10: pages offer only what can be done. Every form a role sees posts to a route
whose permission that role holds in the record's branch (asked of the same Casbin enforcer the
routes use); a completed order offers no cancel and the API refuses it by the same rule; nobody
is offered a decision on their own request; a branch picker lists only branches where the
user may do what the form does."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from backroom.approvals import service as approvals
from backroom.complaints import service as complaints
from backroom.complaints.schemas import ComplaintCreate
from backroom.credit import ledger
from backroom.orders.flow import cancel_refusal, cancellable
from tests.api.routes import app_routes
from tests.helpers import (
    TEST_ACTOR,
    add_order,
    browser_client,
    create_branch,
    create_customer,
    create_user,
    make_app,
    make_shop,
    pending_approval,
    principal_of,
    uniq,
)

ROLES = ("manager", "supervisor", "clerk", "agent", "warehouse", "finance", "auditor", "technician")
# Routes that declare a broad permission and ask for the exact one by what the form posts.
EXACT = [
    (re.compile(r"/credit/customers/\d+/sale$"), ("credit", "create")),
    (re.compile(r"/credit/customers/\d+/payment$"), ("credit", "post")),
    (re.compile(r"/customers/\d+/interactions/new$"), ("crm", "create")),
    (re.compile(r"/customers/\d+/tasks/new$"), ("crm", "create")),
    (re.compile(r"/customers/\d+/(contacts|addresses)/new$"), ("customers", "update")),
    (re.compile(r"/customers/\d+/(contacts|addresses)/\d+/remove$"), ("customers", "update")),
]
NOT_A_TASK = {"/logout", "/shifts/open"}  # signing out; a shift is every cashier's own


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.actions: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post" and a.get("action"):
            self.actions.append(a["action"].split("?")[0])


def _permissions(app, action: str) -> set[tuple[str, str]]:
    for pattern, perm in EXACT:
        if pattern.search(action):
            return {perm}
    for route in app_routes(app):
        if route.method == "POST" and re.fullmatch(re.sub(r"\{[^}/]+\}", r"[^/]+", route.path), action):
            return route.permissions
    raise AssertionError(f"no route takes POST {action}")


async def test_every_form_a_role_sees_is_one_it_may_send(sqlite_db, settings):
    async with sqlite_db.sessionmaker.begin() as s:
        branch, _other, (product,) = await make_shop(s)
        cust = await create_customer(s, branch=branch)
        await ledger.open_account(s, actor=TEST_ACTOR, customer_id=cust.id)
        users = {role: await create_user(s, grants=[(role, branch.id)]) for role in ROLES}
        order = await add_order(s, cust, total_minor=5000, placed_at=cust.created_at, status="placed")
        complaint = await complaints.open_complaint(
            s,
            data=ComplaintCreate(
                customer_id=cust.id, channel="phone", category="late", severity="low", description="Late"
            ),
            actor=TEST_ACTOR,
            sla=settings.complaint_sla,
            reopen_minutes=60,
        )
    app = make_app(sqlite_db, settings)
    pages = [
        f"/orders/{order.id}",
        f"/complaints/{complaint.id}",
        "/aftersales",
        "/warranties",
        "/vendors",
        "/segments",
        "/report-subscriptions",
        "/",
        "/inbox",
        "/customers",
        f"/customers/{cust.id}",
        f"/credit/customers/{cust.id}",
        "/complaints",
        f"/complaints/new?customer_id={cust.id}",
        "/catalog",
        f"/catalog/{product.id}",
        "/orders",
        "/carts",
        "/loyalty",
        "/promotions",
        "/shifts",
        "/warehouse",
        "/alerts",
    ]
    offered, wrong = 0, []
    for role, user in users.items():
        p = await principal_of(sqlite_db, user)
        ui = await browser_client(app, user.username)
        for page in pages:
            resp = await ui.get(page)
            if resp.status_code != 200:
                continue
            parser = _Forms()
            parser.feed(resp.text)
            for action in parser.actions:
                if action in NOT_A_TASK:
                    continue
                offered += 1
                missing = [perm for perm in _permissions(app, action) if not p.can(*perm, branch.id)]
                if missing:
                    wrong.append(f"{role} on {page}: form to {action} needs {missing}")
    assert offered > 20
    assert wrong == [], "\n".join(wrong)


def test_one_cancel_rule_for_the_workflow_the_api_and_the_page():
    assert cancellable("placed") and cancellable("picking", ["picked", "pending"])
    assert not cancellable("completed") and not cancellable("cancelled")
    assert "refund it instead" in cancel_refusal("delivered")
    assert (
        cancel_refusal("packed", ["shipped", "pending"])
        == "A parcel has already shipped; refund the order instead."
    )


async def test_nobody_is_offered_a_decision_on_their_own_request(sqlite_db, settings):
    async with sqlite_db.sessionmaker.begin() as s:
        branch = await create_branch(s)
        finance = await create_user(s, grants=[("finance", branch.id)], full_name=f"Fay {uniq()}")
        other = await create_user(s, grants=[("finance", branch.id)])
        req = await pending_approval(s, branch.id)
        req.requested_by_id, req.requested_by_name = finance.id, finance.full_name
    async with sqlite_db.read_sessionmaker() as s:
        mine = await approvals.inbox(s, p=await principal_of(sqlite_db, finance))
        theirs = await approvals.inbox(s, p=await principal_of(sqlite_db, other))
    assert req.id not in [r.id for r in mine] and req.id in [r.id for r in theirs]
    ui = await browser_client(make_app(sqlite_db, settings), finance.username)
    page = await ui.get("/inbox")
    assert f'action="/inbox/{req.id}/decision"' not in page.text
    assert f"#{req.id}" in page.text  # under "Your requests"


async def test_branch_pickers_list_only_branches_where_the_user_may_act(sqlite_db, settings):
    async with sqlite_db.sessionmaker.begin() as s:
        north, south = (
            await create_branch(s, name=f"North {uniq()}"),
            await create_branch(s, name=f"South {uniq()}"),
        )
        clerk = await create_user(s, grants=[("clerk", north.id), ("auditor", south.id)])
    ui = await browser_client(make_app(sqlite_db, settings), clerk.username)
    for page in ("/customers", "/shifts"):
        text = (await ui.get(page)).text
        assert north.name in text, page
        assert south.name not in text, page
