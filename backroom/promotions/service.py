"""Promotions (coupons): terms, the approval rule, codes, the discount a basket gets, and the
life of a use (reserved with the order, confirmed at capture, released or returned).

Limits never go over: a use is reserved in the order's own transaction by a conditional
UPDATE of the promotion row (`uses_count < usage_limit`, `spent + discount <= budget`) and
of a single-use code (`status = 'available'`). Every writer takes the promotion row before the
code row (several promotions in promotion id order): one order, no deadlock between them."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.carts.discounts import Basket, Offer
from backroom.carts.pricing import AppliedDiscount, DiscountLine
from backroom.catalog.models import Product
from backroom.db.base import utcnow
from backroom.errors import InvalidInput, NotFound, Refused
from backroom.money import format_money
from backroom.orders.models import Order
from backroom.pagination import Page, paginate
from backroom.promotions.errors import (
    CodeTaken,
    PromotionNotFound,
    PromotionUsedUp,
    PromotionWrongState,
)
from backroom.promotions.flow import PromotionApprovalInput, PromotionDecision, approval_workflow_id
from backroom.promotions.models import (
    CodeMode,
    CodeStatus,
    Eligibility,
    Promotion,
    PromotionCode,
    PromotionKind,
    PromotionStatus,
    PromotionTarget,
    Redemption,
    RedemptionStatus,
)
from backroom.promotions.schemas import PromotionCreate, PromotionStats, PromotionUpdate
from backroom.segments.models import Segment
from backroom.segments.service import segment_contains
from backroom.spreadsheet import csv_line

# Above these a promotion needs a manager's approval before it goes live.
APPROVAL_PERCENT_BP = 3000  # more than 30 % off
APPROVAL_AMOUNT_MINOR = 5000  # more than 50.00 off
# Unambiguous alphabet for generated codes: no 0/O, 1/I/L.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
TERMS = tuple(f for f in PromotionUpdate.model_fields)
LIVE = (RedemptionStatus.RESERVED, RedemptionStatus.CONFIRMED)


# ---- terms and the approval rule ----------------------------------------------------------


def approval_reason(terms: dict) -> str | None:
    """Why these terms need approval (high possible discount), or None. Pure."""
    kind = terms["kind"]
    if kind == PromotionKind.PERCENTAGE and terms["percent_bp"] > APPROVAL_PERCENT_BP:
        return f"{terms['percent_bp'] / 100:g} % off is above {APPROVAL_PERCENT_BP / 100:g} %"
    if kind == PromotionKind.FIXED and terms["amount_minor"] > APPROVAL_AMOUNT_MINOR:
        return (
            f"{format_money(terms['amount_minor'], terms['currency'])} off is above "
            f"{format_money(APPROVAL_AMOUNT_MINOR, terms['currency'])}"
        )
    if terms["usage_limit"] is None and terms["budget_minor"] is None:
        return "Unlimited uses (no usage limit and no budget)"
    return None


def check_terms(t: dict) -> None:
    """Refuse terms that cannot work, with the field to fix. Pure."""

    # Terms that cannot work together: each field may be fine alone, the whole (or the whole
    # with a promotion's stored terms, on a change) is refused, which no schema can say (409).
    def bad(msg: str, field: str) -> Refused:
        return Refused(msg, field=field)

    kind = t["kind"]
    if kind == PromotionKind.PERCENTAGE and not 1 <= t["percent_bp"] <= 10000:
        raise bad("Give a percentage between 0.01 % and 100 %.", "percent_bp")
    if kind == PromotionKind.FIXED and t["amount_minor"] <= 0:
        raise bad("Give the amount off.", "amount_minor")
    if kind == PromotionKind.BUY_X_GET_Y and (t["buy_qty"] < 1 or t["get_qty"] < 1):
        raise bad("Buy X get Y needs how many to buy and how many come free.", "buy_qty")
    if t["target"] == PromotionTarget.PRODUCTS and not t["product_ids"]:
        raise bad("Choose the products the promotion is for.", "product_ids")
    if t["target"] == PromotionTarget.CATEGORY and not t["category"]:
        raise bad("Choose the category the promotion is for.", "category")
    if t["starts_at"] and t["ends_at"] and t["ends_at"] <= t["starts_at"]:
        raise bad("The end must come after the start.", "ends_at")
    if t["eligibility"] == Eligibility.CUSTOMERS and not t["customer_ids"]:
        raise bad("Choose the customers the promotion is for.", "customer_ids")
    if t["eligibility"] == Eligibility.SEGMENT and not t.get("segment_id"):
        raise bad("Choose the customer segment the promotion is for.", "segment_id")
    if t["code_mode"] == CodeMode.RECOVERY and not t["code_valid_days"]:
        raise bad("Say for how many days a recovery code is valid.", "code_valid_days")


def terms_of(promo: Promotion) -> dict:
    return {f: getattr(promo, f) for f in (*TERMS, "currency", "code_mode")}


def _defaults(data: PromotionCreate) -> dict:
    t = data.model_dump(exclude={"branch_id", "currency", "code"})
    t.update(
        target=t["target"] or PromotionTarget.ORDER,
        product_ids=t["product_ids"] or [],
        branch_ids=t["branch_ids"] or [],
        channels=t["channels"] or [],
        customer_ids=t["customer_ids"] or [],
        eligibility=t["eligibility"] or Eligibility.ALL,
        priority=100 if t["priority"] is None else t["priority"],
        refund_returns_use=True if t["refund_returns_use"] is None else t["refund_returns_use"],
    )
    for f in ("percent_bp", "amount_minor", "buy_qty", "get_qty", "min_subtotal_minor", "min_quantity"):
        t[f] = t[f] or 0
    for f in ("exclusive", "staff_only"):
        t[f] = bool(t[f])
    return t


async def _check_segment(session: AsyncSession, segment_id: int | None) -> None:
    if segment_id is not None and await session.get(Segment, segment_id) is None:
        raise NotFound("That customer segment does not exist.", field="segment_id")


async def get_promotion(session: AsyncSession, promotion_id: int, *, lock: bool = False) -> Promotion:
    stmt = select(Promotion).where(Promotion.id == promotion_id)
    promo = await session.scalar(stmt.with_for_update() if lock else stmt)
    if promo is None:
        raise PromotionNotFound(f"Promotion {promotion_id} does not exist.")
    return promo


async def create_promotion(
    session: AsyncSession, *, actor: Actor, data: PromotionCreate, branch_id: int, currency: str
) -> Promotion:
    """A new promotion as a draft (submit puts it live, or before a manager). Not idempotent."""
    terms = _defaults(data)
    terms["currency"] = data.currency or currency
    terms["code_mode"] = data.code_mode
    check_terms(terms)
    await _check_segment(session, terms.get("segment_id"))
    promo = Promotion(**terms, branch_id=branch_id, status=PromotionStatus.DRAFT, created_by_id=actor.user_id)
    promo.shift_id = actor.shift_id
    session.add(promo)
    await session.flush()
    if data.code:
        await _add_code(session, promo, data.code, single_use=False)
    await audit.record(
        session,
        actor=actor,
        action="promotion.create",
        entity_type="promotion",
        entity_id=promo.id,
        branch_id=branch_id,
        after={**audit.snapshot(promo), "code": data.code},
    )
    return promo


async def _add_code(
    session: AsyncSession,
    promo: Promotion,
    code: str,
    *,
    single_use: bool,
    customer_id: int | None = None,
    cart_id: int | None = None,
    expires_at: datetime | None = None,
) -> PromotionCode:
    if await session.scalar(select(PromotionCode.id).where(PromotionCode.code == code)):
        raise CodeTaken(f"The code {code} is already used by another promotion.", field="code")
    row = PromotionCode(
        promotion_id=promo.id,
        code=code,
        single_use=single_use,
        status=CodeStatus.AVAILABLE,
        customer_id=customer_id,
        cart_id=cart_id,
        expires_at=expires_at,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row


def _changes(promo: Promotion, data: PromotionUpdate) -> dict:
    given = data.model_dump(exclude_unset=True)
    for f in ("product_ids", "branch_ids", "channels", "customer_ids"):
        if f in given and given[f] is None:
            given[f] = []
    return {k: v for k, v in given.items() if getattr(promo, k) != v}


async def update_promotion(
    session: AsyncSession, *, actor: Actor, promotion_id: int, data: PromotionUpdate, prefix: str = ""
) -> Promotion:
    """Change the terms. A draft or a low-risk change applies at once; a live promotion whose
    new terms need approval keeps its current terms and waits for a manager (the approval
    workflow is queued in the outbox). Audited either way."""
    promo = await get_promotion(session, promotion_id, lock=True)
    if promo.status in (PromotionStatus.ARCHIVED, PromotionStatus.PENDING_APPROVAL) or promo.proposed:
        raise PromotionWrongState(
            "The promotion is archived."
            if promo.status == PromotionStatus.ARCHIVED
            else "A change to this promotion is waiting for approval; wait for the decision."
        )
    changes = _changes(promo, data)
    if not changes:
        return promo
    merged = {**terms_of(promo), **changes}
    check_terms(merged)
    await _check_segment(session, changes.get("segment_id"))
    before = {k: getattr(promo, k) for k in changes}
    reason = approval_reason(merged) if promo.status != PromotionStatus.DRAFT else None
    if reason:
        promo.proposed = {k: _jsonable(v) for k, v in changes.items()}
        await _ask_approval(session, actor=actor, promo=promo, reason=reason, prefix=prefix)
        action = "promotion.propose"
    else:
        for k, v in changes.items():
            setattr(promo, k, v)
        action = "promotion.update"
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="promotion",
        entity_id=promo.id,
        branch_id=promo.branch_id,
        before={k: _jsonable(v) for k, v in before.items()},
        after={k: _jsonable(v) for k, v in changes.items()},
    )
    return promo


def _jsonable(v):
    return v.isoformat() if isinstance(v, datetime) else v


async def _ask_approval(
    session: AsyncSession, *, actor: Actor, promo: Promotion, reason: str, prefix: str
) -> None:
    from backroom.starts import service as starts

    promo.revision += 1
    promo.approval_workflow_id = approval_workflow_id(promo.id, promo.revision, prefix)
    promo.approval_note = reason
    terms = {**terms_of(promo), **(promo.proposed or {})}
    amount = terms["amount_minor"] if terms["kind"] == PromotionKind.FIXED else None
    await starts.enqueue(
        session,
        run="PromotionApprovalWorkflow",
        arg=PromotionApprovalInput(
            promotion_id=promo.id,
            revision=promo.revision,
            branch_id=promo.branch_id,
            title=f"Promotion {promo.name!r}: {describe(terms)}",
            reason=reason,
            amount_minor=amount,
            currency=promo.currency if amount else None,
            requested_by_id=actor.user_id,
            requested_by_name=actor.name,
        ),
        workflow_id=promo.approval_workflow_id,
        branch_id=promo.branch_id,
    )


def describe(t: dict) -> str:
    """'15 % off the order', '5.00 USD off Socks' ... in words. Pure."""
    kind = t["kind"]
    if kind == PromotionKind.PERCENTAGE:
        what = f"{t['percent_bp'] / 100:g} % off"
    elif kind == PromotionKind.FIXED:
        what = f"{format_money(t['amount_minor'], t['currency'])} off"
    elif kind == PromotionKind.FREE_SHIPPING:
        what = "free shipping"
    else:
        what = f"buy {t['buy_qty']} get {t['get_qty']} free"
    if t["target"] == PromotionTarget.CATEGORY:
        what += f" in {t['category']}"
    elif t["target"] == PromotionTarget.PRODUCTS:
        what += f" on {len(t['product_ids'])} product(s)"
    if t["min_subtotal_minor"]:
        what += f", from {format_money(t['min_subtotal_minor'], t['currency'])}"
    return what


async def _transition(
    session: AsyncSession, *, actor: Actor, promo: Promotion, to: str, allowed: tuple[str, ...], verb: str
) -> Promotion:
    if promo.status not in allowed:
        raise PromotionWrongState(
            f"The promotion is {promo.status.replace('_', ' ')}; it cannot be {verb}.", status=promo.status
        )
    before = promo.status
    promo.status = to
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"promotion.{to}",
        entity_type="promotion",
        entity_id=promo.id,
        branch_id=promo.branch_id,
        before={"status": before},
        after={"status": to},
    )
    return promo


async def submit(session: AsyncSession, *, actor: Actor, promotion_id: int, prefix: str = "") -> Promotion:
    """Put a draft live: at once when low-risk, else before a manager (approval workflow in
    the outbox). Idempotent for a promotion already submitted."""
    promo = await get_promotion(session, promotion_id, lock=True)
    if promo.status in (PromotionStatus.ACTIVE, PromotionStatus.PENDING_APPROVAL):
        return promo
    terms = terms_of(promo)
    check_terms(terms)
    if promo.code_mode == CodeMode.SHARED and not await _code_count(session, promo.id):
        raise InvalidInput("Give the promotion its code before submitting it.")
    reason = approval_reason(terms)
    if reason:
        await _ask_approval(session, actor=actor, promo=promo, reason=reason, prefix=prefix)
        return await _transition(
            session,
            actor=actor,
            promo=promo,
            to=PromotionStatus.PENDING_APPROVAL,
            allowed=(PromotionStatus.DRAFT,),
            verb="submitted",
        )
    return await _transition(
        session,
        actor=actor,
        promo=promo,
        to=PromotionStatus.ACTIVE,
        allowed=(PromotionStatus.DRAFT,),
        verb="submitted",
    )


async def set_status(session: AsyncSession, *, actor: Actor, promotion_id: int, action: str) -> Promotion:
    """activate (paused -> active), pause (active -> paused), archive (any -> archived)."""
    promo = await get_promotion(session, promotion_id, lock=True)
    rules = {
        "activate": (PromotionStatus.ACTIVE, (PromotionStatus.PAUSED,), "activated"),
        "pause": (PromotionStatus.PAUSED, (PromotionStatus.ACTIVE,), "paused"),
        "archive": (
            PromotionStatus.ARCHIVED,
            (
                PromotionStatus.DRAFT,
                PromotionStatus.ACTIVE,
                PromotionStatus.PAUSED,
                PromotionStatus.PENDING_APPROVAL,
            ),
            "archived",
        ),
    }
    to, allowed, verb = rules[action]
    if promo.status == to:
        return promo
    return await _transition(session, actor=actor, promo=promo, to=to, allowed=allowed, verb=verb)


async def apply_decision(session: AsyncSession, *, actor: Actor, decision: PromotionDecision) -> Promotion:
    """The approval workflow's outcome: approved terms go live; otherwise the proposal is
    dropped (a draft goes back to draft). Idempotent: a decided revision changes nothing."""
    promo = await get_promotion(session, decision.promotion_id, lock=True)
    waiting = promo.status == PromotionStatus.PENDING_APPROVAL or promo.proposed is not None
    if promo.revision != decision.revision or not waiting:
        return promo
    approved = decision.status == "approved"
    before = {"status": promo.status, "proposed": promo.proposed}
    if promo.proposed is not None:
        if approved:
            for k, v in promo.proposed.items():
                setattr(promo, k, datetime.fromisoformat(v) if k in ("starts_at", "ends_at") and v else v)
        promo.proposed = None
    elif promo.status == PromotionStatus.PENDING_APPROVAL:
        promo.status = PromotionStatus.ACTIVE if approved else PromotionStatus.DRAFT
    promo.approved_by_id = decision.decided_by_id if approved else None
    promo.approval_note = (
        f"Approved by {decision.decided_by_name}."
        if approved
        else f"Not approved ({decision.status}"
        + (f" by {decision.decided_by_name}: {decision.reason}" if decision.decided_by_name else "")
        + ")."
    )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"promotion.{'approved' if approved else 'not_approved'}",
        entity_type="promotion",
        entity_id=promo.id,
        branch_id=promo.branch_id,
        before=before,
        after={"status": promo.status, "decision": decision.status, "reason": decision.reason},
    )
    return promo


# ---- codes -----------------------------------------------------------------------------


def _new_code(prefix: str, length: int) -> str:
    return prefix.upper() + "".join(secrets.choice(ALPHABET) for _ in range(length))


async def _code_count(session: AsyncSession, promotion_id: int) -> int:
    return await session.scalar(
        select(func.count()).select_from(PromotionCode).where(PromotionCode.promotion_id == promotion_id)
    )


async def generate_codes(
    session: AsyncSession, *, actor: Actor, promotion_id: int, count: int, prefix: str = "", length: int = 10
) -> int:
    """Add `count` unique single-use codes (unambiguous alphabet; collisions with any existing
    code are drawn again). Not idempotent: each call adds codes."""
    promo = await get_promotion(session, promotion_id, lock=True)
    if promo.code_mode != CodeMode.UNIQUE:
        raise PromotionWrongState("Only a promotion with unique codes gets generated codes.")
    if promo.status == PromotionStatus.ARCHIVED:
        raise PromotionWrongState("The promotion is archived.")
    fresh: set[str] = set()
    while len(fresh) < count:
        batch = {_new_code(prefix, length) for _ in range(count - len(fresh))} - fresh
        taken = set(await session.scalars(select(PromotionCode.code).where(PromotionCode.code.in_(batch))))
        fresh |= batch - taken
    now = utcnow()
    await session.execute(
        PromotionCode.__table__.insert(),
        [
            {
                "promotion_id": promo.id,
                "code": c,
                "single_use": True,
                "status": CodeStatus.AVAILABLE,
                "created_at": now,
            }
            for c in sorted(fresh)
        ],
    )
    await audit.record(
        session,
        actor=actor,
        action="promotion.codes_generate",
        entity_type="promotion",
        entity_id=promo.id,
        branch_id=promo.branch_id,
        after={"count": count, "prefix": prefix.upper()},
    )
    return count


async def issue_recovery_code(
    session: AsyncSession, *, promotion_id: int, cart_id: int, customer_id: int | None
) -> PromotionCode | None:
    """A single-use code of a recovery promotion for one cart (and its customer), valid for
    the promotion's days. Idempotent per cart: an unexpired unused code is reused. None when
    the promotion is not live."""
    promo = await session.get(Promotion, promotion_id)
    if promo is None or promo.status != PromotionStatus.ACTIVE or promo.code_mode != CodeMode.RECOVERY:
        return None
    now = utcnow()
    existing = await session.scalar(
        select(PromotionCode).where(
            PromotionCode.promotion_id == promotion_id,
            PromotionCode.cart_id == cart_id,
            PromotionCode.status == CodeStatus.AVAILABLE,
            PromotionCode.expires_at > now,
        )
    )
    if existing is not None:
        return existing
    while True:
        code = _new_code("BACK", 8)
        if not await session.scalar(select(PromotionCode.id).where(PromotionCode.code == code)):
            break
    return await _add_code(
        session,
        promo,
        code,
        single_use=True,
        customer_id=customer_id,
        cart_id=cart_id,
        expires_at=now + timedelta(days=promo.code_valid_days or 7),
    )


async def list_codes(
    session: AsyncSession, *, promotion_id: int, limit: int = 50, cursor: str | None = None
) -> Page:
    stmt = select(PromotionCode).where(PromotionCode.promotion_id == promotion_id)
    return await paginate(
        session, stmt, sort_col=PromotionCode.id, id_col=PromotionCode.id, limit=limit, cursor=cursor
    )


async def export_codes(session: AsyncSession, *, actor: Actor, promotion_id: int) -> str:
    """The promotion's codes as CSV (code, status, expires, order). Audited."""
    promo = await get_promotion(session, promotion_id)
    rows = await session.execute(
        select(PromotionCode.code, PromotionCode.status, PromotionCode.expires_at, PromotionCode.order_id)
        .where(PromotionCode.promotion_id == promotion_id)
        .order_by(PromotionCode.id)
    )
    lines = [csv_line(["code", "status", "expires_at", "order_id"])]
    for code, status, expires, order_id in rows:
        lines.append(csv_line([code, status, expires.isoformat() if expires else "", order_id or ""]))
    n = len(lines) - 1
    await audit.record(
        session,
        actor=actor,
        action="promotion.codes_export",
        entity_type="promotion",
        entity_id=promo.id,
        branch_id=promo.branch_id,
        after={"rows": n},
    )
    return "".join(lines)


