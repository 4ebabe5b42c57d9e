"""Promotions (coupons) API: list, detail, create, update, submit for approval, activate,
pause, archive, code generation and CSV export. Casbin function "coupons"."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.convertors import StringConvertor, register_url_convertor

from api.deps import Session, SettingsDep, WriteSession, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.branches.service import shop_branch
from backroom.pagination import CursorText
from backroom.promotions import service as promotions
from backroom.promotions.schemas import (
    CodeGenerate,
    CodePage,
    CodeRead,
    CodesGenerated,
    PromotionCreate,
    PromotionDetail,
    PromotionPage,
    PromotionRead,
    PromotionUpdate,
)

router = APIRouter(prefix="/api/v1/promotions", tags=["promotions"])


class PromotionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["draft", "pending_approval", "active", "paused", "archived"] | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: CursorText | None = Field(default=None, max_length=200)


class CodeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: CursorText | None = Field(default=None, max_length=200)


async def _promotion(session, p: Principal, promotion_id: int, action: str):
    promo = await promotions.get_promotion(session, promotion_id)
    p.require("coupons", action, branch_id=promo.branch_id)
    return promo


async def detail(session, promo) -> PromotionDetail:
    return PromotionDetail(
        **PromotionRead.model_validate(promo).model_dump(),
        stats=await promotions.stats(session, promo),
        shared_code=await promotions.shared_code(session, promo.id),
    )


@router.get("")
async def list_promotions(
    session: Session, q: Annotated[PromotionQuery, Query()], p: Principal = require("coupons", "list")
) -> PromotionPage:
    page = await promotions.list_promotions(
        session, branch_ids=p.branch_ids("coupons", "list"), status=q.status, limit=q.limit, cursor=q.cursor
    )
    return PromotionPage(
        items=[PromotionRead.model_validate(x) for x in page.items], next_cursor=page.next_cursor
    )


@router.post("", status_code=201)
async def create_promotion(
    session: Session,
    settings: SettingsDep,
    body: PromotionCreate,
    p: Principal = require("coupons", "create"),
) -> PromotionDetail:
    """A draft promotion (with its shared code, if it has one)."""
    branch_id = body.branch_id or (await shop_branch(session, code=settings.shop_branch_code)).id
    p.require("coupons", "create", branch_id=branch_id)
    promo = await promotions.create_promotion(
        session, actor=p.actor(), data=body, branch_id=branch_id, currency=settings.default_currency
    )
    return await detail(session, promo)


@router.get("/{promotion_id:id}")
async def get_promotion(
    session: Session, promotion_id: Id, p: Principal = require("coupons", "read")
) -> PromotionDetail:
    """The promotion with its uses, discount given, revenue of its orders and what is left."""
    return await detail(session, await _promotion(session, p, promotion_id, "read"))


@router.patch("/{promotion_id:id}")
async def update_promotion(
    session: Session,
    settings: SettingsDep,
    promotion_id: Id,
    body: PromotionUpdate,
    p: Principal = require("coupons", "update"),
) -> PromotionDetail:
    """Change the terms: at once, or (a live promotion turning high-risk) after approval."""
    await _promotion(session, p, promotion_id, "update")
    promo = await promotions.update_promotion(
        session, actor=p.actor(), promotion_id=promotion_id, data=body, prefix=settings.workflow_prefix
    )
    return await detail(session, promo)


@router.post("/{promotion_id:id}/submit")
async def submit_promotion(
    session: Session, settings: SettingsDep, promotion_id: Id, p: Principal = require("coupons", "submit")
) -> PromotionDetail:
    """Put a draft live, or before a manager when its possible discount is high."""
    await _promotion(session, p, promotion_id, "submit")
    promo = await promotions.submit(
        session, actor=p.actor(), promotion_id=promotion_id, prefix=settings.workflow_prefix
    )
    return await detail(session, promo)


@router.post("/{promotion_id:id}/codes", status_code=201)
async def generate_codes(
    session: Session, promotion_id: Id, body: CodeGenerate, p: Principal = require("coupons", "update")
) -> CodesGenerated:
    """Generate unique single-use codes (unambiguous letters, no collisions)."""
    await _promotion(session, p, promotion_id, "update")
    n = await promotions.generate_codes(
        session,
        actor=p.actor(),
        promotion_id=promotion_id,
        count=body.count,
        prefix=body.prefix,
        length=body.length,
    )
    return CodesGenerated(promotion_id=promotion_id, generated=n)


@router.get("/{promotion_id:id}/codes")
async def list_codes(
    session: Session,
    promotion_id: Id,
    q: Annotated[CodeQuery, Query()],
    p: Principal = require("coupons", "read"),
) -> CodePage:
    await _promotion(session, p, promotion_id, "read")
    page = await promotions.list_codes(session, promotion_id=promotion_id, limit=q.limit, cursor=q.cursor)
    return CodePage(items=[CodeRead.model_validate(c) for c in page.items], next_cursor=page.next_cursor)


@router.get(
    "/{promotion_id:id}/codes.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The codes as CSV"}
    },
)
async def export_codes(
    session: WriteSession, promotion_id: Id, p: Principal = require("coupons", "export")
) -> Response:
    """All codes as CSV (audited download)."""
    await _promotion(session, p, promotion_id, "export")
    body = await promotions.export_codes(session, actor=p.actor(), promotion_id=promotion_id)
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="promotion-{promotion_id}-codes.csv"'},
    )


class _Action(StringConvertor):
    """Only the three actions match, so another path under a promotion (codes.csv) is the 405
    or 404 it should be, not this route's 422."""

    regex = "activate|pause|archive"


register_url_convertor("promotion_action", _Action())


@router.post("/{promotion_id:id}/{action:promotion_action}")
async def change_status(
    session: Session,
    promotion_id: Id,
    action: Literal["activate", "pause", "archive"],
    p: Principal = require("coupons", "post"),
) -> PromotionDetail:
    """activate (a paused promotion), pause, archive."""
    await _promotion(session, p, promotion_id, "post")
    promo = await promotions.set_status(session, actor=p.actor(), promotion_id=promotion_id, action=action)
    return await detail(session, promo)
