"""Staff pages for promotions (coupons): list, create, detail with uses / discount given /
revenue / budget left, edit, submit, activate, pause, archive, code generation and export.
People type percentages ("15") and amounts ("12.50"); times are the owning branch's."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Session, WriteSession, require
from api.params import Id
from api.ui.common import parse_form, redirect, render
from api.validation import messages
from backroom.audit import service as audit
from backroom.auth.principal import Principal
from backroom.branches.models import Branch
from backroom.branches.service import shop_branch
from backroom.catalog.models import Product
from backroom.errors import InvalidInput
from backroom.money import format_money, parse_money
from backroom.promotions import service as promotions
from backroom.promotions.models import CodeMode, Eligibility, PromotionKind, PromotionTarget
from backroom.promotions.schemas import CodeGenerate, PromotionCreate, PromotionUpdate
from backroom.segments import service as segments

router = APIRouter(include_in_schema=False)
NAV = [("Promotions", "/promotions", ("coupons", "list"), 35)]
STATUSES = ("draft", "pending_approval", "active", "paused", "archived")


class PromotionForm(BaseModel):
    """The promotion form as people fill it in: percent, money and local times as text."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    name: str = Field(min_length=2, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    kind: PromotionKind
    target: PromotionTarget = PromotionTarget.ORDER
    category: str | None = Field(default=None, max_length=100)
    products: str | None = Field(default=None, max_length=2000)  # SKUs, comma-separated
    percent: str | None = None
    amount: str | None = None
    buy_qty: int | None = Field(default=None, ge=0, le=100)
    get_qty: int | None = Field(default=None, ge=0, le=100)
    min_subtotal: str | None = None
    min_quantity: int | None = Field(default=None, ge=0, le=10000)
    starts_at: str | None = None
    ends_at: str | None = None
    eligibility: Eligibility = Eligibility.ALL
    segment_id: int | None = Field(default=None, ge=1)
    exclusive: bool = False
    priority: int = Field(default=100, ge=0, le=1000)
    budget: str | None = None
    usage_limit: int | None = Field(default=None, ge=1, le=10**7)
    per_customer_limit: int | None = Field(default=None, ge=1, le=1000)
    staff_only: bool = False
    refund_returns_use: bool = False
    code_mode: CodeMode = CodeMode.SHARED
    code: str | None = Field(default=None, max_length=40)
    code_valid_days: int | None = Field(default=None, ge=1, le=365)

    @field_validator("segment_id", mode="before")
    @classmethod
    def _none(cls, v):
        return None if v in ("", None) else v

    @field_validator("exclusive", "staff_only", "refund_returns_use", mode="before")
    @classmethod
    def _box(cls, v):
        return v in (True, "on", "true", "1")


def _terms(form: PromotionForm, currency: str, tz: ZoneInfo, product_ids: list[int] | None) -> dict:
    """Form text to API terms; raises InvalidInput naming the field."""

    def money(field: str) -> int | None:
        text = getattr(form, field)
        if not text:
            return None
        try:
            return parse_money(text, currency)
        except ValueError:
            raise InvalidInput(f"Type an amount like 12.50 ({currency}).", field=field) from None

    def when(field: str) -> datetime | None:
        text = getattr(form, field)
        if not text:
            return None
        try:
            return datetime.fromisoformat(text).replace(tzinfo=tz)
        except ValueError:
            raise InvalidInput("Type a date and time like 2026-12-01 09:00.", field=field) from None

    percent_bp = None
    if form.percent:
        try:
            percent_bp = round(float(form.percent.rstrip("% ")) * 100)
        except (ValueError, OverflowError):
            raise InvalidInput("Type a percentage like 15 or 12.5.", field="percent") from None
    return {
        "name": form.name,
        "description": form.description,
        "kind": form.kind,
        "target": form.target,
        "category": form.category,
        "product_ids": product_ids,
        "percent_bp": percent_bp,
        "amount_minor": money("amount"),
        "buy_qty": form.buy_qty,
        "get_qty": form.get_qty,
        "min_subtotal_minor": money("min_subtotal"),
        "min_quantity": form.min_quantity,
        "starts_at": when("starts_at"),
        "ends_at": when("ends_at"),
        "eligibility": form.eligibility,
        "segment_id": form.segment_id,
        "exclusive": form.exclusive,
        "priority": form.priority,
        "budget_minor": money("budget"),
        "usage_limit": form.usage_limit,
        "per_customer_limit": form.per_customer_limit,
        "staff_only": form.staff_only,
        "refund_returns_use": form.refund_returns_use,
        "code_valid_days": form.code_valid_days,
    }


async def _product_ids(session: AsyncSession, text: str | None) -> list[int] | None:
    """SKUs as people type them ("LAMP-DESK, MUG-STONE") to product ids; an unknown one is refused."""
    skus = [x.strip().upper() for x in (text or "").replace(",", " ").split() if x.strip()]
    if not skus:
        return None
    found = dict(
        (
            await session.execute(
                select(func.upper(Product.sku), Product.id).where(func.upper(Product.sku).in_(skus))
            )
        ).all()
    )
    unknown = [x for x in skus if x not in found]
    if unknown:
        raise InvalidInput(f"No product has the SKU {', '.join(unknown)}.", field="products")
    return [found[x] for x in skus]


