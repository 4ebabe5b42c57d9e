"""Checkout: cart workflow frozen, order placed with stock reserved, committed, then the
fulfilment workflow started. Shared by the JSON API and the storefront."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from backroom.audit.context import Actor
from backroom.branches.models import Branch
from backroom.carts import service as carts
from backroom.errors import AppError, InvalidInput
from backroom.orders import service as orders
from backroom.orders.errors import CartClosed, CartEmpty, IdempotencyKeyReused
from backroom.orders.flow import ORDER_WORKFLOW
from backroom.orders.models import Order
from backroom.orders.schemas import CheckoutRequest
from backroom.starts import service as starts


async def end_transaction(session: AsyncSession) -> None:
    """Finish the read part of a request before a workflow call: on SQLite an open write
    transaction holds the lock the workflow's activities need. Loaded objects stay usable."""
    session.expunge_all()
    await session.rollback()


async def shop_branch(session: AsyncSession, settings) -> Branch:
    """The branch the storefront sells from: SHOP_BRANCH_CODE, else the first branch. Read-only."""
    stmt = select(Branch)
    if settings.shop_branch_code:
        stmt = stmt.where(Branch.code == settings.shop_branch_code)
    branch = await session.scalar(stmt.order_by(Branch.id).limit(1))
    if branch is None:
        raise InvalidInput("No branch sells online yet.")
    return branch


async def checkout(
    session: AsyncSession,
    *,
    client: Client,
    sessionmaker,
    settings,
    actor: Actor,
    cart_id: int,
    body: CheckoutRequest,
    idempotency_key: str,
) -> tuple[Order, bool]:
    """Turn a cart into an order. Idempotent per key: a repeat returns the same order (and
    re-starts nothing); the same key with a different body raises 409. Returns (order, created)."""
    if not 8 <= len(idempotency_key) <= 128:
        raise InvalidInput("Idempotency-Key must be 8 to 128 characters.", field="Idempotency-Key")
    fingerprint = orders.request_hash(cart_id, body)
    cart = await carts.get_cart(session, cart_id)
    existing = await orders.find_by_idempotency_key(session, idempotency_key, fingerprint)
    prefix, queue = settings.workflow_prefix, settings.task_queue
    if existing is not None:
        await end_transaction(session)
        # Started already, or still pending in the outbox: try once more (idempotent).
        await starts.dispatch(client, sessionmaker, [orders.workflow_id(existing.id, prefix)])
        return existing, False
    if cart.status == "checked_out":
        raise CartClosed("This cart was already checked out.")
    await end_transaction(session)  # nothing written yet
    view = await carts.lock_for_checkout(client, cart, idempotency_key, task_queue=queue, prefix=prefix)
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
        )
        start = await orders.start_input(session, order, settings)
        # The start is recorded with the order (transactional outbox): if Temporal is down right
        # after the commit, the worker's poller starts `order-{id}` later.
        wid = orders.workflow_id(order.id, prefix)
        await starts.enqueue(
            session,
            run=ORDER_WORKFLOW,
            arg=start,
            workflow_id=wid,
            task_queue=queue,
            branch_id=start.branch_id,
            customer_id=start.customer_id,
            order_id=order.id,
        )
        await session.commit()
    except IdempotencyKeyReused:
        await session.rollback()  # a concurrent request with this key holds the cart: leave it locked
        raise
    except AppError:
        await session.rollback()
        await carts.unlock(client, cart, idempotency_key, prefix=prefix)
        raise
    await starts.dispatch(client, sessionmaker, [wid])
    await carts.close(client, cart, idempotency_key, order.id, prefix=prefix)
    return order, True