async def shared_code(session: AsyncSession, promotion_id: int) -> str | None:
    return await session.scalar(
        select(PromotionCode.code)
        .where(PromotionCode.promotion_id == promotion_id, PromotionCode.single_use.is_(False))
        .limit(1)
    )


# ---- lists and numbers ---------------------------------------------------------------------


async def list_promotions(
    session: AsyncSession,
    *,
    branch_ids: set[int] | None,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    stmt = select(Promotion)
    if branch_ids is not None:
        stmt = stmt.where(Promotion.branch_id.in_(branch_ids or {-1}))
    if status:
        stmt = stmt.where(Promotion.status == status)
    return await paginate(
        session, stmt, sort_col=Promotion.id, id_col=Promotion.id, limit=limit, cursor=cursor, descending=True
    )


async def stats(session: AsyncSession, promo: Promotion) -> PromotionStats:
    """Uses, discount given, revenue of the orders that used it, what is left. Read-only."""
    uses, discount, revenue = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Redemption.discount_minor + Redemption.shipping_discount_minor), 0),
                func.coalesce(func.sum(Redemption.order_total_minor), 0),
            ).where(Redemption.promotion_id == promo.id, Redemption.status.in_(LIVE))
        )
    ).one()
    codes, available = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(PromotionCode.status == CodeStatus.AVAILABLE),
            ).where(PromotionCode.promotion_id == promo.id)
        )
    ).one()
    return PromotionStats(
        uses=uses,
        confirmed_uses=promo.confirmed_count,
        uses_left=None if promo.usage_limit is None else max(promo.usage_limit - promo.uses_count, 0),
        discount_given_minor=int(discount),
        revenue_minor=int(revenue),
        budget_left_minor=None
        if promo.budget_minor is None
        else max(promo.budget_minor - promo.spent_minor, 0),
        codes=codes,
        codes_available=int(available),
    )


