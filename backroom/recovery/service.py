"""Abandoned-cart recovery: the reminder a cart's workflow sends at each step (or staff send
by hand), the signed restore and unsubscribe links, the recovered-checkout bookkeeping and
the staff list of abandoned carts."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches.models import Branch
from backroom.carts.flow import cart_workflow_id
from backroom.carts.models import Cart, CartLine
from backroom.catalog import service as catalog
from backroom.catalog.models import Product
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.errors import NotFound, Refused
from backroom.money import format_money
from backroom.notifications import service as notifications
from backroom.orders.models import Order
from backroom.pagination import Page, paginate
from backroom.promotions import service as promotions
from backroom.recovery.errors import LinkInvalid
from backroom.recovery.flow import ReminderAsk, ReminderResult
from backroom.recovery.models import DEFAULT_DELAYS_HOURS, CartRecovery, CartReminder, ReminderSettings
from backroom.recovery.schemas import ReminderSettingsIn
from backroom.starts import service as starts

LINK_DAYS = 90  # a restore or unsubscribe link works this long
_RESTORE, _UNSUBSCRIBE = "cart-restore", "cart-unsubscribe"


# ---- settings ------------------------------------------------------------------------------


async def reminder_settings(session: AsyncSession, branch_id: int) -> ReminderSettings:
    """The branch's cadence; the defaults (1 h, 24 h, 72 h, no coupon) when never set. Read-only."""
    row = await session.get(ReminderSettings, branch_id)
    return row or ReminderSettings(branch_id=branch_id, enabled=True, delays_hours=list(DEFAULT_DELAYS_HOURS))


async def cadence(session: AsyncSession, branch_id: int) -> list[float]:
    """Hours after the last change at which a cart of the branch gets reminders ([] = none)."""
    row = await reminder_settings(session, branch_id)
    return [float(h) for h in row.delays_hours] if row.enabled else []


async def set_reminder_settings(
    session: AsyncSession, *, actor: Actor, branch_id: int, data: ReminderSettingsIn
) -> ReminderSettings:
    """Change a branch's cadence (carts started after this use it). Audited."""
    if data.recovery_promotion_id is not None:
        promo = await promotions.get_promotion(session, data.recovery_promotion_id)
        if promo.code_mode != "recovery":
            raise Refused("Choose a promotion set up for recovery codes.", field="recovery_promotion_id")
    row = await session.get(ReminderSettings, branch_id)
    before = None
    if row is None:
        row = ReminderSettings(branch_id=branch_id)
        session.add(row)
    else:
        before = {
            "enabled": row.enabled,
            "delays_hours": row.delays_hours,
            "promotion": row.recovery_promotion_id,
        }
    row.enabled = data.enabled
    row.delays_hours = sorted(data.delays_hours)
    row.recovery_promotion_id = data.recovery_promotion_id
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="abandoned_carts.settings",
        entity_type="branch",
        entity_id=branch_id,
        branch_id=branch_id,
        before=before,
        after={
            "enabled": row.enabled,
            "delays_hours": row.delays_hours,
            "promotion": row.recovery_promotion_id,
        },
    )
    return row


# ---- signed links ---------------------------------------------------------------------------


def _signer(secret: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt)


def restore_token(secret: str, cart_id: int) -> str:
    return _signer(secret, _RESTORE).dumps(cart_id)


def unsubscribe_token(secret: str, cart_id: int) -> str:
    return _signer(secret, _UNSUBSCRIBE).dumps(cart_id)


def _cart_id(secret: str, salt: str, token: str) -> int:
    try:
        return int(_signer(secret, salt).loads(token, max_age=LINK_DAYS * 86400))
    except SignatureExpired:
        raise LinkInvalid("This link has expired.") from None
    except (BadSignature, ValueError, TypeError):
        raise LinkInvalid("This link is not valid. Copy the whole link from the e-mail.") from None


# ---- reminders ------------------------------------------------------------------------------


async def _recovery(session: AsyncSession, cart: Cart) -> CartRecovery:
    row = await session.get(CartRecovery, cart.id)
    if row is None:
        row = CartRecovery(
            cart_id=cart.id,
            branch_id=cart.branch_id,
            customer_id=cart.customer_id,
            currency=cart.currency,
            value_minor=cart.total_minor,
            reminders_sent=0,
            last_step=0,
            recovered_minor=0,
        )
        session.add(row)
        await session.flush()
    return row


@dataclass
class _Line:
    name: str
    qty: int
    unit_minor: int
    available: int