async def _skus(session: AsyncSession, ids: list[int]) -> str:
    rows = dict(
        (await session.execute(select(Product.id, Product.sku).where(Product.id.in_(ids or [-1])))).all()
    )
    return ", ".join(rows.get(i, "?") for i in ids)


def _values(promo, tz: ZoneInfo, skus: str = "") -> dict:
    c = promo.currency

    def money(v):
        return format_money(v, c).rsplit(" ", 1)[0].replace(",", "") if v else ""

    def local(v):
        return v.astimezone(tz).strftime("%Y-%m-%dT%H:%M") if v else ""

    return {
        "name": promo.name,
        "description": promo.description or "",
        "kind": promo.kind,
        "target": promo.target,
        "category": promo.category or "",
        "products": skus,
        "percent": f"{promo.percent_bp / 100:g}" if promo.percent_bp else "",
        "amount": money(promo.amount_minor),
        "buy_qty": promo.buy_qty or "",
        "get_qty": promo.get_qty or "",
        "min_subtotal": money(promo.min_subtotal_minor),
        "min_quantity": promo.min_quantity or "",
        "starts_at": local(promo.starts_at),
        "ends_at": local(promo.ends_at),
        "eligibility": promo.eligibility,
        "segment_id": promo.segment_id or "",
        "exclusive": promo.exclusive,
        "priority": promo.priority,
        "budget": money(promo.budget_minor),
        "usage_limit": promo.usage_limit or "",
        "per_customer_limit": promo.per_customer_limit or "",
        "staff_only": promo.staff_only,
        "refund_returns_use": promo.refund_returns_use,
        "code_mode": promo.code_mode,
        "code_valid_days": promo.code_valid_days or "",
    }


async def _branches(session: AsyncSession) -> dict[int, Branch]:
    return {b.id: b for b in await session.scalars(select(Branch).order_by(Branch.id))}


@router.get("/promotions")
async def promotion_list(session: Session, request: Request, p: Principal = require("coupons", "list")):
    status = request.query_params.get("status") or None
    if status not in (None, *STATUSES):
        raise InvalidInput("Unknown status.", field="status")
    page = await promotions.list_promotions(
        session,
        branch_ids=p.branch_ids("coupons", "list"),
        status=status,
        cursor=request.query_params.get("cursor") or None,
    )
    return render(
        request,
        "promotions/list.html",
        p,
        page=page,
        current=status,
        statuses=STATUSES,
        branches=await _branches(session),
        describe=lambda x: promotions.describe(promotions.terms_of(x)),
    )


async def _form_page(request, p, session, *, promo=None, values=None, errors=None, status=200):
    return render(
        request,
        "promotions/form.html",
        p,
        status=status,
        promo=promo,
        values=values
        or {"kind": "percentage", "code_mode": "shared", "priority": 100, "refund_returns_use": True},
        errors=errors or {},
        kinds=list(PromotionKind),
        targets=list(PromotionTarget),
        eligibilities=list(Eligibility),
        segments=await segments.list_segments(session),
        modes=list(CodeMode),
    )


@router.get("/promotions/new")
async def new_promotion(session: Session, request: Request, p: Principal = require("coupons", "create")):
    return await _form_page(request, p, session)


async def _parse(request: Request) -> tuple[PromotionForm | None, dict, dict]:
    form, errors, raw = await parse_form(request, PromotionForm)
    return form, errors, raw


@router.post("/promotions/new")
async def create_promotion(session: Session, request: Request, p: Principal = require("coupons", "create")):
    form, errors, raw = await _parse(request)
    settings = request.app.state.settings
    branch = await shop_branch(session, code=settings.shop_branch_code)
    p.require("coupons", "create", branch_id=branch.id)
    if form is not None:
        try:
            data = PromotionCreate(
                **_terms(
                    form,
                    settings.default_currency,
                    ZoneInfo(branch.timezone),
                    await _product_ids(session, form.products),
                ),
                code_mode=form.code_mode,
                code=form.code,
            )
            promo = await promotions.create_promotion(
                session, actor=p.actor(), data=data, branch_id=branch.id, currency=settings.default_currency
            )
            return redirect(
                f"/promotions/{promo.id}", flash="Promotion saved as a draft. Submit it to go live."
            )
        except ValidationError as exc:
            errors = messages(exc)
        except InvalidInput as exc:
            errors = {exc.extra.get("field", "form"): exc.detail}
    return await _form_page(request, p, session, values=raw, errors=errors, status=422)