async def redemptions_of(session: AsyncSession, promotion_id: int, limit: int = 50) -> list[Redemption]:
    rows = await session.scalars(
        select(Redemption)
        .where(Redemption.promotion_id == promotion_id)
        .order_by(Redemption.id.desc())
        .limit(limit)
    )
    return list(rows)


# ---- the discount a basket gets ----------------------------------------------------------


def _customer_key(customer_id: int | None, email: str | None) -> str | None:
    if customer_id:
        return f"c{customer_id}"
    return email.strip().lower() if email else None


async def _refusal(
    session: AsyncSession, basket: Basket, promo: Promotion, code: PromotionCode, now: datetime
) -> str | None:
    """Why this code does not apply to the basket, or None. Read-only."""
    c = code.code
    if promo.status != PromotionStatus.ACTIVE:
        return f"The code {c} is not active."
    if code.status != CodeStatus.AVAILABLE:
        return f"The code {c} has already been used."
    if (code.expires_at and code.expires_at <= now) or (promo.ends_at and promo.ends_at <= now):
        return f"The code {c} has expired."
    if promo.starts_at and promo.starts_at > now:
        return f"The code {c} is not valid yet."
    if promo.branch_ids and basket.branch_id not in promo.branch_ids:
        return f"The code {c} is not valid in this shop."
    if promo.staff_only and basket.channel != "staff":
        return f"The code {c} can only be used by staff."
    if promo.channels and basket.channel not in promo.channels:
        return f"The code {c} is not valid here ({basket.channel})."
    if promo.currency != basket.currency and promo.kind == PromotionKind.FIXED:
        return f"The code {c} is for {promo.currency} orders."
    if code.customer_id and code.customer_id != basket.customer_id:
        return f"The code {c} is not for this customer."
    if promo.eligibility == Eligibility.CUSTOMERS and basket.customer_id not in promo.customer_ids:
        return f"The code {c} is not for this customer."
    if promo.eligibility == Eligibility.SEGMENT:
        # Live membership: the segment's rules are evaluated now, not from the nightly snapshot.
        if basket.customer_id is None:
            return f"The code {c} is for selected customers: tell us who you are first."
        if promo.segment_id is None or not await segment_contains(
            session, promo.segment_id, basket.customer_id
        ):
            return f"The code {c} is not for this customer."
    key = _customer_key(basket.customer_id, basket.email)
    if promo.eligibility == Eligibility.FIRST_ORDER and await _has_ordered(session, basket):
        return f"The code {c} is for a first order only."
    subtotal = sum(ln.qty * ln.unit_price_minor for ln in basket.lines)
    if subtotal < promo.min_subtotal_minor:
        return f"The code {c} needs an order of at least {format_money(promo.min_subtotal_minor, promo.currency)}."
    if promo.usage_limit is not None and promo.uses_count >= promo.usage_limit:
        return f"The code {c} has been used up."
    if promo.budget_minor is not None and promo.spent_minor >= promo.budget_minor:
        return f"The code {c} has been used up (its budget is spent)."
    if promo.per_customer_limit and key:
        used = await session.scalar(
            select(func.count())
            .select_from(Redemption)
            .where(
                Redemption.promotion_id == promo.id,
                Redemption.customer_key == key,
                Redemption.status.in_(LIVE),
            )
        )
        if used >= promo.per_customer_limit:
            return f"You have already used the code {c}."
    return None