async def _in_stock_lines(session: AsyncSession, cart_id: int) -> tuple[list[_Line], list[str]]:
    """The cart's lines at today's prices, split into those in stock and the names of those not."""
    lines = list(
        await session.scalars(select(CartLine).where(CartLine.cart_id == cart_id).order_by(CartLine.id))
    )
    products = {
        p.id: p
        for p in await session.scalars(
            select(Product).where(Product.id.in_([ln.product_id for ln in lines] or [-1]))
        )
    }
    ok, gone = [], []
    for ln in lines:
        product = products.get(ln.product_id)
        have = await catalog.available(session, ln.product_id) if product else 0
        if product is None or product.status != "active" or have < ln.qty:
            gone.append(ln.name)
        else:
            ok.append(_Line(product.name, ln.qty, product.price_minor, have))
    return ok, gone


def _body(
    *,
    name: str,
    branch: str,
    lines: list[_Line],
    currency: str,
    restore: str,
    unsubscribe: str,
    coupon: str | None,
) -> str:
    rows = [
        f"  - {ln.qty} x {ln.name}: {format_money(ln.unit_minor, currency)} each"
        + (f" (only {ln.available} left)" if ln.available <= 5 else "")
        for ln in lines
    ]
    total = sum(ln.qty * ln.unit_minor for ln in lines)
    parts = [
        f"Hello {name},",
        "",
        f"You left these in your cart at {branch}:",
        *rows,
        f"Together: {format_money(total, currency)} at today's prices.",
        "",
    ]
    if coupon:
        parts += [coupon, ""]
    parts += [
        f"Pick up where you left off, on any device: {restore}",
        "",
        f"No more reminders like this: {unsubscribe}",
    ]
    return "\n".join(parts)


async def remind(
    session: AsyncSession,
    *,
    actor: Actor,
    ask: ReminderAsk,
    secret: str,
    base_url: str,
    manual: bool = False,
) -> ReminderResult:
    """One reminder step: marks the cart abandoned (first step), then sends the e-mail if the
    customer has an address and marketing consent and something is still in stock; the last
    step may carry a single-use recovery code. Idempotent per `ask.key`."""
    done = await session.scalar(select(CartReminder).where(CartReminder.key == ask.key))
    if done is not None:
        return ReminderResult(sent=done.sent, reason=done.reason)
    cart = await session.get(Cart, ask.cart_id)
    if cart is None:
        return ReminderResult(sent=False, reason="The cart no longer exists.", stop=True)
    rec = await _recovery(session, cart)
    now = utcnow()
    if rec.abandoned_at is None and cart.status in ("open", "abandoned"):
        rec.abandoned_at = now
    rec.value_minor = cart.total_minor
    customer = await session.get(Customer, cart.customer_id) if cart.customer_id else None
    reason, stop = None, False
    if cart.status not in ("open", "abandoned"):
        reason = f"The cart is {cart.status.replace('_', ' ')}."
    elif rec.unsubscribed_at is not None:
        reason, stop = "The customer unsubscribed from cart reminders.", True
    elif customer is None or not customer.email or customer.status != "active":
        reason = "No e-mail address for this cart."
    elif not customer.consent_email:
        reason = "The customer has not agreed to marketing e-mails."
    lines, gone = ([], []) if reason else await _in_stock_lines(session, cart.id)
    if not reason and not lines:
        reason = "Everything in the cart is out of stock."
    row = CartReminder(
        cart_id=cart.id,
        branch_id=cart.branch_id,
        key=ask.key,
        step=ask.step,
        manual=manual,
        at=now,
        sent=False,
    )
    if reason is None:
        branch = await session.get(Branch, cart.branch_id)
        coupon_text, code = None, None
        settings = await session.get(ReminderSettings, cart.branch_id)
        if ask.step >= ask.steps and settings and settings.recovery_promotion_id:
            issued = await promotions.issue_recovery_code(
                session, promotion_id=settings.recovery_promotion_id, cart_id=cart.id, customer_id=customer.id
            )
            if issued is not None:
                promo = await promotions.get_promotion(session, issued.promotion_id)
                code = issued.code
                coupon_text = (
                    f"Use the code {code} for {promotions.describe(promotions.terms_of(promo))}; "
                    f"it works once, until {issued.expires_at:%Y-%m-%d}."
                )
        base = base_url.rstrip("/")
        restore = f"{base}/shop/restore/{quote(restore_token(secret, cart.id))}"
        unsubscribe = f"{base}/shop/unsubscribe/{quote(unsubscribe_token(secret, cart.id))}"
        note = await notifications.enqueue(
            session,
            kind="cart_reminder",
            subject=(
                f"Your cart at {branch.name}: here is something off"
                if code
                else f"You left something in your cart at {branch.name}"
            ),
            body=_body(
                name=customer.name,
                branch=branch.name,
                lines=lines,
                currency=cart.currency,
                restore=restore,
                unsubscribe=unsubscribe,
                coupon=coupon_text,
            )
            + (f"\n\n(Not listed, out of stock: {', '.join(gone)}.)" if gone else ""),
            to_customer_id=customer.id,
            branch_id=cart.branch_id,
            link=restore,
            dedupe_key=f"cart-reminder:{ask.key}",
        )
        row.sent, row.notification_id, row.code = True, note.id if note else None, code
        rec.reminders_sent += 1
        rec.last_step = ask.step
        rec.last_reminder_at = now
    row.reason = reason
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="abandoned_carts.remind" if row.sent else "abandoned_carts.skip",
        entity_type="cart",
        entity_id=cart.id,
        branch_id=cart.branch_id,
        after={"step": ask.step, "manual": manual, "sent": row.sent, "reason": reason, "code": row.code},
    )
    return ReminderResult(sent=row.sent, reason=reason, stop=stop)