async def _detail(request, p, session, promotion_id: int, *, values=None, errors=None, status=200):
    promo = await promotions.get_promotion(session, promotion_id)
    p.require("coupons", "read", branch_id=promo.branch_id)
    branches = await _branches(session)
    tz = ZoneInfo(branches[promo.branch_id].timezone)
    codes = await promotions.list_codes(session, promotion_id=promo.id, limit=20)
    return render(
        request,
        "promotions/detail.html",
        p,
        status=status,
        promo=promo,
        stats=await promotions.stats(session, promo),
        shared_code=await promotions.shared_code(session, promo.id),
        codes=codes.items,
        redemptions=await promotions.redemptions_of(session, promo.id, limit=20),
        describe=promotions.describe(promotions.terms_of(promo)),
        branches=branches,
        local=lambda v: v.astimezone(tz).strftime("%Y-%m-%d %H:%M") if v else "",
        tzname=branches[promo.branch_id].timezone,
        trail=await audit.trail(
            session, entity_type="promotion", entity_id=promo.id, may_read=p.reader(promo.branch_id)
        ),
        values=values or _values(promo, tz, await _skus(session, promo.product_ids)),
        errors=errors or {},
        kinds=list(PromotionKind),
        targets=list(PromotionTarget),
        eligibilities=list(Eligibility),
        segments=await segments.list_segments(session),
        modes=list(CodeMode),
    )


@router.get("/promotions/{promotion_id}")
async def promotion_page(
    session: Session, request: Request, promotion_id: Id, p: Principal = require("coupons", "read")
):
    return await _detail(request, p, session, promotion_id)


@router.post("/promotions/{promotion_id}")
async def edit_promotion(
    session: Session, request: Request, promotion_id: Id, p: Principal = require("coupons", "update")
):
    promo = await promotions.get_promotion(session, promotion_id)
    p.require("coupons", "update", branch_id=promo.branch_id)
    form, errors, raw = await _parse(request)
    branch = await session.get(Branch, promo.branch_id)
    if form is not None:
        try:
            terms = _terms(
                form, promo.currency, ZoneInfo(branch.timezone), await _product_ids(session, form.products)
            )
            data = PromotionUpdate(
                **{k: v for k, v in terms.items() if v is not None or k in ("ends_at", "starts_at")}
            )
            promo = await promotions.update_promotion(
                session,
                actor=p.actor(),
                promotion_id=promotion_id,
                data=data,
                prefix=request.app.state.settings.workflow_prefix,
            )
            flash = "The change waits for a manager's approval." if promo.proposed else "Saved."
            return redirect(f"/promotions/{promotion_id}", flash=flash)
        except ValidationError as exc:
            errors = messages(exc)
        except InvalidInput as exc:
            errors = {exc.extra.get("field", "form"): exc.detail}
    return await _detail(request, p, session, promotion_id, values=raw, errors=errors, status=422)


@router.post("/promotions/{promotion_id}/submit")
async def submit(
    session: Session, request: Request, promotion_id: Id, p: Principal = require("coupons", "submit")
):
    promo = await promotions.get_promotion(session, promotion_id)
    p.require("coupons", "submit", branch_id=promo.branch_id)
    promo = await promotions.submit(
        session, actor=p.actor(), promotion_id=promotion_id, prefix=request.app.state.settings.workflow_prefix
    )
    flash = (
        "Live now."
        if promo.status == "active"
        else f"Waiting for a manager's approval: {promo.approval_note}."
    )
    return redirect(f"/promotions/{promotion_id}", flash=flash)


@router.post("/promotions/{promotion_id}/codes")
async def generate(
    session: Session, request: Request, promotion_id: Id, p: Principal = require("coupons", "update")
):
    promo = await promotions.get_promotion(session, promotion_id)
    p.require("coupons", "update", branch_id=promo.branch_id)
    data, errors, _raw = await parse_form(request, CodeGenerate)
    if data is None:
        raise InvalidInput("Codes: " + "; ".join(errors.values()), field="count")
    n = await promotions.generate_codes(
        session,
        actor=p.actor(),
        promotion_id=promotion_id,
        count=data.count,
        prefix=data.prefix,
        length=data.length,
    )
    return redirect(f"/promotions/{promotion_id}", flash=f"{n} codes generated.")


@router.get("/promotions/{promotion_id}/codes.csv", response_class=Response)
async def export(
    session: WriteSession, promotion_id: Id, p: Principal = require("coupons", "export")
) -> Response:
    promo = await promotions.get_promotion(session, promotion_id)
    p.require("coupons", "export", branch_id=promo.branch_id)
    body = await promotions.export_codes(session, actor=p.actor(), promotion_id=promotion_id)
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="promotion-{promotion_id}-codes.csv"'},
    )


@router.post("/promotions/{promotion_id}/status")
async def change_status(
    session: Session, request: Request, promotion_id: Id, p: Principal = require("coupons", "post")
):
    promo = await promotions.get_promotion(session, promotion_id)
    p.require("coupons", "post", branch_id=promo.branch_id)
    action = (await request.form()).get("action")
    if action not in ("activate", "pause", "archive"):
        raise InvalidInput("Choose activate, pause or archive.", field="action")
    promo = await promotions.set_status(session, actor=p.actor(), promotion_id=promotion_id, action=action)
    return redirect(f"/promotions/{promotion_id}", flash=f"The promotion is {promo.status}.")
