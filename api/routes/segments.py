"""Segments API: define (rules as data), preview, read, history, campaigns."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Query
from pydantic import ConfigDict

from api.deps import Session, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.db.base import utcnow
from backroom.errors import Forbidden
from backroom.ids import RecordId
from backroom.inputs import Input
from backroom.segments import service
from backroom.segments.schemas import (
    CampaignCreate,
    CampaignRead,
    Group,
    Preview,
    SegmentCreate,
    SegmentRead,
    SegmentUpdate,
    SizePoint,
)

router = APIRouter(prefix="/api/v1/segments", tags=["segments"])


class CampaignIn(CampaignCreate):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    branch_id: RecordId  # the requester's branch: where the approval is asked


class PreviewIn(Input):
    model_config = ConfigDict(extra="forbid")
    rules: Group


@router.get("")
async def list_segments(
    session: Session, p: Principal = require("segmentation", "list")
) -> list[SegmentRead]:
    return [await service.read(session, s) for s in await service.list_segments(session)]


@router.post("/preview")
async def preview(
    session: Session, body: PreviewIn, p: Principal = require("segmentation", "read")
) -> Preview:
    """Who the rules select now (count and a sample), among the customers the caller may see."""
    return await service.preview(session, rules_=body.rules, branch_ids=p.branch_ids("customers", "list"))


@router.post("", status_code=201)
async def create_segment(
    session: Session, body: SegmentCreate, p: Principal = require("segmentation", "create")
) -> SegmentRead:
    return await service.read(session, await service.create_segment(session, actor=p.actor(), data=body))


@router.get("/{segment_id:id}")
async def get_segment(
    session: Session, segment_id: Id, p: Principal = require("segmentation", "read")
) -> SegmentRead:
    return await service.read(session, await service.get_segment(session, segment_id))


@router.patch("/{segment_id:id}")
async def update_segment(
    session: Session, segment_id: Id, body: SegmentUpdate, p: Principal = require("segmentation", "update")
) -> SegmentRead:
    seg = await service.update_segment(session, actor=p.actor(), segment_id=segment_id, data=body)
    return await service.read(session, seg)


@router.get("/{segment_id:id}/history")
async def history(
    session: Session,
    segment_id: Id,
    days: int = Query(30, ge=1, le=366),
    p: Principal = require("segmentation", "read"),
) -> list[SizePoint]:
    """Size per snapshot day, with who joined and left since the day before."""
    today = utcnow().date()
    return await service.size_over_time(
        session, segment_id=segment_id, since=today - timedelta(days=days), until=today
    )


@router.post("/{segment_id:id}/campaigns", status_code=201)
async def create_campaign(
    session: Session, segment_id: Id, body: CampaignIn, p: Principal = require("segmentation", "post")
) -> CampaignRead:
    """A one-off e-mail to the segment's members who agreed to e-mail; above the limit, a
    manager approves it first."""
    p.require("segmentation", "post", body.branch_id)
    if not p.all_branches:
        raise Forbidden(
            "A campaign reaches customers of every branch: only staff with every branch may send one."
        )
    camp = await service.create_campaign(
        session,
        actor=p.actor(),
        segment_id=segment_id,
        subject=body.subject,
        body=body.body,
        branch_id=body.branch_id,
    )
    return CampaignRead.model_validate(camp)
