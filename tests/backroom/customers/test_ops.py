"""Customer search, duplicates, merge, erasure and export (search and merge on PostgreSQL)."""

import pytest
from sqlalchemy import select

from backroom.audit.models import AuditEvent
from backroom.complaints import service as complaints
from backroom.credit import ledger
from backroom.crm import service as crm
from backroom.customers import repository, service
from backroom.customers.errors import DuplicateCustomer
from backroom.customers.models import Customer, CustomerAddress, CustomerContact
from backroom.errors import Conflict
from tests.helpers import TEST_ACTOR, create_branch, create_customer, uniq


async def test_search_by_name_email_phone_with_keyset_pages(pg_db):
    tag = uniq("zq").lower()
    async with pg_db.sessionmaker.begin() as s:
        b = await create_branch(s)
        made = [
            await create_customer(
                s,
                branch=b,
                name=f"Anna {tag} {i:02d}",
                email=f"{tag}.{i}@shop.test",
                phone=f"+1 (555) {tag[-3:].replace('a', '1')}-{i:04d}",
            )
            for i in range(7)
        ]
        other = await create_customer(s, branch=b, name=f"Bob {uniq()}", email=f"{uniq()}@x.test")
    async with pg_db.sessionmaker() as s:
        page1 = await repository.search(s, q=tag, limit=3, branch_ids={b.id})
        page2 = await repository.search(s, q=tag, limit=3, cursor=page1.next_cursor, branch_ids={b.id})
        page3 = await repository.search(s, q=tag, limit=3, cursor=page2.next_cursor, branch_ids={b.id})
        ids = [c.id for c in page1.items + page2.items + page3.items]
        assert ids == [c.id for c in made] and page3.next_cursor is None
        assert [c.id for c in (await repository.search(s, q=f"{tag}.3@SHOP", branch_ids={b.id})).items] == [
            made[3].id
        ]
        by_phone = await repository.search(s, q=made[5].phone_national, branch_ids={b.id})
        assert [c.id for c in by_phone.items] == [made[5].id]
        # A typo still finds the name through trigram similarity.
        typo = (await repository.search(s, q=f"Ana {tag} 04", branch_ids={b.id})).items
        assert made[4].id in [c.id for c in typo] and other.id not in [c.id for c in typo]
        plan = "\n".join(
            r[0]
            for r in (
                await s.execute(
                    __import__("sqlalchemy").text(
                        "EXPLAIN SELECT id FROM customers WHERE email_norm LIKE 'abc%'"
                    )
                )
            )
        )
        assert "ix_customers_email_prefix" in plan or "Seq Scan" in plan  # tiny tables may still seq-scan


async def test_duplicates_detected_unless_allowed(db):
    email = f"{uniq()}@dup.test"
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        first = await create_customer(
            s, branch=b, name="Carla Duplicate", email=email, phone="+1 555 010 2030"
        )
    async with db.sessionmaker() as s:
        with pytest.raises(DuplicateCustomer) as err:
            await service.refuse_duplicates(s, name="Someone Else", email=email.upper(), phone=None)
        assert [c["id"] for c in err.value.extra["candidates"]] == [first.id]
        with pytest.raises(DuplicateCustomer):
            await service.refuse_duplicates(
                s, name=None, email=None, phone="555-010-2030 ".replace("555", "1555")
            )
        await service.refuse_duplicates(s, name="Someone Else", email=email, phone=None, allow_duplicate=True)


