"""Staff pages for loyalty: the programs with their tiers and members per tier, and the
member's card on the customer page (enrol, adjust)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func, select

from api.deps import Session, require
from api.params import Id
from api.ui.common import parse_form, redirect, render
from api.validation import messages
from backroom.auth.principal import Principal
from backroom.customers.service import get_customer
from backroom.errors import AppError, Forbidden, InvalidInput
from backroom.loyalty import service
from backroom.loyalty.models import LoyaltyMember
from backroom.loyalty.schemas import ProgramCreate, ProgramUpdate, TierIn
from backroom.money import parse_money
from backroom.segments import service as segments

router = APIRouter(include_in_schema=False)
NAV = [("Loyalty", "/loyalty", ("loyalty", "list"), 12)]


class EnrolForm(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    consent: bool = False
    birthday: str | None = Field(default=None, max_length=10)  # "03-14" or a full date


def _birthday(text: str | None) -> tuple[int | None, int | None]:
    """ "03-14", "14.03." or "1990-03-14" to (month, day); the year is not kept."""
    text = (text or "").strip()
    if not text:
        return None, None
    try:
        if "." in text:
            day, month = (int(x) for x in text.strip(".").split(".")[:2])
        else:
            month, day = (int(x) for x in text.split("-")[-2:])
    except ValueError:
        raise InvalidInput("Type the birthday as month-day, e.g. 03-14.", field="birthday") from None
    return month, day


class AdjustForm(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    points: int = Field(ge=-(10**7), le=10**7)
    reason: str | None = Field(default=None, max_length=300)


# The program's rounding rules as the form and the program card say them.
ROUNDING_RULES = [
    ("down", "down (12.60 counts as 12)"),
    ("nearest", "to the nearest unit (12.50 counts as 13)"),
    ("up", "up (12.10 counts as 13)"),
]


class ProgramForm(BaseModel):
    """The program form as people fill it in: money as "0.01", tiers one per line."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    name: str | None = None
    currency: str | None = None
    points_per_unit: int | None = None
    earn_rounding: str | None = None
    expiry_days: int | None = None
    welcome_points: int | None = None
    birthday_points: int | None = None
    point_value: str | None = None
    min_redeem_points: int | None = None
    max_redeem_percent: int | None = None
    adjust_approval_points: int | None = None
    earn_on: str | None = None
    return_window_days: int | None = None
    channels: str | None = None
    excluded_categories: str | None = None
    enrol_rule: str | None = None
    enrol_segment_id: int | None = None
    bonus_segment_id: int | None = None
    tiers: str | None = None  # "Silver; 500.00; 125; Free shipping" per line

    @field_validator("*", mode="before")
    @classmethod
    def _blank(cls, v):
        return None if v == "" else v


def _program_terms(form: ProgramForm, currency: str) -> dict:
    """Form text to program terms (None where left empty); InvalidInput names the field."""

    def money(text: str, field: str) -> int:
        try:
            return parse_money(text, currency)
        except ValueError:
            raise InvalidInput(f"Type an amount like 0.01 ({currency}).", field=field) from None

    terms = form.model_dump(exclude={"point_value", "tiers", "excluded_categories", "currency"})
    if form.point_value:
        terms["point_value_minor"] = money(form.point_value, "point_value")
    if form.excluded_categories is not None:
        terms["excluded_categories"] = [c.strip() for c in form.excluded_categories.split(",") if c.strip()]
    if form.tiers:
        tiers = []
        for line in form.tiers.splitlines():
            if not line.strip():
                continue
            parts = [x.strip() for x in line.split(";")]
            if len(parts) < 2:
                raise InvalidInput(
                    "One tier per line: name; 12-month spend from; earn %; perks.", field="tiers"
                )
            try:
                multiplier = int(parts[2]) if len(parts) > 2 and parts[2] else 100
            except ValueError:
                raise InvalidInput("A tier's earn % is a whole number, e.g. 125.", field="tiers") from None
            tiers.append(
                TierIn(
                    name=parts[0],
                    min_spend_minor=money(parts[1], "tiers"),
                    multiplier_percent=multiplier,
                    perks=";".join(parts[3:]),
                )
            )
        terms["tiers"] = tiers
    return {k: v for k, v in terms.items() if v is not None}


def _errors(exc: ValidationError) -> dict:
    """By the form's top-level field (a tier's error shows beside the tiers box)."""
    out: dict[str, str] = {}
    for key, text in messages(exc).items():
        out.setdefault(key.split(".")[0], text)
    return out


async def _programs_page(session, request, p: Principal, *, values=None, errors=None, status=200):
    programs = [await service.read_program(session, prog) for prog in await service.list_programs(session)]
    rows = await session.execute(
        select(LoyaltyMember.program_id, LoyaltyMember.tier_id, func.count()).group_by(
            LoyaltyMember.program_id, LoyaltyMember.tier_id
        )
    )
    per_tier = {(pid, tid): n for pid, tid, n in rows.all()}
    all_segments = await segments.list_segments(session)
    return render(
        request,
        "loyalty/programs.html",
        p,
        status=status,
        programs=programs,
        per_tier=per_tier,
        segment_names={x.id: x.name for x in all_segments},
        segments=all_segments,
        rounding_rules=ROUNDING_RULES,
        values=values or {"currency": request.app.state.settings.default_currency, "points_per_unit": 1},
        errors=errors or {},
        chain_wide=p.all_branches,
    )


