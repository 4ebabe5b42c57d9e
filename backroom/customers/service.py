"""Customers: create, update, read and list; duplicates, merge, erasure; contacts and
addresses; the timeline. Services only flush; queries live in repository.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from backroom.audit import service as audit
from backroom.audit import shred
from backroom.audit.context import Actor
from backroom.audit.visibility import function_of
from backroom.branches.service import get_branch
from backroom.controls import service as controls
from backroom.controls.models import GatedAction, GatedKind
from backroom.customers import erasure, links, repository
from backroom.customers.errors import CustomerNotActive, DuplicateCustomer, InvalidMerge
from backroom.customers.models import Customer, CustomerAddress, CustomerContact, CustomerStatus
from backroom.customers.schemas import CustomerCreate, CustomerUpdate
from backroom.db.sqlite import wipe_after_commit
from backroom.errors import not_found
from backroom.pagination import Page


async def create_customer(
    session: AsyncSession, *, actor: Actor, data: CustomerCreate, check_duplicates: bool = False
) -> Customer:
    """Create a customer at its home branch. Not idempotent. With `check_duplicates` (the API
    and the page), a likely duplicate is a 409 listing the candidates unless data.allow_duplicate."""
    branch = await get_branch(session, data.home_branch_id)
    if check_duplicates:
        await refuse_duplicates(
            session, name=data.name, email=data.email, phone=data.phone, allow_duplicate=data.allow_duplicate
        )
    customer = Customer(
        **data.model_dump(exclude={"currency", "allow_duplicate"}),
        currency=data.currency or branch.currency,
        credit_limit_minor=0,
        created_by_id=actor.user_id,
    )
    session.add(customer)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="customer.create",
        entity_type="customer",
        entity_id=customer.id,
        branch_id=customer.home_branch_id,
        after=audit.snapshot(customer),
    )
    return customer


async def update_customer(
    session: AsyncSession, *, actor: Actor, customer_id: int, data: CustomerUpdate
) -> Customer:
    """Change profile fields (tags, consent, home branch, notes...). Audited. Idempotent."""
    customer = await writable(session, customer_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("home_branch_id"):
        await get_branch(session, changes["home_branch_id"])
    if changes.get("email") or changes.get("phone"):
        await refuse_duplicates(
            session, name=None, email=changes.get("email"), phone=changes.get("phone"), exclude_id=customer.id
        )
    before = audit.snapshot(customer)
    for key, value in changes.items():
        setattr(customer, key, value)
    await session.flush()
    after = audit.snapshot(customer)
    if after != before:
        await audit.record(
            session,
            actor=actor,
            action="customer.update",
            entity_type="customer",
            entity_id=customer.id,
            branch_id=customer.home_branch_id,
            before=before,
            after=after,
        )
    return customer


async def get_customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise not_found("Customer", customer_id)
    return customer


async def list_customers(
    session: AsyncSession,
    *,
    branch_ids: set[int] | None,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    where: ColumnElement | None = None,
) -> Page[Customer]:
    """Customers of the given branches (None: all) but merged ones, optionally matching name,
    email or phone through the indexed search (repository.search), and `where` (a segment's
    condition, from backroom.segments.service.clause). Read-only."""
    return await repository.search(
        session,
        q=q,
        branch_ids=branch_ids,
        status=None,
        exclude_status=CustomerStatus.merged,
        limit=limit,
        cursor=cursor,
        where=where,
    )


def _require_active(customer: Customer) -> None:
    if customer.status == CustomerStatus.erased:
        raise CustomerNotActive(
            f"{customer.name}: this customer's personal data was erased, so nothing new can be "
            "recorded for them."
        )
    if customer.status != CustomerStatus.active:
        raise CustomerNotActive(
            f"{customer.name} was merged into customer #{customer.merged_into_id}: record it there."
        )


async def writable(session: AsyncSession, customer_id: int) -> Customer:
    """The customer, if new records may be written for them: 404 when there is none, 409 (in
    words) when they were erased or merged into another. Every write keyed by a customer
    (interactions, follow-ups, credit, complaints, carts, loyalty, after-sales, warranties)
    asks this first. Read-only."""
    customer = await get_customer(session, customer_id)
    if customer.status == CustomerStatus.merged and customer.merged_into_id:
        survivor = await session.get(Customer, customer.merged_into_id)
        raise CustomerNotActive(
            f"{customer.name} was merged into {survivor.name if survivor else 'another customer'}: "
            "record it on that customer."
        )
    _require_active(customer)
    return customer


async def refuse_duplicates(
    session: AsyncSession,
    *,
    name: str | None,
    email: str | None,
    phone: str | None,
    allow_duplicate: bool = False,
    exclude_id: int | None = None,
) -> None:
    """Raise DuplicateCustomer (409, with the candidates) unless none or allowed."""
    if allow_duplicate:
        return
    found = await repository.find_duplicates(
        session, name=name, email=email, phone=phone, exclude_id=exclude_id
    )
    if found:
        raise DuplicateCustomer(
            f"{len(found)} existing customer(s) look like the same person. Merge, or send allow_duplicate=true.",
            candidates=[{"id": c.id, "name": c.name, "email": c.email, "phone": c.phone} for c in found],
        )


async def _mergeable(session: AsyncSession, loser_id: int, survivor_id: int) -> tuple[Customer, Customer]:
    """(loser, survivor) when they may be merged, else InvalidMerge / CustomerNotActive."""
    if loser_id == survivor_id:
        raise InvalidMerge("A customer cannot be merged into itself.", field="survivor_id")
    loser, survivor = await get_customer(session, loser_id), await get_customer(session, survivor_id)
    for c in (loser, survivor):
        _require_active(c)
    if loser.currency != survivor.currency:
        raise InvalidMerge("Customers with different currencies cannot be merged.", field="survivor_id")
    return loser, survivor


async def request_merge(
    session: AsyncSession, *, actor: Actor, loser_id: int, survivor_id: int, hours: float
) -> GatedAction:
    """Ask for a merge: another manager approves it in the inbox and FourEyesWorkflow applies
    `merge` then. Nothing changes until then; one pending merge request per customer."""
    loser, survivor = await _mergeable(session, loser_id, survivor_id)
    return await controls.request(
        session,
        actor=actor,
        kind=GatedKind.customer_merge,
        branch_id=loser.home_branch_id,
        subject_type="customer",
        subject_id=str(loser.id),
        title=f"Merge customer {loser.name} (#{loser.id}) into {survivor.name} (#{survivor.id})",
        payload={"loser_id": loser.id, "survivor_id": survivor.id},
        hours=hours,
    )


async def request_erasure(
    session: AsyncSession, *, actor: Actor, customer_id: int, reason: str, hours: float
) -> GatedAction:
    """Ask for an erasure: another manager approves it in the inbox and FourEyesWorkflow applies
    `erase` then. Nothing changes until then; one pending erasure request per customer."""
    c = await get_customer(session, customer_id)
    if c.status == CustomerStatus.erased:
        raise CustomerNotActive(f"{c.name} is already erased.")
    return await controls.request(
        session,
        actor=actor,
        kind=GatedKind.customer_erasure,
        branch_id=c.home_branch_id,
        subject_type="customer",
        subject_id=str(c.id),
        title=f"Erase the personal data of customer {c.name} (#{c.id})",
        reason=reason,
        payload={"customer_id": c.id, "reason": reason},
        hours=hours,
    )


async def merge(session: AsyncSession, *, actor: Actor, loser_id: int, survivor_id: int) -> Customer:
    """Move everything linked to `loser_id` onto `survivor_id` (through the links registry) and
    mark the loser merged. Audited on both records. Not repeatable: the loser must be active."""
    loser, survivor = await _mergeable(session, loser_id, survivor_id)
    before_loser, before_survivor = audit.snapshot(loser), audit.snapshot(survivor)
    moved: dict[str, int] = {}
    links.load_plugins()
    for handler in links.MERGE_HANDLERS:
        await handler(session, actor=actor, loser_id=loser.id, survivor_id=survivor.id)
    for table, column in links.LINKS:
        res = await session.execute(
            text(f'UPDATE "{table}" SET "{column}" = :s WHERE "{column}" = :l'),
            {"s": survivor.id, "l": loser.id},
        )
        moved[table] = res.rowcount or 0
    # Fill gaps on the survivor from the loser; keep the survivor's own values.
    survivor.email = survivor.email or loser.email
    survivor.phone = survivor.phone or loser.phone
    survivor.tags = sorted(set(survivor.tags or []) | set(loser.tags or []))
    if loser.notes:
        survivor.notes = ((survivor.notes or "") + f"\n[merged from #{loser.id}] {loser.notes}").strip()
    loser.status, loser.merged_into_id = CustomerStatus.merged, survivor.id
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="customer.merge",
        entity_type="customer",
        entity_id=loser.id,
        branch_id=loser.home_branch_id,
        before=before_loser,
        after={"status": CustomerStatus.merged, "merged_into_id": survivor.id, "moved": moved},
    )
    await audit.record(
        session,
        actor=actor,
        action="customer.merge_in",
        entity_type="customer",
        entity_id=survivor.id,
        branch_id=survivor.home_branch_id,
        before=before_survivor,
        after={**audit.snapshot(survivor), "merged_from_id": loser.id, "moved": moved},
    )
    return survivor


PERSONAL = ("name", "email", "phone", "notes", "tags", "consent_email", "consent_sms")


@dataclass(frozen=True)
class Erasure:
    customer: Customer
    # Audit events written before audit encryption that still hold the person's data in plain
    # text: the hash chain covers them, so erasure cannot change them (docs/audit.md).
    plain_audit_events: int = 0


async def erase(session: AsyncSession, *, actor: Actor, customer_id: int, reason: str) -> Erasure:
    """Erase a customer's personal data on request, everywhere the database holds it: the
    customer row is anonymized, contacts and addresses go, linked records are blanked or
    scrubbed (backroom.customers.erasure, the domains' erase handlers), and the keys of the
    audit trail's encrypted personal fields are destroyed (audited as `customer.key_destroy`,
    without personal data). Financial history (credit ledger, orders' money, complaints'
    records) stays. Only through the four-eyes gate (request_erasure). On SQLite the write-ahead
    log is checkpointed after commit, so no old page keeps the data. Idempotent: erasing twice
    changes nothing more."""
    c = await get_customer(session, customer_id)
    if c.status == CustomerStatus.erased:
        return Erasure(c)
    # Duplicates merged into this customer were the same person: their rows and keys go too.
    merged = list((await session.scalars(select(Customer).where(Customer.merged_into_id == c.id))).all())
    needles = await erasure.needles(session, [c, *merged])
    # Other domains blank what they keep of the person (orders' addresses, CRM notes, unsent
    # messages) while the customer row still holds what to look for.
    subjects = {f"customer:{c.id}", *(f"customer:{m.id}" for m in merged)}
    links.load_plugins()
    for handler in links.ERASE_HANDLERS:
        subjects |= set(await handler(session, actor=actor, customer_id=c.id, needles=needles) or ())
    scrubbed = await erasure.scrub_linked(session, c.id, needles)
    await erasure.scrub_requests(session, c.id, needles)
    for person in (c, *merged):
        person.name = f"Erased customer #{person.id}"
        person.email = person.phone = person.notes = None
        person.tags, person.consent_email, person.consent_sms = [], False, False
    c.status = CustomerStatus.erased
    ids = [c.id, *(m.id for m in merged)]
    contacts = (
        await session.execute(delete(CustomerContact).where(CustomerContact.customer_id.in_(ids)))
    ).rowcount
    addresses = (
        await session.execute(delete(CustomerAddress).where(CustomerAddress.customer_id.in_(ids)))
    ).rowcount
    await session.flush()
    orders = sorted(int(s.split(":", 1)[1]) for s in subjects if s.startswith("order:"))
    plain = await erasure.plain_events(session, c.id, orders)
    destroyed = await shred.destroy(session, subjects)
    await audit.record(
        session,
        actor=actor,
        action="customer.key_destroy",
        entity_type="customer",
        entity_id=c.id,
        branch_id=c.home_branch_id,
        after={"key_subjects": sorted(subjects), "keys_destroyed": len(destroyed)},
    )
    await audit.record(
        session,
        actor=actor,
        action="customer.erase",
        entity_type="customer",
        entity_id=c.id,
        branch_id=c.home_branch_id,
        before=None,
        after={
            "status": CustomerStatus.erased,
            "erased_fields": list(PERSONAL),
            "contacts_removed": contacts,
            "addresses_removed": addresses,
            "linked_records_scrubbed": scrubbed,
            "audit_events_in_plain_text": plain,
            "merged_records_erased": [m.id for m in merged],
            "reason": reason,
        },
    )
    wipe_after_commit(session)
    return Erasure(c, plain)


async def add_contact(session: AsyncSession, *, actor: Actor, customer_id: int, **fields) -> CustomerContact:
    """Add a contact person. Not idempotent."""
    c = await writable(session, customer_id)
    row = CustomerContact(customer_id=c.id, **fields)
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="customer.contact_add",
        entity_type="customer",
        entity_id=c.id,
        branch_id=c.home_branch_id,
        after=audit.snapshot(row),
    )
    return row


async def add_address(session: AsyncSession, *, actor: Actor, customer_id: int, **fields) -> CustomerAddress:
    """Add an address; a default one replaces the previous default of its kind."""
    c = await writable(session, customer_id)
    if fields.get("is_default"):
        await session.execute(
            update(CustomerAddress)
            .where(
                CustomerAddress.customer_id == c.id, CustomerAddress.kind == fields.get("kind", "shipping")
            )
            .values(is_default=False)
        )
    row = CustomerAddress(customer_id=c.id, **fields)
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="customer.address_add",
        entity_type="customer",
        entity_id=c.id,
        branch_id=c.home_branch_id,
        after=audit.snapshot(row),
    )
    return row


async def remove_record(
    session: AsyncSession, *, actor: Actor, customer_id: int, model, record_id: int
) -> None:
    """Delete one contact or address of the customer. Idempotent."""
    c = await get_customer(session, customer_id)
    row = await session.get(model, record_id)
    if row is None or row.customer_id != c.id:
        return
    before = audit.snapshot(row)
    await session.delete(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"customer.{model.__tablename__.removeprefix('customer_')}_remove",
        entity_type="customer",
        entity_id=c.id,
        branch_id=c.home_branch_id,
        before=before,
    )


async def timeline(
    session: AsyncSession,
    *,
    customer_id: int,
    limit: int = 100,
    may_read: Callable[[str], bool] | None = None,
) -> list[links.TimelineItem]:
    """Interactions, orders, complaints, credit and audit events of a customer, newest first;
    only what the viewer may read (`may_read(function)`: a CRM interaction needs crm read).
    Read-only."""
    items: list[links.TimelineItem] = []
    links.load_plugins()
    for provider in links.TIMELINE:
        for item in await provider(session, customer_id, limit):
            function = function_of(item.title if item.kind == "audit" else item.kind)
            if may_read is None or function is None or may_read(function):
                items.append(item)
    items.sort(key=lambda i: i.at, reverse=True)
    return items[:limit]


async def record_export(
    session: AsyncSession,
    *,
    actor: Actor,
    branch_ids: set[int] | None,
    segment_id: int | None = None,
    where: ColumnElement | None = None,
) -> int:
    """Audit one export of customers' personal data: who, which branches or segment, how many
    rows. Returns the row count. Not idempotent: every export is one event."""
    rows = await repository.export_count(session, branch_ids=branch_ids, where=where)
    await audit.record(
        session,
        actor=actor,
        action="customer.export",
        entity_type="customer_export",
        entity_id=f"segment-{segment_id}" if segment_id else "all",
        after={
            "rows": rows,
            "segment_id": segment_id,
            "branch_ids": "all" if branch_ids is None else sorted(branch_ids),
        },
    )
    return rows
