"""Carts: the DB projection of CartWorkflow, and the client calls that drive the workflow."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches.service import shop_branch
from backroom.carts.discounts import Basket
from backroom.carts.errors import CartChangeRefused, CartNotFound
from backroom.carts.flow import CART_REV, CART_WORKFLOW
from backroom.carts.flow import cart_workflow_id as workflow_id
from backroom.carts.models import Cart, CartLine, CartStatus
from backroom.carts.pricing import Totals
from backroom.carts.schemas import (
    CartItem,
    CartLineRead,
    CartPricing,
    CartQuote,
    CartRead,
    CartStart,
    CartView,
    CheckoutDone,
    CheckoutLock,
)
from backroom.catalog import service as catalog
from backroom.catalog.errors import OutOfStock
from backroom.customers import service as customers
from backroom.customers.models import Customer
from backroom.db.base import utcnow
from backroom.db.session import end_read
from backroom.orders import service as orders
from backroom.orders.models import Order
from backroom.pagination import Page, paginate
from backroom.reports import rollups
from backroom.starts.service import enqueue_signal
from backroom.temporal import Connect, raise_if_unreachable


async def create_cart(
    session: AsyncSession,
    *,
    actor: Actor,
    branch_id: int,
    currency: str,
    customer_id: int | None = None,
    session_key: str | None = None,
) -> Cart:
    """A new, empty cart row (its workflow starts on the first add). Not idempotent."""
    if customer_id is not None:
        await customers.writable(session, customer_id)
    cart = Cart(
        branch_id=branch_id,
        currency=currency,
        customer_id=customer_id,
        session_key=session_key or (None if customer_id else secrets.token_urlsafe(24)),
        status=CartStatus.OPEN,
        created_by_id=actor.user_id,
        last_activity_at=utcnow(),
    )
    session.add(cart)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="cart.create",
        entity_type="cart",
        entity_id=cart.id,
        branch_id=branch_id,
        after=audit.snapshot(cart),
    )
    return cart


async def get_cart(session: AsyncSession, cart_id: int) -> Cart:
    cart = await session.get(Cart, cart_id)
    if cart is None:
        raise CartNotFound(f"Cart {cart_id} does not exist.")
    return cart


async def open_cart_for(
    session: AsyncSession, *, session_key: str | None = None, customer_id: int | None = None
) -> Cart | None:
    """The open cart of a storefront session or a customer, if any. Read-only."""
    stmt = select(Cart).where(Cart.status.in_((CartStatus.OPEN, CartStatus.CHECKING_OUT)))
    if session_key:
        stmt = stmt.where(Cart.session_key == session_key)
    elif customer_id:
        stmt = stmt.where(Cart.customer_id == customer_id)
    else:
        return None
    return await session.scalar(stmt.order_by(Cart.id.desc()).limit(1))


async def order_of_visitor(session: AsyncSession, *, checkout_key: str, session_key: str | None):
    """The order a storefront visitor already placed with this checkout form (a double click or a
    resubmitted form), or None; another visitor's order is never returned. Read-only."""
    done = await orders.placed_with_key(session, checkout_key)
    if done is None or not done.cart_id or not session_key:
        return None
    cart = await get_cart(session, done.cart_id)
    return done if cart.session_key == session_key else None


CHECKOUT_FIELDS = (
    "email",
    "ship_name",
    "ship_line1",
    "ship_city",
    "ship_postcode",
    "ship_country",
    "billing_postcode",
)


async def checkout_form_of_visitor(session: AsyncSession, *, session_key: str | None) -> dict[str, str]:
    """The e-mail and addresses of the last order placed in this browser session, to fill in
    the checkout form again (a second order, or another try after a failed payment); empty for
    a new visitor. Read-only."""
    if not session_key:
        return {}
    last = await session.scalar(
        select(Order)
        .join(Cart, Cart.id == Order.cart_id)
        .where(Cart.session_key == session_key)
        .order_by(Order.id.desc())
        .limit(1)
    )
    return {f: getattr(last, f) for f in CHECKOUT_FIELDS if getattr(last, f)} if last else {}


async def selling_branch(
    session: AsyncSession, *, branch_id: int | None, shop_branch_code: str | None
) -> int:
    """The branch a new cart sells from: the one asked for, else the storefront's. Read-only."""
    return branch_id or (await shop_branch(session, code=shop_branch_code)).id


async def cart_read(session: AsyncSession, cart: Cart, *, with_lines: bool = True) -> CartRead:
    """The cart as the API shows it, with its lines unless asked not to. Read-only."""
    lines = await lines_of(session, cart.id) if with_lines else []
    return CartRead.model_validate(cart).model_copy(
        update={"lines": [CartLineRead.model_validate(x) for x in lines]}
    )


async def lines_of(session: AsyncSession, cart_id: int) -> list[CartLine]:
    return list(
        await session.scalars(select(CartLine).where(CartLine.cart_id == cart_id).order_by(CartLine.id))
    )