async def send_by_hand(
    session: AsyncSession, *, actor: Actor, cart_id: int, secret: str, base_url: str
) -> ReminderResult:
    """Staff send a reminder now (same rules: consent, stock, no coupon). Not idempotent:
    each call is one more reminder."""
    cart = await session.get(Cart, cart_id)
    if cart is None:
        raise NotFound(f"Cart {cart_id} does not exist.")
    rec = await session.get(CartRecovery, cart_id)
    sent = rec.reminders_sent if rec else 0
    ask = ReminderAsk(
        cart_id=cart_id,
        branch_id=cart.branch_id,
        step=0,
        steps=0,
        key=f"{cart_id}:manual:{utcnow().isoformat()}:{sent}",
    )
    result = await remind(session, actor=actor, ask=ask, secret=secret, base_url=base_url, manual=True)
    if not result.sent:
        raise Refused(f"No reminder sent: {result.reason}")
    return result


# ---- unsubscribe and restore -----------------------------------------------------------------


async def cart_for_link(session: AsyncSession, *, secret: str, token: str, unsubscribe: bool = False) -> Cart:
    cart = await session.get(Cart, _cart_id(secret, _UNSUBSCRIBE if unsubscribe else _RESTORE, token))
    if cart is None:
        raise LinkInvalid("This cart no longer exists.")
    return cart


async def unsubscribe(
    session: AsyncSession, *, actor: Actor, secret: str, token: str, prefix: str = ""
) -> Cart:
    """The customer opts out from the e-mail link: no more cart reminders (the cart's timers
    stop through a signal in the outbox) and their marketing consent is withdrawn. Idempotent."""
    cart = await cart_for_link(session, secret=secret, token=token, unsubscribe=True)
    rec = await _recovery(session, cart)
    if rec.unsubscribed_at is not None:
        return cart
    rec.unsubscribed_at = utcnow()
    if cart.customer_id:
        customer = await session.get(Customer, cart.customer_id)
        if customer is not None and customer.consent_email:
            customer.consent_email = False
            await audit.record(
                session,
                actor=actor,
                action="customer.consent_withdrawn",
                entity_type="customer",
                entity_id=customer.id,
                branch_id=customer.home_branch_id,
                before={"consent_email": True},
                after={"consent_email": False, "via": "cart reminder unsubscribe link"},
            )
    if cart.status == "open":
        await starts.enqueue_signal(
            session, workflow_id=cart_workflow_id(cart.id, prefix), signal="stop_reminders"
        )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="abandoned_carts.unsubscribe",
        entity_type="cart",
        entity_id=cart.id,
        branch_id=cart.branch_id,
        after={"unsubscribed": True},
    )
    return cart


@dataclass
class RestorePlan:
    """What the storefront does with a restore link: carry on with `cart` (its session key is
    the shop cookie), adding `items` when it is a new cart made from an expired one."""

    cart: Cart
    items: dict[int, int]
    new: bool