@router.get("/loyalty")
async def programs_page(session: Session, request: Request, p: Principal = require("loyalty", "list")):
    return await _programs_page(session, request, p)


def _chain_wide(p: Principal, action: str) -> None:
    p.require("loyalty", action)
    if not p.all_branches:
        raise Forbidden("Loyalty programs are chain-wide: only staff with every branch may change them.")


@router.post("/loyalty/programs")
async def create_program_form(
    session: Session, request: Request, p: Principal = require("loyalty", "create")
):
    """A new program (draft) from the form; activate it from its card."""
    _chain_wide(p, "create")
    form, errors, raw = await parse_form(request, ProgramForm)
    if form is not None and not form.name:
        form, errors = None, {"name": "Give the program a name."}
    if form is not None:
        try:
            currency = (form.currency or "").upper()
            data = ProgramCreate(**{**_program_terms(form, currency or "USD"), "currency": currency})
            async with session.begin_nested():
                program = await service.create_program(session, actor=p.actor(), data=data)
            return redirect("/loyalty", f"{program.name} saved as a draft; activate it when it is ready.")
        except ValidationError as exc:
            errors = _errors(exc)
        except InvalidInput as exc:
            errors = {exc.extra.get("field", "form"): exc.detail}
    return await _programs_page(session, request, p, values=raw, errors=errors, status=422)


@router.post("/loyalty/programs/{program_id}")
async def update_program_form(
    session: Session, request: Request, program_id: Id, p: Principal = require("loyalty", "update")
):
    """Change a program's terms (awards already made keep theirs)."""
    _chain_wide(p, "update")
    program = await service.get_program(session, program_id)
    form, errors, _raw = await parse_form(request, ProgramForm)
    if form is None:
        return redirect("/loyalty", "Not saved: " + "; ".join(errors.values()))
    try:
        terms = _program_terms(form, program.currency)
        terms.pop("tiers", None)
        terms.pop("excluded_categories", None)
        data = ProgramUpdate(**{k: v for k, v in terms.items() if k in ProgramUpdate.model_fields})
        async with session.begin_nested():
            await service.update_program(session, actor=p.actor(), program_id=program.id, data=data)
    except ValidationError as exc:
        return redirect("/loyalty", "Not saved: " + "; ".join(_errors(exc).values()))
    except AppError as exc:
        return redirect("/loyalty", f"Not saved: {exc.detail}")
    return redirect("/loyalty", f"{program.name} saved.")


@router.post("/loyalty/programs/{program_id}/activate")
async def activate_program_form(
    session: Session, request: Request, program_id: Id, p: Principal = require("loyalty", "post")
):
    _chain_wide(p, "post")
    program = await service.get_program(session, program_id)
    try:
        async with session.begin_nested():
            program = await service.activate_program(session, actor=p.actor(), program_id=program.id)
    except AppError as exc:
        return redirect("/loyalty", f"Not activated: {exc.detail}")
    return redirect("/loyalty", f"{program.name} is active.")


async def card_context(session, p: Principal, customer) -> dict:
    """What the customer page shows of loyalty (nothing without the permission)."""
    if not p.can("loyalty", "read", customer.home_branch_id):
        return {}
    return {
        "loyalty_card": await service.card(session, customer.id),
        "loyalty_program": await service.active_program(session, customer.currency),
    }


@router.post("/customers/{customer_id}/loyalty/enrol")
async def enrol_form(
    session: Session, request: Request, customer_id: Id, p: Principal = require("loyalty", "create")
):
    customer = await get_customer(session, customer_id)
    p.require("loyalty", "create", customer.home_branch_id)
    form, _, _ = await parse_form(request, EnrolForm)
    try:
        month, day = _birthday(form.birthday if form else None)
        async with session.begin_nested():
            await service.enrol(
                session,
                actor=p.actor(),
                customer_id=customer.id,
                consent=bool(form and form.consent),
                birth_month=month,
                birth_day=day,
            )
    except AppError as exc:
        return redirect(f"/customers/{customer.id}", exc.detail)
    return redirect(f"/customers/{customer.id}", f"{customer.name} joined the loyalty program.")


@router.post("/customers/{customer_id}/loyalty/adjust")
async def adjust_form(
    session: Session, request: Request, customer_id: Id, p: Principal = require("loyalty", "update")
):
    customer = await get_customer(session, customer_id)
    p.require("loyalty", "update", customer.home_branch_id)
    form, _, _ = await parse_form(request, AdjustForm)
    if form is None:
        return redirect(f"/customers/{customer.id}", "Enter whole points, e.g. 250 or -100.")
    try:
        async with session.begin_nested():
            out = await service.adjust(
                session,
                actor=p.actor(),
                customer_id=customer.id,
                points=form.points,
                reason=form.reason or "",
            )
    except AppError as exc:
        return redirect(f"/customers/{customer.id}", exc.detail)
    msg = (
        "Adjusted." if out.status == "applied" else "Above the limit: a manager has been asked to approve it."
    )
    return redirect(f"/customers/{customer.id}", msg)
