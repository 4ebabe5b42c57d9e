"""Dashboards, alerts and analytics through the API and the pages: branch scoping, the auditor
reads everything and changes nothing, roles without the function get 403, bad input is 4xx."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi import Request
from sqlalchemy import select

from api.deps import Session, require
from api.ui.dashboards import home_dashboard
from backroom.alerts import service as alerts
from backroom.audit.context import Actor
from backroom.auth.principal import Principal
from backroom.starts.models import WorkflowStart
from tests.backroom.analytics.synthetic import orders_per_day
from tests.helpers import browser_client, create_branch, create_user, make_app, token_client, uniq

SWEEP = Actor.system("test-sweep")


async def _world(db):
    async with db.sessionmaker.begin() as s:
        a, b = await create_branch(s), await create_branch(s)
        people = {
            "manager": await create_user(s, grants=[("manager", a.id)], username=uniq("mgr")),
            "auditor": await create_user(s, grants=[("auditor", None)]),
            "vendor": await create_user(s, grants=[("vendor", a.id)]),
            "clerk": await create_user(s, grants=[("clerk", a.id)]),
            "agent": await create_user(s, grants=[("agent", a.id)]),
        }
        today = datetime.now(UTC).date()
        await orders_per_day(s, branch=a, first=today - timedelta(days=40), counts=[3] * 41)
        mine, _ = await alerts.raise_alert(
            s,
            key=uniq("order-1:"),
            kind="pick_timeout",
            severity="warning",
            branch_id=a.id,
            title="Pick late",
            link="/orders/1",
            actor=SWEEP,
        )
        theirs, _ = await alerts.raise_alert(
            s,
            key=uniq("order-2:"),
            kind="payment_stuck",
            severity="warning",
            branch_id=b.id,
            title="Stuck",
            link="/orders/2",
            actor=SWEEP,
        )
    return a, b, people, mine, theirs


async def test_manager_auditor_vendor_clerk_through_the_api(db, settings):
    a, b, people, mine, theirs = await _world(db)
    app = make_app(db, settings)
    mgr = await token_client(app, db, people["manager"])
    r = await mgr.get("/api/v1/dashboards/commerce")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["branches"] == [a.name]
    placed = next(c for c in body["cards"] if c["measure"] == "placed")
    assert placed["spans"][0]["label"] == "Today" and placed["spans"][2]["value"] >= 3
    assert [x["id"] for x in body["alerts"]] == [mine.id]
    assert (await mgr.get(f"/api/v1/dashboards/commerce?branch={b.id}")).status_code == 403
    assert (await mgr.get(f"/api/v1/alerts/{theirs.id}")).status_code == 403
    listed = (await mgr.get("/api/v1/alerts")).json()["items"]
    assert [x["id"] for x in listed] == [mine.id]
    assert (await mgr.get("/api/v1/alerts?status=bogus")).status_code == 422
    ack = await mgr.post(f"/api/v1/alerts/{mine.id}/acknowledge")
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    assert ack.json()["acknowledged_by"] == people["manager"].full_name
    assign = await mgr.post(f"/api/v1/alerts/{mine.id}/assign", json={"assignee_id": people["agent"].id})
    assert assign.status_code == 200 and assign.json()["assignee"] == people["agent"].full_name
    done = await mgr.post(f"/api/v1/alerts/{mine.id}/resolve", json={"note": "Picked"})
    assert done.json()["status"] == "resolved"
    assert (await mgr.post(f"/api/v1/alerts/{mine.id}/resolve", json={})).status_code == 409

    trend = await mgr.get(
        "/api/v1/analytics/trend", params={"function": "orders", "measure": "placed", "window": 30}
    )
    assert trend.status_code == 200 and trend.json()["total"] == 90
    assert (
        await mgr.get("/api/v1/analytics/trend", params={"function": "orders", "measure": "nope"})
    ).status_code == 404
    assert (
        await mgr.get(
            "/api/v1/analytics/trend", params={"function": "orders", "measure": "placed", "window": 8}
        )
    ).status_code == 422
    fc = (
        await mgr.get("/api/v1/analytics/forecast", params={"function": "orders", "measure": "placed"})
    ).json()
    assert fc["enough_history"] and fc["lower_95"] <= 3 <= fc["upper_95"]
    heat = await mgr.get("/api/v1/analytics/heatmap", params={"module": "commerce"})
    assert heat.status_code == 200

    auditor = await token_client(app, db, people["auditor"])
    seen = {x["id"] for x in (await auditor.get("/api/v1/alerts?status=")).json()["items"]}
    assert {mine.id, theirs.id} <= seen
    assert (await auditor.post(f"/api/v1/alerts/{theirs.id}/acknowledge")).status_code == 403
    assert (await auditor.get(f"/api/v1/dashboards/commerce?branch={b.id}")).status_code == 200
    target = {
        "function": "orders",
        "measure": "placed",
        "branch_id": a.id,
        "edition": "weekly",
        "period": "2026-W49",
        "value": "50",
    }
    assert (await auditor.post("/api/v1/analytics/targets", json=target)).status_code == 403

    vendor = await token_client(app, db, people["vendor"])
    assert (await vendor.get("/api/v1/alerts")).status_code == 403
    assert (
        await vendor.get("/api/v1/analytics/trend", params={"function": "orders", "measure": "placed"})
    ).status_code == 403
    clerk = await token_client(app, db, people["clerk"])
    assert (await clerk.get("/api/v1/analytics/heatmap")).status_code == 403
    assert (await clerk.get("/api/v1/dashboards/commerce")).status_code == 200


async def test_targets_below_threshold_apply_above_wait_for_approval(db, settings):
    a, b, people, *_ = await _world(db)
    app = make_app(db, settings)
    mgr = await token_client(app, db, people["manager"])
    week = date.today().isocalendar()
    label = f"{week[0]}-W{week[1]:02d}"
    base = {
        "function": "orders",
        "measure": "placed",
        "branch_id": a.id,
        "edition": "weekly",
        "period": label,
    }
    small = await mgr.post("/api/v1/analytics/targets", json={**base, "value": "25"})
    assert small.status_code == 201 and small.json()["status"] == "active" and small.json()["value"] == 25
    big = await mgr.post("/api/v1/analytics/targets", json={**base, "value": "20,000"})
    assert big.status_code == 201
    assert big.json()["value"] == 25 and big.json()["pending_value"] == 20000
    async with db.sessionmaker() as s:
        start = await s.scalar(
            select(WorkflowStart).where(WorkflowStart.workflow_id == big.json()["workflow_id"])
        )
    assert start is not None and start.workflow_type == "TargetApprovalWorkflow"
    bad = await mgr.post("/api/v1/analytics/targets", json={**base, "value": "lots"})
    assert bad.status_code == 422 and "whole number" in bad.json()["detail"]
    other = await mgr.post("/api/v1/analytics/targets", json={**base, "branch_id": b.id, "value": "5"})
    assert other.status_code == 403
    v = (
        await mgr.get(
            "/api/v1/analytics/variance",
            params={"function": "orders", "measure": "placed", "edition": "weekly"},
        )
    ).json()
    assert next(x for x in v["lines"] if x["baseline"] == "target")["value"] == 25


async def test_pages_render_with_filters_kept_in_links(db, settings):
    a, _b, people, mine, _ = await _world(db)
    settings.cookie_secure = False
    app = make_app(db, settings)
    ui = await browser_client(app, people["manager"].username)
    home = await ui.get("/dashboard")
    assert home.status_code == 303 and home.headers["location"] == "/dashboard/commerce"
    for path in (
        "/dashboard/commerce",
        "/dashboard/customer-ops",
        f"/dashboard/commerce/fragment?branch={a.id}",
    ):
        r = await ui.get(path)
        assert r.status_code == 200, (path, r.text[:500])
    for drill_qs in (f"user={people['clerk'].id}&shift=&category=", "category=Kitchen", "shift=99999"):
        for slug in ("commerce", "customer-ops"):
            r = await ui.get(f"/dashboard/{slug}?{drill_qs}")
            assert r.status_code == 200 and 'id="kpi-cards"' in r.text, (slug, drill_qs, r.text[:300])
    page = (await ui.get(f"/dashboard/commerce?branch={a.id}&category=")).text
    assert "Orders placed" in page and 'id="widgets"' in page and f"fragment?branch={a.id}" in page
    assert "/static/dashboard.js" in page and "<script>" not in page and "<svg" in page
    alerts_page = await ui.get("/alerts")
    assert alerts_page.status_code == 200 and "Pick late" in alerts_page.text
    one = await ui.get(f"/alerts/{mine.id}")
    assert one.status_code == 200 and 'href="/orders/1"' in one.text
    r = await ui.post(f"/alerts/{mine.id}/acknowledge", data={"csrf_token": ui.csrf})
    assert r.status_code == 303
    assert "acknowledged" in (await ui.get(f"/alerts/{mine.id}")).text
    for path in (
        "/analytics/commerce",
        "/analytics/customer-ops",
        f"/analytics/commerce?branch={a.id}&bucket=week&window=365",
    ):
        r = await ui.get(path)
        assert r.status_code == 200, (path, r.text[:800])
    assert "Forecast" in r.text and "Variance" in r.text
    assert (await ui.get("/analytics/commerce?window=12")).status_code == 422


async def test_home_dashboard_renders_the_role_fitting_module_in_place(db, settings):
    _a, _b, people, *_ = await _world(db)
    settings.cookie_secure = False
    app = make_app(db, settings)

    # What api/ui/home.py's "/" does once it hands over to the dashboard (one line there).
    async def start_page(request: Request, session: Session, p: Principal = require("dashboard", "read")):
        return await home_dashboard(request, session, p)

    app.add_api_route("/start-page-test", start_page)
    for role, title in (("manager", "E-commerce"), ("agent", "Customer Operations")):
        ui = await browser_client(app, people[role].username)
        r = await ui.get("/start-page-test")
        assert r.status_code == 200 and f"<h1>{title}</h1>" in r.text, role


async def test_analytics_pdf_has_the_same_charts_and_is_audited(db, settings):
    import io

    from pypdf import PdfReader

    from backroom.audit.models import AuditEvent

    a, _b, people, *_ = await _world(db)
    settings.cookie_secure = False
    app = make_app(db, settings)
    ui = await browser_client(app, people["manager"].username)
    page = (await ui.get(f"/analytics/commerce?branch={a.id}")).text
    assert 'id="analytics-pdf"' in page
    r = await ui.get(f"/analytics/commerce/export.pdf?branch={a.id}&window=30")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "Trend, last 30 days" in text and "Forecast" in text and "Page 1 of" in text
    async with db.read_sessionmaker() as s:
        ev = await s.scalar(
            select(AuditEvent)
            .where(AuditEvent.action == "analytics.export")
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    assert ev.actor_name == people["manager"].full_name and ev.entity_id == "commerce:orders.placed"
    agent = await browser_client(app, people["agent"].username)
    assert (await agent.get("/analytics/commerce/export.pdf")).status_code == 403


async def test_alert_list_pages_through_with_its_filters(db, settings):
    a, _b, people, *_ = await _world(db)
    async with db.sessionmaker.begin() as s:
        for i in range(3):
            await alerts.raise_alert(
                s,
                key=uniq(f"page{i}:"),
                kind="payment_failed",
                severity="critical",
                branch_id=a.id,
                title=f"Failed {i}",
                link=None,
                actor=SWEEP,
            )
    settings.cookie_secure = False
    app = make_app(db, settings)
    api = await token_client(app, db, people["manager"])
    first = (await api.get("/api/v1/alerts", params={"severity": "critical", "limit": 2})).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = (
        await api.get(
            "/api/v1/alerts", params={"severity": "critical", "limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    # A cursor of the right shape that is not ours names no page; another shape is invalid.
    assert (await api.get("/api/v1/alerts", params={"cursor": "garbage"})).status_code == 404
    assert (await api.get("/api/v1/alerts", params={"cursor": "not a cursor!"})).status_code == 422
    ui = await browser_client(app, people["manager"].username)
    page = await ui.get("/alerts?severity=critical&kind=payment_failed")
    assert page.status_code == 200 and page.text.count("Failed ") == 3 and "Pick late" not in page.text


async def test_odd_input_is_refused_in_words_never_a_500(db, settings):
    a, _b, people, mine, _ = await _world(db)
    app = make_app(db, settings)
    mgr = await token_client(app, db, people["manager"])
    m = {"function": "orders", "measure": "placed"}
    cases = [
        ("/api/v1/alerts", {"assignee_id": str(2**70)}),
        ("/api/v1/alerts", {"branch": "-3"}),
        ("/api/v1/alerts", {"kind": "nope"}),
        ("/api/v1/analytics/trend", {**m, "bucket": "fortnight"}),
        ("/api/v1/analytics/trend", {**m, "user": "abc"}),
        ("/api/v1/analytics/trend", {"function": "credit", "measure": "overdue_accounts"}),
        ("/api/v1/analytics/variance", {**m, "date": "0001-01-01"}),
        ("/api/v1/analytics/variance", {**m, "edition": "hourly"}),
        ("/api/v1/analytics/variance", {**m, "tolerance": "nan"}),
        ("/api/v1/analytics/forecast", {**m, "bucket": "year"}),
        ("/api/v1/analytics/heatmap", {"days": "0"}),
        ("/api/v1/analytics/heatmap", {"mode": "galaxy"}),
        ("/api/v1/analytics/heatmap/records", {"dow": "9"}),
        ("/api/v1/analytics/hours", {**m, "days": "2"}),
        ("/api/v1/dashboards/everything", {}),
        ("/api/v1/dashboards/commerce", {"type": "spaceship"}),
    ]
    for path, params in cases:
        r = await mgr.get(path, params=params)
        assert 400 <= r.status_code < 500, (path, params, r.status_code, r.text[:200])
        assert r.json().get("detail"), (path, params)
    base = {"function": "orders", "measure": "placed", "branch_id": a.id, "edition": "weekly"}
    for period, value in (("0001-W01", "5"), ("2026-W60", "5"), ("2026-W49", "1e400"), ("2026-W49", "-4")):
        r = await mgr.post("/api/v1/analytics/targets", json={**base, "period": period, "value": value})
        assert r.status_code == 422, (period, value, r.text[:200])
    r = await mgr.post(f"/api/v1/alerts/{mine.id}/assign", json={"assignee_id": 2**62})
    assert r.status_code == 409 and "works in this alert's branch" in r.json()["detail"]