async def restore(
    session: AsyncSession, *, actor: Actor, secret: str, token: str, session_key: str
) -> RestorePlan:
    """Restore a cart from an e-mail link on any device: an open cart is handed to this browser;
    an expired (or checked-out) one becomes a new cart with the same items, which counts as the
    old one's recovery when it is checked out. Audited."""
    old = await cart_for_link(session, secret=secret, token=token)
    if old.status in ("open", "checking_out"):
        if not old.session_key:
            old.session_key = session_key
            await session.flush()
        return RestorePlan(old, {}, False)
    lines = list(await session.scalars(select(CartLine).where(CartLine.cart_id == old.id)))
    new = Cart(
        branch_id=old.branch_id,
        currency=old.currency,
        customer_id=old.customer_id,
        session_key=session_key,
        status="open",
        created_by_id=None,
        last_activity_at=utcnow(),
    )
    session.add(new)
    await session.flush()
    session.add(
        CartRecovery(
            cart_id=new.id,
            branch_id=new.branch_id,
            customer_id=new.customer_id,
            currency=new.currency,
            value_minor=0,
            reminders_sent=0,
            last_step=0,
            recovered_minor=0,
            origin_cart_id=old.id,
        )
    )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="cart.restore",
        entity_type="cart",
        entity_id=new.id,
        branch_id=new.branch_id,
        after={"from_cart_id": old.id, "items": {str(ln.product_id): ln.qty for ln in lines}},
    )
    return RestorePlan(new, {ln.product_id: ln.qty for ln in lines}, True)


# ---- recovery --------------------------------------------------------------------------------


async def mark_recovered(session: AsyncSession, *, actor: Actor, order: Order) -> CartRecovery | None:
    """An order was placed from a cart: if that cart (or the one it was restored from) was
    abandoned, it is recovered, with the order's total and the last reminder step sent.
    Idempotent: a recovered cart stays as it is."""
    if order.cart_id is None:
        return None
    rec = await session.get(CartRecovery, order.cart_id)
    if rec is not None and rec.origin_cart_id is not None:
        rec = await session.get(CartRecovery, rec.origin_cart_id)
    if rec is None or rec.abandoned_at is None or rec.recovered_at is not None:
        return None
    rec.recovered_at = utcnow()
    rec.recovered_order_id = order.id
    rec.recovered_step = rec.last_step if rec.reminders_sent else None
    rec.recovered_minor = order.total_minor
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="abandoned_carts.recovered",
        entity_type="cart",
        entity_id=rec.cart_id,
        branch_id=rec.branch_id,
        after={"order_id": order.id, "step": rec.recovered_step, "total_minor": order.total_minor},
    )
    return rec


# ---- the staff list ----------------------------------------------------------------------------


@dataclass
class AbandonedRow:
    cart: Cart
    recovery: CartRecovery
    customer_name: str | None


async def list_abandoned(
    session: AsyncSession,
    *,
    branch_ids: set[int] | None,
    recovered: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """Abandoned carts, most recently abandoned first, with their recovery record. Read-only."""
    stmt = select(CartRecovery).where(CartRecovery.abandoned_at.is_not(None))
    if branch_ids is not None:
        stmt = stmt.where(CartRecovery.branch_id.in_(branch_ids or {-1}))
    if recovered is not None:
        stmt = stmt.where(
            CartRecovery.recovered_at.is_not(None) if recovered else CartRecovery.recovered_at.is_(None)
        )
    page = await paginate(
        session,
        stmt,
        sort_col=CartRecovery.abandoned_at,
        id_col=CartRecovery.cart_id,
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    ids = [r.cart_id for r in page.items] or [-1]
    carts = {c.id: c for c in await session.scalars(select(Cart).where(Cart.id.in_(ids)))}
    names = dict(
        (
            await session.execute(
                select(Cart.id, Customer.name)
                .join(Customer, Customer.id == Cart.customer_id)
                .where(Cart.id.in_(ids))
            )
        ).all()
    )
    page.items = [AbandonedRow(carts[r.cart_id], r, names.get(r.cart_id)) for r in page.items]
    return page


async def reminders_of(session: AsyncSession, cart_id: int) -> list[CartReminder]:
    return list(
        await session.scalars(
            select(CartReminder).where(CartReminder.cart_id == cart_id).order_by(CartReminder.id)
        )
    )


async def abandoned_row(session: AsyncSession, cart_id: int) -> AbandonedRow:
    """One abandoned cart with its recovery record and customer name. Read-only."""
    rec = await session.get(CartRecovery, cart_id)
    cart = await session.get(Cart, cart_id)
    if rec is None or cart is None or rec.abandoned_at is None:
        raise NotFound(f"Cart {cart_id} is not an abandoned cart.")
    customer = await session.get(Customer, cart.customer_id) if cart.customer_id else None
    return AbandonedRow(cart, rec, customer.name if customer else None)