async def list_carts(
    session: AsyncSession, *, branch_ids: set[int] | None, status: str | None, limit: int, cursor: str | None
) -> Page:
    stmt = select(Cart)
    if branch_ids is not None:
        stmt = stmt.where(Cart.branch_id.in_(branch_ids or {-1}))
    if status:
        stmt = stmt.where(Cart.status == status)
    return await paginate(
        session, stmt, sort_col=Cart.updated_at, id_col=Cart.id, limit=limit, cursor=cursor, descending=True
    )


async def _check_stock(session: AsyncSession, items: dict[int, int]) -> None:
    for pid, qty in items.items():
        have = await catalog.available(session, pid)
        if have < qty:
            raise OutOfStock(f"Only {max(have, 0)} left.", product_id=pid)


async def quote(session: AsyncSession, *, items: dict[int, int], currency: str) -> Totals:
    """Price the items at catalog prices and check there is stock for each. Read-only."""
    await _check_stock(session, items)
    totals, _ = await orders.price_items(session, list(items.items()), currency=currency)
    return totals


async def price_cart(session: AsyncSession, *, q: CartQuote) -> CartPricing:
    """Price the cart's items with its discount codes, checking stock: the totals with what
    applies, and why each other code does not. Read-only."""
    await _check_stock(session, q.items)
    cart = await get_cart(session, q.cart_id)
    customer = await session.get(Customer, cart.customer_id) if cart.customer_id else None
    basket = Basket(
        branch_id=cart.branch_id,
        currency=q.currency,
        lines=[],
        codes=tuple(q.codes),
        customer_id=cart.customer_id,
        email=customer.email if customer else None,
        channel="storefront" if cart.session_key else "staff",
    )
    refused: dict[str, str] = {}
    totals, _ = await orders.price_items(
        session, list(q.items.items()), currency=q.currency, basket=basket, refused=refused
    )
    return CartPricing(totals=totals, refused=refused)


async def project(session: AsyncSession, *, actor: Actor, view: CartView) -> bool:
    """Write the workflow's cart state to carts/cart_lines; an older version never overwrites a
    newer one. Idempotent."""
    t = view.totals
    res = await session.execute(
        update(Cart)
        .where(Cart.id == view.cart_id, Cart.version < view.version)
        .values(
            status=view.status,
            version=view.version,
            item_count=t.item_count if t else 0,
            subtotal_minor=t.subtotal_minor if t else 0,
            discount_minor=t.discount_minor if t else 0,
            tax_minor=t.tax_minor if t else 0,
            shipping_minor=t.shipping_minor if t else 0,
            total_minor=t.total_minor if t else 0,
            last_activity_at=view.last_activity_at,
            order_id=view.order_id,
            updated_at=utcnow(),
        )
        .returning(Cart.branch_id, Cart.created_at)
        .execution_options(synchronize_session=False)
    )
    row = res.one_or_none()
    if row is None:
        return False
    if view.status != "open":
        # The cart's opening day: its checkout or abandonment counts there. The rolled-up cart
        # measures (carts/reports.py) count checked-out and abandoned carts and every cart
        # opened, so a change to an open cart moves none of them.
        rollups.note(session, Cart, row)
    await session.execute(delete(CartLine).where(CartLine.cart_id == view.cart_id))
    for line in t.lines if t else []:
        session.add(
            CartLine(
                cart_id=view.cart_id,
                product_id=line.product_id,
                sku=line.sku,
                name=line.name,
                qty=line.qty,
                unit_price_minor=line.unit_price_minor,
                line_total_minor=line.line_total_minor,
            )
        )
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="cart.update",
        entity_type="cart",
        entity_id=view.cart_id,
        after={
            "status": view.status,
            "items": {str(k): v for k, v in view.items.items()},
            "total_minor": t.total_minor if t else 0,
            "version": view.version,
        },
    )
    return True


def _refusal(exc: Exception) -> CartChangeRefused:
    cause = exc
    while getattr(cause, "cause", None) is not None or getattr(cause, "__cause__", None) is not None:
        nxt = getattr(cause, "cause", None) or cause.__cause__
        if isinstance(nxt, ApplicationError):
            cause = nxt
            break
        cause = nxt
    message = getattr(cause, "message", None) or str(cause)
    err = CartChangeRefused(message)
    kind = getattr(cause, "type", None)
    if kind == OutOfStock.code:
        err.code = "out_of_stock"
    elif kind == "CartClosed":
        err.code = "cart_closed"
    elif kind == "code_refused":
        err.code = "code_refused"
    elif kind == "IdempotencyKeyReused":
        err.code = "idempotency_key_reused"
    return err


