"""Erasure really erases (issue 15, item 1): after "Erase personal data" the customer's name,
e-mail and address are gone from every page, API answer and export, from every row of the
database and from the SQLite file's bytes, while the audit chain still verifies; personal
fields of audit events are encrypted with the customer's key, which erasure destroys."""

import io
import json
from pathlib import Path

import openpyxl
from sqlalchemy import inspect, select, text

from backroom.audit import sealer
from backroom.audit import service as audit
from backroom.audit.models import AuditEvent
from backroom.complaints import service as complaints
from backroom.crm import service as crm
from tests.api.test_customer_ops_api import approve_gated
from tests.helpers import (
    TEST_ACTOR,
    browser_client,
    create_user,
    eventually,
    make_app,
    make_shop,
    place_with,
    staff,
    token_client,
    uniq,
)


async def _rows_as_text(db) -> str:
    """Every row of every table as text (what a database dump would hold)."""
    async with db.sessionmaker() as s:
        conn = await s.connection()
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        out = []
        for t in tables:
            if db.kind == "postgres":
                rows = await s.execute(text(f'SELECT row_to_json(t)::text FROM "{t}" t'))
            else:
                rows = await s.execute(text(f'SELECT * FROM "{t}"'))
            out.extend(str(tuple(r)) for r in rows)
        return "\n".join(out)


async def _sqlite_file_bytes(db) -> bytes:
    """The database file and its WAL after a checkpoint: what a stolen disk would show."""
    await _checkpoint(db)
    return _read(_file(db)) + _read(_file(db, "-wal"))


def _file(db, suffix: str = "") -> Path:
    return Path(db.url.split("///", 1)[1] + suffix)


