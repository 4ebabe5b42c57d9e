"""Segment use cases: define (rules as data), preview, evaluate, snapshot, and use (customer
list filter, CSV export, promotions' `segment_contains`, one-off campaigns)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, delete, exists, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches.models import Branch
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.errors import Refused, not_found
from backroom.notifications import service as notify
from backroom.segments import rfm, rules
from backroom.segments.errors import SegmentNameTaken
from backroom.segments.flow import CAMPAIGN_WORKFLOW, CampaignDecision, CampaignInput, campaign_workflow_id
from backroom.segments.models import CampaignStatus, Segment, SegmentCampaign, SegmentMembership
from backroom.segments.schemas import (
    Group,
    MemberSample,
    Preview,
    SegmentCreate,
    SegmentRead,
    SegmentUpdate,
    SizePoint,
)
from backroom.starts import service as starts

CAMPAIGN_APPROVAL_OVER = 500  # recipients; above this a campaign needs a manager's approval


async def _names(session: AsyncSession) -> dict[str, dict]:
    rows = await session.execute(select(Branch.id, Branch.name))
    return {"branches": dict(rows.all())}


async def explain(session: AsyncSession, g: Group) -> str:
    return rules.explain(g, await _names(session))


async def read(session: AsyncSession, seg: Segment) -> SegmentRead:
    out = SegmentRead.model_validate(seg)
    out.explained = await explain(session, out.rules)
    return out


async def get_segment(session: AsyncSession, segment_id: int) -> Segment:
    seg = await session.get(Segment, segment_id)
    if seg is None:
        raise not_found("Segment", segment_id)
    return seg


async def list_segments(session: AsyncSession) -> list[Segment]:
    return list((await session.scalars(select(Segment).order_by(Segment.name))).all())


async def _unique_name(session: AsyncSession, name: str, own_id: int | None = None) -> None:
    other = await session.scalar(select(Segment.id).where(func.lower(Segment.name) == name.lower()))
    if other and other != own_id:
        raise SegmentNameTaken(f"There is already a segment called {name}.", field="name")


async def create_segment(session: AsyncSession, *, actor: Actor, data: SegmentCreate) -> Segment:
    await _unique_name(session, data.name)
    seg = Segment(
        name=data.name,
        description=data.description,
        rules=data.rules.model_dump(mode="json"),
        created_by_id=actor.user_id,
    )
    session.add(seg)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create with the same name
        raise SegmentNameTaken(f"There is already a segment called {data.name}.", field="name") from exc
    await audit.record(
        session,
        actor=actor,
        action="segment.create",
        entity_type="segment",
        entity_id=seg.id,
        after=audit.snapshot(seg),
    )
    return seg


async def update_segment(
    session: AsyncSession, *, actor: Actor, segment_id: int, data: SegmentUpdate
) -> Segment:
    seg = await get_segment(session, segment_id)
    before = audit.snapshot(seg)
    if data.name is not None:
        await _unique_name(session, data.name, seg.id)
        seg.name = data.name
    if data.description is not None:
        seg.description = data.description
    if data.rules is not None:
        seg.rules = data.rules.model_dump(mode="json")
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="segment.update",
        entity_type="segment",
        entity_id=seg.id,
        before=before,
        after=audit.snapshot(seg),
    )
    return seg


def rules_of(seg: Segment) -> Group:
    return Group.model_validate(seg.rules)


async def clause(session: AsyncSession, segment_id: int, *, now: datetime | None = None) -> ColumnElement:
    """The segment as a WHERE clause over customers (for the customer list and its export)."""
    seg = await get_segment(session, segment_id)
    return rules.where(rules_of(seg), now or utcnow())


async def preview(
    session: AsyncSession, *, rules_: Group, branch_ids: set[int] | None = None, sample: int = 10
) -> Preview:
    """Count and a sample (by name) of who the rules select now, before saving. Read-only."""
    cond = rules.where(rules_, utcnow())
    if branch_ids is not None:
        cond = and_(cond, Customer.home_branch_id.in_(branch_ids or {-1}))
    count = await session.scalar(select(func.count()).select_from(Customer).where(cond))
    rows = await session.execute(
        select(Customer.id, Customer.name, Customer.email, Branch.name)
        .join(Branch, Branch.id == Customer.home_branch_id)
        .where(cond)
        .order_by(Customer.name_norm, Customer.id)
        .limit(sample)
    )
    return Preview(
        count=int(count or 0),
        sample=[MemberSample(id=i, name=n, email=e, home_branch=b) for i, n, e, b in rows.all()],
        explained=await explain(session, rules_),
    )


async def segment_contains(session: AsyncSession, segment_id: int, customer_id: int) -> bool:
    """Is the customer in the segment now? (Promotions' eligibility calls this.) Read-only."""
    cond = await clause(session, segment_id)
    return bool(await session.scalar(select(exists().where(Customer.id == customer_id, cond))))


# --- Nightly: RFM and snapshots -----------------------------------------------------------


async def score_branch(session: AsyncSession, *, branch_id: int, now: datetime) -> int:
    return await rfm.recompute_branch(session, branch_id=branch_id, now=now)


async def snapshot(session: AsyncSession, *, segment_id: int, now: datetime) -> int:
    """Store today's members (UTC day of `now`). Idempotent: the day is replaced."""
    seg = await get_segment(session, segment_id)
    day = now.date()
    await session.execute(
        delete(SegmentMembership).where(SegmentMembership.segment_id == seg.id, SegmentMembership.day == day)
    )
    sel = select(literal(seg.id), literal(day), Customer.id).where(rules.where(rules_of(seg), now))
    await session.execute(insert(SegmentMembership).from_select(["segment_id", "day", "customer_id"], sel))
    m = SegmentMembership
    return int(await session.scalar(select(func.count()).where(m.segment_id == seg.id, m.day == day)))


async def size_over_time(
    session: AsyncSession, *, segment_id: int, since: date, until: date
) -> list[SizePoint]:
    """Per snapshot day: members, and who joined or left since the previous snapshot day."""
    await get_segment(session, segment_id)
    m = SegmentMembership
    days = (
        await session.scalars(
            select(m.day)
            .where(m.segment_id == segment_id, m.day >= since, m.day <= until)
            .group_by(m.day)
            .order_by(m.day)
        )
    ).all()
    out: list[SizePoint] = []
    prev: date | None = None
    for d in days:
        size = await session.scalar(select(func.count()).where(m.segment_id == segment_id, m.day == d))
        joined = left = 0
        if prev is not None:
            other = aliased(SegmentMembership)
            joined = await session.scalar(
                select(func.count())
                .select_from(m)
                .where(
                    m.segment_id == segment_id,
                    m.day == d,
                    ~exists().where(
                        other.segment_id == segment_id, other.day == prev, other.customer_id == m.customer_id
                    ),
                )
            )
            left = await session.scalar(
                select(func.count())
                .select_from(m)
                .where(
                    m.segment_id == segment_id,
                    m.day == prev,
                    ~exists().where(
                        other.segment_id == segment_id, other.day == d, other.customer_id == m.customer_id
                    ),
                )
            )
        out.append(SizePoint(day=d, size=int(size), joined=int(joined), left=int(left)))
        prev = d
    return out


# --- Campaigns ------------------------------------------------------------------------------


def _recipients(cond: ColumnElement) -> ColumnElement:
    return and_(cond, Customer.consent_email.is_(True), Customer.email.is_not(None))


async def create_campaign(
    session: AsyncSession, *, actor: Actor, segment_id: int, subject: str, body: str, branch_id: int
) -> SegmentCampaign:
    """A one-off e-mail to the segment's members who agreed to e-mail. Up to
    CAMPAIGN_APPROVAL_OVER recipients it is queued at once; above, a manager approves first."""
    seg = await get_segment(session, segment_id)
    cond = _recipients(await clause(session, seg.id))
    count = int(await session.scalar(select(func.count()).select_from(Customer).where(cond)) or 0)
    if count == 0:
        raise Refused(f"No one in {seg.name} has agreed to e-mail: there is no one to send to.")
    camp = SegmentCampaign(
        segment_id=seg.id,
        subject=subject,
        body=body,
        status=CampaignStatus.pending_approval,
        recipients=count,
        requested_by_id=actor.user_id,
        branch_id=branch_id,
    )
    session.add(camp)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="segment.campaign",
        entity_type="segment",
        entity_id=seg.id,
        after={"campaign": camp.id, "recipients": count, "subject": subject},
    )
    if count <= CAMPAIGN_APPROVAL_OVER:
        await send_campaign(session, actor=actor, campaign_id=camp.id)
    else:
        await starts.enqueue(
            session,
            run=CAMPAIGN_WORKFLOW,
            arg=CampaignInput(
                campaign_id=camp.id,
                segment_name=seg.name,
                branch_id=branch_id,
                recipients=count,
                subject=subject,
                requested_by_id=actor.user_id or 0,
                requested_by_name=actor.name,
            ),
            workflow_id=campaign_workflow_id(camp.id),
            branch_id=branch_id,
        )
    return camp


