"""Reports through the API: listing, JSON report, drilldown, exports (audited), and who may see
what (manager: the branch; clerk: only their own shifts; vendor: nothing)."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from backroom.audit.context import Actor
from backroom.audit.models import AuditEvent
from backroom.branches.service import open_shift
from tests.backroom.reports import records as r
from tests.backroom.reports.test_totals import DAY, INSIDE
from tests.helpers import browser_client, create_branch, create_user, make_app, token_client


async def _setup(db):
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s, timezone="America/New_York", name="Main Street")
        other = await create_branch(s, timezone="America/New_York")
        people = {
            role: await create_user(s, grants=[(role, b.id)], full_name=f"The {role.title()}")
            for role in ("manager", "clerk", "vendor", "auditor")
        }
        people["outsider"] = await create_user(s, grants=[("manager", other.id)])
        people["other_clerk"] = await create_user(s, grants=[("clerk", b.id)], full_name="Other Clerk")
        mine = await open_shift(s, actor=Actor.user(people["clerk"].id, "The Clerk"), branch_id=b.id)
        theirs = await open_shift(
            s, actor=Actor.user(people["other_clerk"].id, "Other Clerk"), branch_id=b.id
        )
        hats = await r.product(s, category="hats", price_minor=1000)
        for at in INSIDE:
            await r.order(
                s, branch=b, at=at, lines=[(hats, 1)], shift_id=mine.id, created_by_id=people["clerk"].id
            )
        await r.order(s, branch=b, at=INSIDE[1], lines=[(hats, 5)], shift_id=theirs.id)
        await r.order(s, branch=b, at=INSIDE[1], lines=[(hats, 7)])
    return b, other, people, mine, theirs


def _line(report, name):
    return next(x for x in report["summary"] if x["measure"] == name)


async def test_manager_reads_the_branch_report_and_drills_down(db, settings):
    b, _other, people, mine, _ = await _setup(db)
    app = make_app(db, settings)
    manager = await token_client(app, db, people["manager"])
    listing = (await manager.get("/api/v1/reports")).json()["items"]
    assert {i["function"] for i in listing} >= {
        "customers",
        "credit",
        "complaints",
        "crm",
        "carts",
        "payments",
        "orders",
        "shipping",
    }
    resp = await manager.get(f"/api/v1/reports/orders/daily?date={DAY}&branch={b.id}")
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert _line(report, "placed")["current"]["value"] == 5
    assert _line(report, "value")["current"]["display"] == "150.00 USD"
    bounds = report["period"]["bounds"][0]
    assert bounds["branch"] == "Main Street" and bounds["start_local"].startswith(f"{DAY}T00:00:00-05:00")
    assert bounds["start_utc"].startswith(f"{DAY}T05:00:00")
    by_shift = next(x for x in report["breakdowns"] if x["dimension"] == "shift")
    assert any(row["name"].startswith("The Clerk, ") for row in by_shift["rows"])
    link = _line(report, "placed")["drilldown"]
    assert link["ui"].startswith("/reports/orders/daily/drilldown?")
    items = (await manager.get(link["api"])).json()["items"]
    assert len(items) == 5 and all(i["link"].startswith("/orders/") for i in items)
    # Filters: one shift, then the clerk as the user.
    only = (
        await manager.get(f"/api/v1/reports/orders/daily?date={DAY}&branch={b.id}&shift={mine.id}")
    ).json()
    assert _line(only, "placed")["current"]["value"] == 3
    by_user = (
        await manager.get(f"/api/v1/reports/orders/daily?date={DAY}&branch={b.id}&user={people['clerk'].id}")
    ).json()
    assert _line(by_user, "placed")["current"]["value"] == 3 and by_user["filters"]["user"] == "The Clerk"


async def test_clerk_sees_only_own_shifts_and_vendor_nothing(db, settings):
    b, other, people, _mine, theirs = await _setup(db)
    app = make_app(db, settings)
    clerk = await token_client(app, db, people["clerk"])
    report = (await clerk.get(f"/api/v1/reports/orders/daily?date={DAY}")).json()
    assert _line(report, "placed")["current"]["value"] == 3
    assert report["filters"]["own_shifts_only"] is True
    # Asking for a colleague's shift shows nothing of it.
    asked = (await clerk.get(f"/api/v1/reports/orders/daily?date={DAY}&shift={theirs.id}")).json()
    assert _line(asked, "placed")["current"]["value"] == 0
    # Records without a shift (customers) cannot be attributed: shown as not available, not zero.
    cust = (await clerk.get(f"/api/v1/reports/customers/daily?date={DAY}")).json()
    assert _line(cust, "created")["current"]["available"] is False
    drill = (await clerk.get(f"/api/v1/reports/orders/daily/drilldown?measure=placed&date={DAY}")).json()
    assert len(drill["items"]) == 3
    assert (await clerk.get(f"/api/v1/reports/orders/daily/export?date={DAY}")).status_code == 403
    assert (await clerk.get(f"/api/v1/reports/orders/daily?date={DAY}&branch={other.id}")).status_code == 403

    vendor = await token_client(app, db, people["vendor"])
    assert (await vendor.get("/api/v1/reports")).status_code == 403
    assert (await vendor.get(f"/api/v1/reports/orders/daily?date={DAY}")).status_code == 403
    outsider = await token_client(app, db, people["outsider"])
    resp = await outsider.get(f"/api/v1/reports/orders/daily?date={DAY}&branch={b.id}")
    assert resp.status_code == 403 and "branch" in resp.json()["detail"]


async def test_exports_are_files_and_audited(db, settings):
    b, _other, people, _mine, _ = await _setup(db)
    app = make_app(db, settings)
    auditor = await token_client(app, db, people["auditor"])
    base = f"/api/v1/reports/orders/weekly/export?date={DAY}&branch={b.id}"
    resp = await auditor.get(base + "&format=csv")
    assert (
        resp.status_code == 200
        and 'filename="orders-weekly-2026-W46.csv"' in resp.headers["content-disposition"]
    )
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert next(row for row in rows if row[:1] == ["Orders placed"])[3] == "5"
    xlsx = await auditor.get(base + "&format=xlsx")
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert "By day" in wb.sheetnames
    pdf = await auditor.get(base + "&format=pdf")
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "2026-W46" in text and "Main Street" in text
    async with db.read_sessionmaker() as s:
        events = (
            (
                await s.execute(
                    select(AuditEvent).where(
                        AuditEvent.action == "report.export", AuditEvent.actor_id == str(people["auditor"].id)
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted(e.after["format"] for e in events) == ["csv", "pdf", "xlsx"]
    assert all(e.entity_id == "orders/weekly/2026-W46" and e.branch_id == b.id for e in events)
    bad = await auditor.get(base + "&format=docx")
    assert bad.status_code == 422
    assert (await auditor.get(f"/api/v1/reports/nothing/daily?branch={b.id}")).status_code == 404
    assert (await auditor.get(f"/api/v1/reports/orders/yearly?branch={b.id}")).status_code == 422
    unknown = await auditor.get(f"/api/v1/reports/orders/daily/drilldown?measure=nope&branch={b.id}")
    assert unknown.status_code == 404 and "placed" in unknown.json()["detail"]


async def test_report_pages_show_names_money_and_drill_links(db, settings):
    b, _other, people, _mine, _ = await _setup(db)
    app = make_app(db, settings)
    manager = await browser_client(app, people["manager"].username)
    index = await manager.get("/reports")
    assert index.status_code == 200 and 'href="/reports/orders/weekly"' in index.text
    page = await manager.get(f"/reports/orders/daily?date={DAY}&branch={b.id}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "150.00 USD" in html and "Main Street" in html and "The Clerk, " in html
    assert "EST" in html and "hats" in html  # branch-local bounds; category picker by name
    assert "/report-snapshots?function=orders&amp;edition=daily" in html
    assert f"/reports/orders/daily/drilldown?date={DAY}&amp;branch={b.id}&amp;measure=placed" in html
    drill = await manager.get(f"/reports/orders/daily/drilldown?date={DAY}&branch={b.id}&measure=placed")
    assert drill.status_code == 200 and drill.text.count("Open order") == 5
    bad = await manager.get(f"/reports/orders/daily?date=30-11-2026&branch={b.id}")
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    file = await manager.get(f"/reports/orders/monthly/export?format=xlsx&date={DAY}&branch={b.id}")
    assert file.status_code == 200 and load_workbook(io.BytesIO(file.content)).sheetnames[0] == "Summary"
    async with db.read_sessionmaker() as s:
        ev = await s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "report.export", AuditEvent.actor_id == str(people["manager"].id)
            )
        )
    assert ev.entity_id == "orders/monthly/2026-11" and ev.after["format"] == "xlsx"

    clerk = await browser_client(app, people["clerk"].username)
    own = await clerk.get(f"/reports/orders/daily?date={DAY}")
    assert own.status_code == 200 and "Your own shifts only" in own.text and "30.00 USD" in own.text
    assert "/export?format=pdf" not in own.text and "Stored snapshots" not in own.text
    vendor = await browser_client(app, people["vendor"].username)
    assert (await vendor.get("/reports")).status_code == 403


async def test_a_function_report_needs_that_function_too(db, settings):
    b, _other, _people, _mine, _ = await _setup(db)
    async with db.sessionmaker.begin() as s:
        keeper = await create_user(s, grants=[("warehouse", b.id)])
    app = make_app(db, settings)
    client = await token_client(app, db, keeper)
    listed = {i["function"] for i in (await client.get("/api/v1/reports")).json()["items"]}
    # Warehouse receives and ships after-sales items, so it reads those reports too.
    assert listed == {"customers", "orders", "shipping", "service", "warranty"}
    assert (await client.get(f"/api/v1/reports/shipping/weekly?date={DAY}")).status_code == 200
    refused = await client.get(f"/api/v1/reports/credit/weekly?date={DAY}")
    assert refused.status_code == 403 and "credit" in refused.json()["detail"]


async def test_wild_ids_are_refused_in_words(db, settings):
    b, _other, _people, _mine, _ = await _setup(db)
    async with db.sessionmaker.begin() as s:
        admin = await create_user(s, grants=[("admin", None)])
    client = await token_client(make_app(db, settings), db, admin)
    for query in (
        f"branch={2**70}",
        "branch=-3",
        f"branch={b.id}&user={2**64}",
        f"shift={2**64}",
    ):
        resp = await client.get(f"/api/v1/reports/orders/daily?date={DAY}&{query}")
        assert resp.status_code == 422, (query, resp.text)
        assert resp.json()["detail"]
    # An id of the right range that no branch has names nothing: 404, in words.
    resp = await client.get(f"/api/v1/reports/orders/daily?date={DAY}&branch=999999999999")
    assert resp.status_code == 404 and "999999999999" in resp.json()["detail"], resp.text


async def test_a_forged_drilldown_cursor_is_refused(db, settings):
    import base64
    import json

    b, _other, people, _mine, _ = await _setup(db)
    client = await token_client(make_app(db, settings), db, people["manager"])
    for value in (
        [{"dt": "2026-11-10T12:00:00+00:00"}, 2**70],
        ["x", 1],
        [{"dt": "2026-11-10T12:00:00"}, 1],
        "%%%",
    ):
        raw = (
            value if isinstance(value, str) else base64.urlsafe_b64encode(json.dumps(value).encode()).decode()
        )
        resp = await client.get(
            f"/api/v1/reports/orders/daily/drilldown?measure=placed&date={DAY}&branch={b.id}&cursor={raw}"
        )
        # "%%%" is not a cursor's shape (422); the others are forged cursors that name no page (404)
        assert resp.status_code in ((422,) if value == "%%%" else (404,)) and "cursor" in resp.text, (
            value,
            resp.text,
        )