async def send(
    client: Client, cart: Cart, update_name: str, arg, *, task_queue: str, prefix: str = ""
) -> CartView:
    """Send an Update to the cart's workflow, starting it if needed (update-with-start).
    A refused change raises CartChangeRefused (409) with the workflow's reason."""
    start = WithStartWorkflowOperation(
        CART_WORKFLOW,
        CartStart(cart_id=cart.id, branch_id=cart.branch_id, currency=cart.currency, rev=CART_REV),
        id=workflow_id(cart.id, prefix),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        # A closed cart never comes back to life under the same id.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        execution_timeout=timedelta(days=400),
    )
    try:
        return await client.execute_update_with_start_workflow(
            update_name, arg, start_workflow_operation=start, result_type=CartView
        )
    except WorkflowUpdateFailedError as exc:
        raise _refusal(exc) from None
    except WorkflowAlreadyStartedError:
        raise CartChangeRefused("The cart was already checked out.") from None
    except RPCError as exc:
        raise_if_unreachable(exc)
        if exc.status == RPCStatusCode.ALREADY_EXISTS or "closing workflow" in str(exc):
            raise CartChangeRefused("The cart was already checked out.") from None
        raise
    finally:
        _retrieve_start_outcome(start)


def _retrieve_start_outcome(start: WithStartWorkflowOperation) -> None:
    """When update-with-start fails, the SDK also sets the error on the start operation's future,
    which nobody awaits; asyncio then logs "Future exception was never retrieved", formatting a
    traceback on whatever thread collects it (issue 16, defect 1). Retrieve it. The public
    `workflow_handle()` would wait forever on a call that failed before reaching Temporal."""
    outcome = start._workflow_handle
    if outcome.done() and not outcome.cancelled():
        outcome.exception()


async def live_view(client: Client, cart: Cart, *, prefix: str = "") -> CartView | None:
    """The cart workflow's current state (codes, per-line discounts, reasons), or None when
    the workflow cannot answer right now (the page then shows the projection only)."""
    try:
        handle = client.get_workflow_handle(workflow_id(cart.id, prefix))
        return await asyncio.wait_for(handle.query("state", result_type=CartView), timeout=2)
    except (RPCError, TimeoutError, WorkflowQueryFailedError):
        return None


async def lock_for_checkout(
    client: Client, cart: Cart, key: str, *, task_queue: str, prefix: str = ""
) -> CartView:
    return await send(
        client, cart, "begin_checkout", CheckoutLock(key=key), task_queue=task_queue, prefix=prefix
    )


async def unlock(client: Client, cart: Cart, key: str, *, prefix: str = "") -> None:
    handle = client.get_workflow_handle(workflow_id(cart.id, prefix))
    await handle.execute_update("release_checkout", CheckoutLock(key=key), result_type=CartView)


async def close(client: Client, cart: Cart, key: str, order_id: int, *, prefix: str = "") -> None:
    """Tell the cart's workflow its checkout became order `order_id`, now."""
    handle = client.get_workflow_handle(workflow_id(cart.id, prefix))
    try:
        await handle.signal("complete_checkout", CheckoutDone(key=key, order_id=order_id))
    except RPCError:
        pass  # the cart workflow already finished with this very checkout


async def close_after_commit(
    session: AsyncSession, cart: Cart, key: str, order_id: int, *, prefix: str = ""
) -> None:
    """`close`, queued in the outbox with the order: sent after the commit, or later by the
    poller (a cart workflow that already finished with this very checkout drops it)."""
    await enqueue_signal(
        session,
        workflow_id=workflow_id(cart.id, prefix),
        signal="complete_checkout",
        arg=CheckoutDone(key=key, order_id=order_id),
    )


async def change(
    session: AsyncSession, connect: Connect, *, cart: Cart, name: str, arg, task_queue: str, prefix: str = ""
) -> CartView:
    """Send one change (add, set_qty, remove) to the cart's workflow, which re-prices and checks
    stock; a refusal raises CartChangeRefused (409). Idempotent per the change's key (without
    one, each add adds). The session
    must hold no write transaction (the workflow's activity writes the cart's projection)."""
    return await send(await connect(), cart, name, arg, task_queue=task_queue, prefix=prefix)


async def add_for_visitor(
    session: AsyncSession,
    connect: Connect,
    *,
    actor: Actor,
    session_key: str,
    item: CartItem,
    shop_branch_code: str | None,
    currency: str,
    task_queue: str,
    prefix: str = "",
) -> CartView:
    """Add to a storefront visitor's cart, creating the cart on first use (its workflow starts
    with this Update). Idempotent per `item.key` (without one, each add adds)."""
    cart = await open_cart_for(session, session_key=session_key)
    if cart is None:
        branch = await shop_branch(session, code=shop_branch_code)
        cart = await create_cart(
            session, actor=actor, branch_id=branch.id, currency=currency, session_key=session_key
        )
        # By hand: the workflow the Update below starts writes its projection into this row from
        # its own transaction, so the row must be committed first (on SQLite, releasing the one
        # write lock too).
        await session.commit()
    else:
        await end_read(session)  # the lookup's transaction must not outlive it (SQLite: the lock)
    return await change(
        session, connect, cart=cart, name="add", arg=item, task_queue=task_queue, prefix=prefix
    )