async def _has_ordered(session: AsyncSession, basket: Basket) -> bool:
    cond = []
    if basket.customer_id:
        cond.append(Order.customer_id == basket.customer_id)
    if basket.email:
        cond.append(func.lower(Order.email) == basket.email.strip().lower())
    if not cond:
        return False
    from sqlalchemy import or_

    stmt = select(Order.id).where(or_(*cond), Order.status.notin_(("cancelled", "payment_failed"))).limit(1)
    return await session.scalar(stmt) is not None


async def _target_ids(session: AsyncSession, basket: Basket, promo: Promotion) -> list[int] | None:
    if promo.target == PromotionTarget.PRODUCTS:
        return [ln.product_id for ln in basket.lines if ln.product_id in set(promo.product_ids)]
    if promo.target == PromotionTarget.CATEGORY:
        ids = [ln.product_id for ln in basket.lines]
        rows = await session.scalars(
            select(Product.id).where(Product.id.in_(ids), Product.category == promo.category)
        )
        return list(rows)
    return None


async def offer(session: AsyncSession, basket: Basket, earlier: list[DiscountLine]) -> Offer:
    """The discount source for coupons: each code the customer entered becomes a DiscountLine,
    or a reason it does not apply. Stacking: codes apply by priority; an exclusive promotion
    applies alone. Read-only."""
    out = Offer()
    if not basket.codes:
        return out
    rows = await session.execute(
        select(PromotionCode, Promotion)
        .join(Promotion, Promotion.id == PromotionCode.promotion_id)
        .where(PromotionCode.code.in_(basket.codes))
    )
    found = {code.code: (code, promo) for code, promo in rows}
    now = utcnow()
    fits: list[tuple[Promotion, PromotionCode, list[int] | None]] = []
    for c in basket.codes:
        if c not in found:
            out.refused[c] = f"The code {c} does not exist."
            continue
        code, promo = found[c]
        why = await _refusal(session, basket, promo, code, now)
        targets = await _target_ids(session, basket, promo) if why is None else None
        if why is None and targets is not None and not targets:
            why = f"None of the items in the cart is part of the offer of {c}."
        if why is None and promo.min_quantity:
            units = sum(ln.qty for ln in basket.lines if targets is None or ln.product_id in targets)
            if units < promo.min_quantity:
                why = f"The code {c} needs at least {promo.min_quantity} eligible items."
        if why is None and any(p.id == promo.id for p, _, _ in fits):
            why = f"The code {c} is for a promotion already applied to this order."
        if why:
            out.refused[c] = why
        else:
            fits.append((promo, code, targets))
    fits.sort(key=lambda f: (f[0].priority, f[0].id))
    taken: list[Promotion] = []
    for promo, code, targets in fits:
        if (promo.exclusive and (taken or earlier)) or any(p.exclusive for p in taken):
            out.refused[code.code] = f"The code {code.code} cannot be combined with another offer."
            continue
        taken.append(promo)
        out.lines.append(
            DiscountLine(
                code=code.code,
                source="coupon",
                label=promo.name,
                percent_bp=promo.percent_bp if promo.kind == PromotionKind.PERCENTAGE else 0,
                amount_minor=promo.amount_minor if promo.kind == PromotionKind.FIXED else 0,
                buy_qty=promo.buy_qty if promo.kind == PromotionKind.BUY_X_GET_Y else 0,
                get_qty=promo.get_qty if promo.kind == PromotionKind.BUY_X_GET_Y else 0,
                free_shipping=promo.kind == PromotionKind.FREE_SHIPPING,
                product_ids=targets,
                cap_minor=None if promo.budget_minor is None else promo.budget_minor - promo.spent_minor,
            )
        )
    return out