async def test_merge_moves_history_and_keeps_ledger_consistent(pg_db):
    async with pg_db.sessionmaker.begin() as s:
        b = await create_branch(s)
        keep = await create_customer(s, branch=b, credit_limit_minor=50_000, tags=["vip"])
        lose = await create_customer(
            s, branch=b, credit_limit_minor=50_000, tags=["b2b"], phone="555 777 1212"
        )
        for c, amount in ((keep, 1_000), (lose, 2_500)):
            acct = await ledger.open_account(s, actor=TEST_ACTOR, customer_id=c.id)
            await ledger.post_entry(
                s,
                actor=TEST_ACTOR,
                account_id=acct.id,
                kind="sale",
                amount_minor=amount,
                currency="USD",
                reference=uniq("inv"),
            )
        await crm.log_interaction(
            s, actor=TEST_ACTOR, customer_id=lose.id, channel="call", direction="inbound"
        )
        comp = await complaints.log_complaint(
            s,
            actor=TEST_ACTOR,
            customer_id=lose.id,
            channel="web",
            category="late",
            severity="low",
            description="Late delivery",
            sla={"low": (60, 120)},
        )
        await service.add_contact(s, actor=TEST_ACTOR, customer_id=lose.id, name="Dee")
    async with pg_db.sessionmaker.begin() as s:
        await service.merge(s, actor=TEST_ACTOR, loser_id=lose.id, survivor_id=keep.id)
    async with pg_db.sessionmaker() as s:
        loser = await s.get(Customer, lose.id)
        survivor = await s.get(Customer, keep.id)
        assert loser.status == "merged" and loser.merged_into_id == keep.id
        assert survivor.tags == ["b2b", "vip"] and survivor.phone == "555 777 1212"
        assert (await complaints.get(s, comp.id)).customer_id == keep.id
        assert len((await crm.interactions(s, customer_id=keep.id)).items) == 1
        v = await ledger.get_view(s, (await ledger.account_for(s, keep.id)).id)
        assert v.balance_minor == 3_500 and len(await ledger.entries(s, v.account.id)) == 2
        assert [c.name for c in await repository.contacts(s, keep.id)] == ["Dee"]
        actions = set(
            (
                await s.execute(
                    select(AuditEvent.action).where(
                        AuditEvent.entity_type == "customer",
                        AuditEvent.entity_id.in_([str(keep.id), str(lose.id)]),
                    )
                )
            ).scalars()
        )
        assert {"customer.merge", "customer.merge_in"} <= actions
        with pytest.raises(Conflict):
            await service.merge(s, actor=TEST_ACTOR, loser_id=lose.id, survivor_id=keep.id)


async def test_erasure_anonymizes_but_keeps_ledger(db):
    email = f"{uniq()}@erase.test"
    async with db.sessionmaker.begin() as s:
        b = await create_branch(s)
        c = await create_customer(
            s,
            branch=b,
            name="Eve Private",
            email=email,
            phone="555 123 4567",
            notes="likes blue",
            credit_limit_minor=5_000,
        )
        acct = await ledger.open_account(s, actor=TEST_ACTOR, customer_id=c.id)
        await ledger.post_entry(
            s,
            actor=TEST_ACTOR,
            account_id=acct.id,
            kind="sale",
            amount_minor=1_200,
            currency="USD",
            reference=uniq("inv"),
        )
        await service.add_address(
            s, actor=TEST_ACTOR, customer_id=c.id, line1="1 Main St", city="Town", country="US"
        )
        await service.add_contact(
            s, actor=TEST_ACTOR, customer_id=c.id, name="Eve's assistant", email=f"a{email}"
        )
    async with db.sessionmaker.begin() as s:
        await service.erase(s, actor=TEST_ACTOR, customer_id=c.id, reason="GDPR request")
    async with db.sessionmaker() as s:
        row = await s.get(Customer, c.id)
        assert (row.name, row.email, row.phone, row.notes, row.status) == (
            f"Erased customer #{c.id}",
            None,
            None,
            None,
            "erased",
        )
        assert (
            row.email_norm is None
            and row.phone_national is None
            and row.name_norm == f"erased customer #{c.id}"
        )
        assert not (
            await s.execute(select(CustomerAddress).where(CustomerAddress.customer_id == c.id))
        ).first()
        assert not (
            await s.execute(select(CustomerContact).where(CustomerContact.customer_id == c.id))
        ).first()
        assert (await ledger.get_view(s, acct.id)).balance_minor == 1_200
        ev = await s.scalar(
            select(AuditEvent).where(AuditEvent.action == "customer.erase", AuditEvent.entity_id == str(c.id))
        )
        assert "Eve" not in str(ev.after) and email not in str(ev.after) and ev.before is None