def _read(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


async def _checkpoint(db) -> tuple:
    """PRAGMA wal_checkpoint(TRUNCATE) outside any transaction: (busy, log frames, checkpointed)."""

    def run(sync_conn):
        cur = sync_conn.connection.dbapi_connection.cursor()
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return tuple(cur.fetchone())

    async with db.engine.connect() as conn:
        return await conn.run_sync(run)


def _xlsx_text(content: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return "\n".join(
        str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row
    )


async def test_erasure_leaves_no_personal_data_and_the_chain_verifies(db, settings):
    tag = uniq()
    name, email, street = f"Zelda Shredwell {tag}", f"zelda.{tag}@shred.example", f"{tag} Erasure Lane"
    kept_name = f"Keeper Intact {tag}"
    async with db.sessionmaker.begin() as s:
        shop, _, products = await make_shop(s)
    people = await staff(db, roles=("clerk",))
    branch = people["branch"]
    async with db.sessionmaker.begin() as s:
        # Sees both branches: the customer's and the shop's, where the order is.
        manager = await create_user(s, grants=[("manager", branch.id), ("manager", shop.id)])
    app = make_app(db, settings)
    clerk = await token_client(app, db, people["clerk"])
    mgr = await token_client(app, db, manager)

    r = await clerk.post(
        "/api/v1/customers",
        json={"name": name, "email": email, "phone": "+1 212 555 0199", "home_branch_id": branch.id},
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    kept = await clerk.post("/api/v1/customers", json={"name": kept_name, "home_branch_id": branch.id})
    kept_id = kept.json()["id"]
    assert (
        await clerk.post(
            f"/api/v1/customers/{cid}/contacts", json={"name": f"{name} Junior", "email": f"jr.{email}"}
        )
    ).status_code == 201
    assert (
        await clerk.post(
            f"/api/v1/customers/{cid}/addresses",
            json={"line1": street, "city": "Springfield", "country": "US"},
        )
    ).status_code == 201
    async with db.sessionmaker.begin() as s:
        await crm.log_interaction(
            s,
            actor=TEST_ACTOR,
            customer_id=cid,
            channel="call",
            direction="inbound",
            subject=f"{name} called",
            body=f"Write to {email}",
        )
        order = await place_with(
            s, shop, [(products[0].id, 1)], email=email, customer_id=cid, ship_name=name, ship_line1=street
        )
        complaint = await complaints.log_complaint(
            s,
            actor=TEST_ACTOR,
            customer_id=cid,
            channel="phone",
            category="product",
            severity="low",
            description=f"{name} says the kettle leaks; reply to {email}",
            sla=settings.complaint_sla,
        )
    # Before: the audit trail of the page shows the name (it is the customer's own record).
    ui = await browser_client(app, manager.username)
    assert name in (await ui.get(f"/customers/{cid}")).text

    r = await mgr.post(
        f"/api/v1/customers/{cid}/erase", json={"reason": "asked by the customer", "confirm": True}
    )
    assert r.status_code == 202, r.text
    await approve_gated(db, r.json()["id"])
    if db.kind == "sqlite":  # erasure itself empties the write-ahead log, once readers let go

        async def wal_empty():
            return not _read(_file(db, "-wal"))

        assert await eventually(wal_empty, timeout=15)
    await sealer.seal(db.sessionmaker)

    async with db.sessionmaker() as s:
        report = await audit.verify(s)
        assert report.ok, report.problem
        # (PostgreSQL's sealer waits for every older transaction of the cluster, which other
        # work on a shared test server can hold back; SQLite seals at once.)
        assert report.unsealed == 0 or db.kind == "postgres"
        # The audit events of the customer are still there (the chain keeps them) ...
        actions = set(
            (
                await s.execute(
                    select(AuditEvent.action).where(
                        AuditEvent.entity_type == "customer", AuditEvent.entity_id == str(cid)
                    )
                )
            ).scalars()
        )
        assert {"customer.create", "customer.erase", "customer.key_destroy"} <= actions

    needles = [name, name.lower(), email, email.lower(), street, street.lower()]

    def absent(where: str, content: str) -> None:
        for needle in needles:
            assert needle not in content, f"{needle!r} still in {where}"

    # ... but every page says what was there only as "erased".
    page = (await ui.get(f"/customers/{cid}")).text
    absent("the customer page", page)
    assert "erased" in page.lower()
    for page_url in (f"/orders/{order.id}", f"/complaints/{complaint.id}", f"/credit/customers/{cid}"):
        r = await ui.get(page_url)
        assert r.status_code == 200, page_url
        absent(page_url, r.text)
    for url in (
        f"/api/v1/customers/{cid}",
        f"/api/v1/customers/{cid}/timeline",
        f"/api/v1/customers/{cid}/contacts",
        f"/api/v1/customers/{cid}/addresses",
        f"/api/v1/customers/search?q={tag}",
        f"/api/v1/audit/events?entity_type=customer&entity_id={cid}&limit=200",
        f"/api/v1/audit/events?entity_type=order&entity_id={order.id}&limit=200",
        "/api/v1/audit/events?limit=200",
        f"/api/v1/orders/{order.id}",
        f"/api/v1/complaints/{complaint.id}",
        "/api/v1/customers/export.csv",
        "/api/v1/reports/customers/daily/export?format=csv",
    ):
        r = await mgr.get(url)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        absent(url, r.text)
    events = (await mgr.get(f"/api/v1/audit/events?entity_type=customer&entity_id={cid}&limit=200")).json()
    create = next(e for e in events["items"] if e["action"] == "customer.create")
    assert create["after"]["name"] == "(erased)" and create["after"]["email"] == "(erased)"
    xlsx = await mgr.get("/api/v1/reports/customers/daily/export?format=xlsx")
    assert xlsx.status_code == 200
    absent("the XLSX export", _xlsx_text(xlsx.content))

    # The database itself: no row holds them, and (SQLite) no byte of the file does.
    absent("the database rows", await _rows_as_text(db))
    if db.kind == "sqlite":
        raw = await _sqlite_file_bytes(db)
        for needle in needles:
            assert needle.encode() not in raw, f"{needle!r} still in the SQLite file"

    # A customer not erased still reads in full, decrypted, on the page and in the API.
    assert kept_name in (await ui.get(f"/customers/{kept_id}")).text
    kept_events = (await mgr.get(f"/api/v1/audit/events?entity_type=customer&entity_id={kept_id}")).json()[
        "items"
    ]
    assert next(e for e in kept_events if e["action"] == "customer.create")["after"]["name"] == kept_name
    # ... while stored encrypted: the name is not in the audit event's stored payload.
    async with db.sessionmaker() as s:
        stored = await s.scalar(
            select(AuditEvent.after).where(
                AuditEvent.entity_type == "customer",
                AuditEvent.entity_id == str(kept_id),
                AuditEvent.action == "customer.create",
            )
        )
    assert kept_name not in json.dumps(stored)


# Every write keyed by a customer, as its use case is called by the API and the pages.
def _writes(settings, product_id):
    from datetime import UTC, datetime

    from backroom.aftersales import service as aftersales
    from backroom.aftersales.schemas import CaseCreate
    from backroom.carts import service as carts
    from backroom.complaints import service as complaints
    from backroom.credit import service as credit
    from backroom.credit.schemas import CreditSale, LimitChangeIn
    from backroom.customers import service as customers
    from backroom.loyalty import service as loyalty
    from backroom.warranty import service as warranty
    from backroom.warranty.schemas import WarrantyCreate

    a = TEST_ACTOR
    return {
        "interaction": lambda s, cid: crm.log_interaction(
            s, actor=a, customer_id=cid, channel="call", direction="inbound", subject="hi"
        ),
        "credit limit request": lambda s, cid: credit.request_limit_change(
            s,
            actor=a,
            customer_id=cid,
            data=LimitChangeIn(requested_limit_minor=50_000, reason="more please"),
            settings=settings,
        ),
        "credit sale": lambda s, cid: credit.sell_on_credit(
            s,
            actor=a,
            customer_id=cid,
            data=CreditSale(amount_minor=100, currency="USD", reference=uniq("inv")),
            settings=settings,
        ),
        "complaint": lambda s, cid: complaints.log_complaint(
            s,
            actor=a,
            customer_id=cid,
            channel="phone",
            category="product",
            severity="low",
            description="broken",
            sla=settings.complaint_sla,
        ),
        "cart": lambda s, cid: carts.create_cart(s, actor=a, branch_id=1, currency="USD", customer_id=cid),
        "loyalty": lambda s, cid: loyalty.enrol(s, actor=a, customer_id=cid, consent=True),
        "after-sales case": lambda s, cid: aftersales.open_case(
            s,
            actor=a,
            data=CaseCreate(kind="repair", reason="noise", customer_id=cid, product_id=product_id),
            settings=settings,
        ),
        "warranty": lambda s, cid: warranty.register_manual(
            s,
            actor=a,
            data=WarrantyCreate(customer_id=cid, product_id=product_id, purchased_at=datetime.now(UTC)),
        ),
        "contact": lambda s, cid: customers.add_contact(s, actor=a, customer_id=cid, name="x"),
    }


async def test_no_new_writes_on_erased_or_merged_customers(db, settings):
    from backroom.customers import service as customers
    from backroom.customers.errors import CustomerNotActive
    from tests.helpers import create_customer

    people = await staff(db, roles=("agent",))
    async with db.sessionmaker.begin() as s:
        _, _, products = await make_shop(s)
        gone = await create_customer(s, branch=people["branch"], currency="USD")
        loser = await create_customer(s, branch=people["branch"], currency="USD")
        survivor = await create_customer(s, branch=people["branch"], currency="USD")
        await customers.erase(s, actor=TEST_ACTOR, customer_id=gone.id, reason="asked")
        await customers.merge(s, actor=TEST_ACTOR, loser_id=loser.id, survivor_id=survivor.id)
    for what, write in _writes(settings, products[0].id).items():
        for cid, words in ((gone.id, "erased"), (loser.id, f"merged into {survivor.name}")):
            try:
                async with db.sessionmaker.begin() as s:
                    await write(s, cid)
            except CustomerNotActive as exc:
                assert exc.status == 409 and words in exc.detail, (what, exc.detail)
            else:
                raise AssertionError(f"a {what} was written for customer {cid} ({words})")
    # Through the API: a 409 in words, not a 500 nor a bare 404.
    app = make_app(db, settings)
    agent = await token_client(app, db, people["agent"])
    r = await agent.post(
        f"/api/v1/customers/{gone.id}/interactions", json={"channel": "call", "direction": "inbound"}
    )
    assert r.status_code == 409 and "erased" in r.json()["detail"], r.text


async def test_erasure_counts_events_written_before_audit_encryption(db):
    """Events sealed before encryption existed keep their plain text (the chain covers them):
    erasure leaves them and says how many there are."""
    from backroom.audit.context import Actor
    from backroom.customers import service as customers
    from backroom.db.base import utcnow
    from tests.helpers import create_customer

    people = await staff(db, roles=("agent",))
    async with db.sessionmaker.begin() as s:
        c = await create_customer(s, branch=people["branch"])
        # As record() wrote it before this change: no encryption.
        s.add(
            AuditEvent(
                at=utcnow(),
                actor_type="system",
                actor_id="old",
                actor_name=None,
                action="customer.update",
                entity_type="customer",
                entity_id=str(c.id),
                after={"name": c.name, "status": "active"},
            )
        )
    async with db.sessionmaker.begin() as s:
        done = await customers.erase(s, actor=Actor.system("test"), customer_id=c.id, reason="asked")
    assert done.plain_audit_events == 1


async def test_erasure_reaches_merged_duplicates_and_orders_placed_before_joining(db, settings):
    """The same person's duplicate merged into the customer, and a storefront order placed
    before the shopper joined the customer (its audit events keyed to the order), are erased
    with the customer: rows blanked, keys destroyed."""
    from sqlalchemy import update

    from backroom.customers import service as customers
    from backroom.orders.models import Order
    from tests.helpers import create_customer

    tag = uniq()
    name, dup_name, email = f"Ola Twice {tag}", f"Ola T. {tag}", f"ola.{tag}@shred.example"
    async with db.sessionmaker.begin() as s:
        shop, _, products = await make_shop(s)
        c = await create_customer(s, branch=shop, name=name, email=email)
        dup = await create_customer(s, branch=shop, name=dup_name, email=f"old.{email}")
        await customers.merge(s, actor=TEST_ACTOR, loser_id=dup.id, survivor_id=c.id)
        order = await place_with(s, shop, [(products[0].id, 1)], email=email, ship_name=name)
    async with db.sessionmaker.begin() as s:  # as the storefront's attach does once it is paid
        await s.execute(update(Order).where(Order.id == order.id).values(customer_id=c.id))
    async with db.sessionmaker.begin() as s:
        await customers.erase(s, actor=TEST_ACTOR, customer_id=c.id, reason="asked")
    async with db.sessionmaker() as s:
        shown = await audit.views(
            s,
            (
                await s.scalars(
                    select(AuditEvent).where(
                        AuditEvent.entity_type.in_(("order", "customer")),
                        AuditEvent.entity_id.in_((str(order.id), str(dup.id))),
                    )
                )
            ).all(),
        )
    placed = next(e for e in shown if e.action == "order.place")
    assert placed.after["email"] == "(erased)" and placed.after["ship_name"] == "(erased)"
    text_of_all = json.dumps([(e.before, e.after) for e in shown])
    assert name not in text_of_all and dup_name not in text_of_all and email not in text_of_all
    absent = await _rows_as_text(db)
    for needle in (name, dup_name, email):
        assert needle not in absent, needle