# ---- the life of a use ----------------------------------------------------------------------


async def reserve(
    session: AsyncSession,
    *,
    actor: Actor,
    order: Order,
    applied: list[AppliedDiscount],
) -> list[Redemption]:
    """Reserve one use per coupon the order got, in the order's transaction. The conditional
    UPDATEs are the guard: a limit that another order reached first raises PromotionUsedUp
    (the whole order rolls back). Idempotent per order (unique promotion + order)."""
    out, coupons = [], []
    for a in applied:
        if a.source != "coupon":
            continue
        code = await session.scalar(select(PromotionCode).where(PromotionCode.code == a.code))
        if code is None:
            raise PromotionUsedUp(f"The code {a.code} no longer exists.")
        coupons.append((code, a))
    # Promotion rows in id order: two orders with the same two promotions never wait in a cycle.
    for code, a in sorted(coupons, key=lambda c: c[0].promotion_id):
        done = await session.scalar(
            select(Redemption).where(
                Redemption.promotion_id == code.promotion_id, Redemption.order_id == order.id
            )
        )
        if done is not None:
            out.append(done)
            continue
        amount = a.amount_minor + a.shipping_minor
        res = await session.execute(
            update(Promotion)
            .where(
                Promotion.id == code.promotion_id,
                Promotion.status == PromotionStatus.ACTIVE,
                (Promotion.usage_limit.is_(None)) | (Promotion.uses_count < Promotion.usage_limit),
                (Promotion.budget_minor.is_(None))
                | (Promotion.spent_minor + amount <= Promotion.budget_minor),
            )
            .values(uses_count=Promotion.uses_count + 1, spent_minor=Promotion.spent_minor + amount)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            raise PromotionUsedUp(
                f"Sorry, the code {a.code} was just used up. Remove it to order without the discount."
            )
        promo = await session.get(Promotion, code.promotion_id, populate_existing=True)
        key = _customer_key(order.customer_id, order.email) or f"order{order.id}"
        if promo.per_customer_limit:
            used = await session.scalar(
                select(func.count())
                .select_from(Redemption)
                .where(
                    Redemption.promotion_id == promo.id,
                    Redemption.customer_key == key,
                    Redemption.status.in_(LIVE),
                )
            )
            if used >= promo.per_customer_limit:
                raise PromotionUsedUp(f"You have already used the code {a.code}.")
        if code.single_use:
            res = await session.execute(
                update(PromotionCode)
                .where(PromotionCode.id == code.id, PromotionCode.status == CodeStatus.AVAILABLE)
                .values(status=CodeStatus.RESERVED, order_id=order.id)
                .execution_options(synchronize_session=False)
            )
            if res.rowcount != 1:
                raise PromotionUsedUp(f"The code {a.code} has already been used.")
        row = Redemption(
            promotion_id=promo.id,
            code_id=code.id,
            code=code.code,
            order_id=order.id,
            customer_id=order.customer_id,
            customer_key=key,
            branch_id=order.branch_id,
            currency=order.currency,
            discount_minor=a.amount_minor,
            shipping_discount_minor=a.shipping_minor,
            order_total_minor=order.total_minor,
            status=RedemptionStatus.RESERVED,
            reserved_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="promotion.reserve",
            entity_type="promotion",
            entity_id=promo.id,
            branch_id=order.branch_id,
            after={"order_id": order.id, "code": code.code, "discount_minor": amount},
        )
        out.append(row)
    return out


async def _move(
    session: AsyncSession, *, actor: Actor, order_id: int, frm: tuple[str, ...], to: str, give_back: bool
) -> int:
    """Move an order's redemptions between states; give the uses (and budget, and single-use
    codes) back when asked. Idempotent: only rows still in `frm` move."""
    rows = list(
        await session.scalars(
            select(Redemption)
            .where(Redemption.order_id == order_id, Redemption.status.in_(frm))
            .order_by(Redemption.promotion_id)
        )
    )
    n = 0
    for r in rows:
        promo = await get_promotion(session, r.promotion_id, lock=True)
        if to == RedemptionStatus.RETURNED and not promo.refund_returns_use:
            continue
        was = r.status
        r.status = to
        amount = r.discount_minor + r.shipping_discount_minor
        if give_back:
            promo.uses_count -= 1
            promo.spent_minor -= amount
            if was == RedemptionStatus.CONFIRMED:
                promo.confirmed_count -= 1
        elif to == RedemptionStatus.CONFIRMED:
            promo.confirmed_count += 1
        code_status = CodeStatus.AVAILABLE if give_back else CodeStatus.USED
        await session.execute(
            update(PromotionCode)
            .where(PromotionCode.id == r.code_id, PromotionCode.single_use.is_(True))
            .values(status=code_status, order_id=None if give_back else r.order_id)
            .execution_options(synchronize_session=False)
        )
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action=f"promotion.{to}",
            entity_type="promotion",
            entity_id=promo.id,
            branch_id=r.branch_id,
            before={"status": was},
            after={"status": to, "order_id": order_id, "code": r.code},
        )
        n += 1
    return n


