"""Checkout: cart workflow frozen, order placed with stock reserved and its workflow queued in
the same transaction; the edge commits and starts it. Shared by the JSON API and the storefront."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.context import Actor
from backroom.carts import service as carts
from backroom.carts.models import CartStatus
from backroom.carts.schemas import CartCode, CartItem
from backroom.db.session import end_read
from backroom.errors import AppError, InvalidInput
from backroom.orders import service as orders
from backroom.orders.errors import CartClosed, CartEmpty, IdempotencyKeyReused, OrderActionRefused
from backroom.orders.flow import ORDER_WORKFLOW
from backroom.orders.models import Order, OrderStatus
from backroom.orders.schemas import CheckoutRequest
from backroom.promotions import service as promotions
from backroom.starts import service as starts
from backroom.temporal import Connect


async def queue_start(session: AsyncSession, order: Order, settings) -> None:
    """Record the order's workflow start with the order (transactional outbox): if Temporal is
    down after the commit, the worker's poller starts `order-{id}` later. Idempotent by id."""
    start = await orders.start_input(session, order, settings)
    await starts.enqueue(
        session,
        run=ORDER_WORKFLOW,
        arg=start,
        workflow_id=orders.workflow_id(order.id, settings.workflow_prefix),
        task_queue=settings.task_queue,
        branch_id=start.branch_id,
        customer_id=start.customer_id,
        order_id=order.id,
    )


async def checkout(
    session: AsyncSession,
    connect: Connect,
    *,
    settings,
    actor: Actor,
    cart_id: int,
    body: CheckoutRequest,
    idempotency_key: str,
) -> tuple[Order, bool]:
    """Turn a cart into an order. Idempotent per key: a repeat returns the same order (and
    starts nothing new); the same key with a different body raises 409. Returns (order, created).
    The caller's unit of work commits and then starts the order's workflow and closes the cart.
    Everything before the order is written only reads (the edge marks the route READS_FIRST, so
    those reads do not take the write transaction): `end_read` drops it before the cart's lock."""
    if not 8 <= len(idempotency_key) <= 128:
        raise InvalidInput("Idempotency-Key must be 8 to 128 characters.", field="Idempotency-Key")
    fingerprint = orders.request_hash(cart_id, body)
    cart = await carts.get_cart(session, cart_id)
    existing = await orders.find_by_idempotency_key(session, idempotency_key, fingerprint)
    prefix = settings.workflow_prefix
    if existing is not None:
        await queue_start(session, existing, settings)  # still pending in the outbox: try again
        return existing, False
    if cart.status == CartStatus.CHECKED_OUT:
        raise CartClosed("This cart was already checked out.")
    # By hand (nothing written yet): the cart's workflow projects the lock from its own
    # transaction, which on SQLite needs the write lock this request's transaction holds.
    await end_read(session)
    client = await connect()
    view = await carts.lock_for_checkout(
        client, cart, idempotency_key, task_queue=settings.task_queue, prefix=prefix
    )
    try:
        if not view.items:
            raise CartEmpty("Add something to the cart before checking out.")
        order = await orders.place_order(
            session,
            actor=actor,
            cart_id=cart.id,
            branch_id=cart.branch_id,
            items=list(view.items.items()),
            body=body,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            currency=cart.currency,
            customer_id=cart.customer_id,
            # The codes that apply in the cart; one refused now (used up meanwhile) refuses
            # the checkout with the reason, and the customer may remove it and go on.
            codes=[c for c in view.codes if c not in view.code_notes],
            channel="storefront" if cart.session_key else "staff",
        )
        await queue_start(session, order, settings)
        await carts.close_after_commit(session, cart, idempotency_key, order.id, prefix=prefix)
    except IdempotencyKeyReused:
        raise  # a concurrent request with this key holds the cart: leave it locked
    except AppError:
        # By hand: undo the order before unlocking the cart, whose workflow writes its
        # projection from its own transaction (on SQLite, behind this one's write lock).
        await session.rollback()
        await carts.unlock(client, cart, idempotency_key, prefix=prefix)
        raise
    return order, True


async def try_again(
    session: AsyncSession,
    connect: Connect,
    *,
    settings,
    order: Order,
    session_key: str,
) -> list[str]:
    """Put the items and discount codes of an order whose payment failed back into the
    visitor's cart, so the shopper can check out again with another card (nothing was charged;
    the workflow released the stock and the codes). Idempotent: each item and code goes in under
    a key made of the order and the item, so a repeat changes nothing. Returns, in words, what
    could not go back (sold out meanwhile, a code used up). The session must hold no write
    transaction (the cart's workflow writes its projection)."""
    if order.status != OrderStatus.PAYMENT_FAILED:
        raise OrderActionRefused("Only an order whose payment failed can be tried again.")
    items: dict[int, tuple[str, int]] = {}
    for line in await orders.lines_of(session, order.id):
        name, qty = items.get(line.product_id, (line.name, 0))
        items[line.product_id] = (name, qty + line.qty)
    codes = await promotions.codes_of_order(session, order.id)
    await end_read(session)
    notes: list[str] = []

    async def attempt(what: str, call) -> None:
        try:
            await call
        except AppError as exc:
            if exc.retryable:  # Temporal down: the caller answers 503, try again later
                raise
            notes.append(f"{what}: {exc.detail}")

    for product_id, (name, qty) in items.items():
        item = CartItem(product_id=product_id, qty=qty, key=f"again-{order.id}-{product_id}")
        await attempt(
            name,
            carts.add_for_visitor(
                session,
                connect,
                actor=Actor.system("storefront"),
                session_key=session_key,
                item=item,
                shop_branch_code=settings.shop_branch_code,
                currency=order.currency,
                task_queue=settings.task_queue,
                prefix=settings.workflow_prefix,
            ),
        )
    cart = await carts.open_cart_for(session, session_key=session_key)
    await end_read(session)
    for code in codes if cart is not None else ():
        arg = CartCode(code=code, key=f"again-{order.id}-{code}")
        await attempt(
            f"Code {code}",
            carts.change(
                session,
                connect,
                cart=cart,
                name="apply_code",
                arg=arg,
                task_queue=settings.task_queue,
                prefix=settings.workflow_prefix,
            ),
        )
    return notes