async def send_campaign(session: AsyncSession, *, actor: Actor, campaign_id: int, batch: int = 1000) -> int:
    """Queue one message per consenting member (outbox; one per member and campaign, so a
    retry sends nothing twice). Members are read in id batches: memory stays bounded."""
    camp = await session.get(SegmentCampaign, campaign_id)
    if camp is None:
        raise not_found("Campaign", campaign_id)
    if camp.status == CampaignStatus.sent:
        return 0
    cond = _recipients(await clause(session, camp.segment_id))
    sent, after = 0, 0
    while True:
        ids = (
            await session.scalars(
                select(Customer.id).where(cond, Customer.id > after).order_by(Customer.id).limit(batch)
            )
        ).all()
        if not ids:
            break
        for cid in ids:
            row = await notify.enqueue(
                session,
                kind="segment_campaign",
                subject=camp.subject,
                body=camp.body,
                to_customer_id=cid,
                dedupe_key=f"campaign:{camp.id}:{cid}",
            )
            sent += row is not None
        after = ids[-1]
    camp.status = CampaignStatus.sent
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="segment.campaign_sent",
        entity_type="segment",
        entity_id=camp.segment_id,
        after={"campaign": camp.id, "sent": sent},
    )
    return sent


async def decide_campaign(session: AsyncSession, *, actor: Actor, decision: CampaignDecision) -> None:
    camp = await session.get(SegmentCampaign, decision.campaign_id)
    if camp is None or camp.status != CampaignStatus.pending_approval:
        return
    camp.decided_by_id = decision.decided_by_id
    if decision.status == "approved":
        await send_campaign(session, actor=actor, campaign_id=camp.id)
    else:
        camp.status = CampaignStatus.rejected
        await audit.record(
            session,
            actor=actor,
            action="segment.campaign_rejected",
            entity_type="segment",
            entity_id=camp.segment_id,
            after={"campaign": camp.id, "outcome": decision.status},
        )
    await session.flush()