async def confirm(session: AsyncSession, *, actor: Actor, order_id: int) -> int:
    """Payment captured: the order's reserved uses are confirmed. Idempotent."""
    return await _move(
        session,
        actor=actor,
        order_id=order_id,
        frm=(RedemptionStatus.RESERVED,),
        to=RedemptionStatus.CONFIRMED,
        give_back=False,
    )


async def codes_of_order(session: AsyncSession, order_id: int) -> list[str]:
    """The discount codes an order used, in the order they were entered. Read-only."""
    rows = await session.scalars(
        select(Redemption.code).where(Redemption.order_id == order_id).order_by(Redemption.id)
    )
    return list(dict.fromkeys(rows))


async def release(session: AsyncSession, *, actor: Actor, order_id: int) -> int:
    """Order cancelled or payment failed: its uses go back. Idempotent."""
    return await _move(
        session,
        actor=actor,
        order_id=order_id,
        frm=(RedemptionStatus.RESERVED,),
        to=RedemptionStatus.RELEASED,
        give_back=True,
    )


async def give_back(session: AsyncSession, *, actor: Actor, order_id: int) -> int:
    """The whole order was refunded: uses go back where the promotion says so. Idempotent."""
    return await _move(
        session, actor=actor, order_id=order_id, frm=LIVE, to=RedemptionStatus.RETURNED, give_back=True
    )
