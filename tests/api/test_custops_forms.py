"""Staff forms whose use case refuses: the page comes back with the reason in words and the
refused attempt leaves nothing behind (no record, no workflow start, no audit event)."""

from sqlalchemy import func, select

from backroom.audit.models import AuditEvent
from backroom.credit.models import CreditLimitRequest
from backroom.starts.models import WorkflowStart
from tests.custops_helpers import create_customer, staff
from tests.helpers import browser_client, make_app


async def test_a_refused_limit_request_renders_the_reason_and_writes_nothing(db, settings, dev_env):
    people = await staff(db, roles=("clerk",))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
    app = make_app(db, settings, temporal_client=dev_env.client)
    ui = await browser_client(app, people["clerk"].username)
    form = {"csrf_token": ui.csrf, "requested_limit": "800.00", "reason": "Regular buyer"}
    assert (await ui.post(f"/customers/{cust.id}/credit-limit", data=form)).status_code == 303
    again = await ui.post(f"/customers/{cust.id}/credit-limit", data={**form, "requested_limit": "900.00"})
    assert again.status_code == 422 and "still pending" in again.text
    same = await ui.post(f"/customers/{cust.id}/credit-limit", data={**form, "requested_limit": "0.00"})
    assert same.status_code == 422 and "equals the current limit" in same.text
    async with db.sessionmaker() as s:
        requests = await s.scalar(
            select(func.count())
            .select_from(CreditLimitRequest)
            .where(CreditLimitRequest.customer_id == cust.id)
        )
        started = await s.scalar(
            select(func.count()).select_from(WorkflowStart).where(WorkflowStart.customer_id == cust.id)
        )
        audited = await s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "credit_limit.request", AuditEvent.entity_id == str(cust.id))
        )
    assert (requests, started, audited) == (1, 1, 1)


async def test_a_refused_complaint_form_keeps_the_input(db, settings, dev_env):
    people = await staff(db, roles=("agent",))
    app = make_app(db, settings, temporal_client=dev_env.client)
    ui = await browser_client(app, people["agent"].username)
    r = await ui.post(
        "/complaints/new",
        data={
            "csrf_token": ui.csrf,
            "customer_id": "987654321",
            "channel": "phone",
            "category": "damaged",
            "severity": "high",
            "description": "Cracked lid",
        },
    )
    assert r.status_code == 422 and "Cracked lid" in r.text, r.text[:300]
    assert "Customer 987654321 does not exist" in r.text
