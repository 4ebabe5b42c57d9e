"""CartWorkflow: one durable entity per cart (`cart-{id}`), changed only through Updates."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.carts import CartActivities
    from backroom.carts.flow import CART_WORKFLOW
    from backroom.carts.schemas import (
        CartItem,
        CartQty,
        CartQuote,
        CartRemove,
        CartStart,
        CartView,
        CheckoutDone,
        CheckoutLock,
    )
    from backroom.temporal import INTERACTIVE_STEP


@workflow.defn(name=CART_WORKFLOW)
class CartWorkflow:
    """Holds a cart's lines; re-prices and checks stock on each change; projects to the DB."""

    @workflow.init
    def __init__(self, start: CartStart) -> None:
        self.start = start
        self.view = start.state or CartView(cart_id=start.cart_id, status="open", items={})
        self.checkout_key = start.checkout_key
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, start: CartStart) -> CartView:
        while True:
            idle = timedelta(days=start.idle_days)
            try:
                await workflow.wait_condition(
                    lambda: (
                        self.view.status in ("checked_out",) or workflow.info().is_continue_as_new_suggested()
                    ),
                    timeout=idle,
                )
            except TimeoutError:
                if (
                    self.view.status == "open"
                    and workflow.now() - (self.view.last_activity_at or workflow.now()) >= idle
                ):
                    # ABANDONED-CART HOOK: the reminder e-mail timer goes here (a shorter timeout
                    # before this one, then a notification activity); for now the cart just expires.
                    self.view.status = "abandoned"
                    await self._project()
                    break
                continue
            if self.view.status == "checked_out":
                break
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(
                CartStart(
                    cart_id=start.cart_id,
                    branch_id=start.branch_id,
                    currency=start.currency,
                    idle_days=start.idle_days,
                    state=self.view,
                    checkout_key=self.checkout_key,
                )
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view

    @workflow.query
    def state(self) -> CartView:
        return self.view

    def _must_be_open(self) -> None:
        if self.view.status != "open":
            raise ApplicationError(
                f"The cart is {self.view.status.replace('_', ' ')}; it can no longer change.",
                type="CartClosed",
                non_retryable=True,
            )

    async def _change(self, items: dict[int, int]) -> CartView:
        async with self._lock:
            self._must_be_open()  # checked again: a checkout may have started while we waited
            try:
                totals = await workflow.execute_activity_method(
                    CartActivities.quote,
                    CartQuote(cart_id=self.view.cart_id, currency=self.start.currency, items=items),
                    **INTERACTIVE_STEP,
                )
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError):
                    raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from None
                raise
            self.view.items = items
            self.view.totals = totals
            await self._project()
            return self.view

    async def _project(self) -> None:
        self.view.version += 1
        self.view.last_activity_at = workflow.now()
        await workflow.execute_activity_method(CartActivities.project, self.view, **INTERACTIVE_STEP)

    @workflow.update
    async def add(self, item: CartItem) -> CartView:
        """Add units of a product (re-priced, stock-checked)."""
        items = dict(self.view.items)
        items[item.product_id] = items.get(item.product_id, 0) + item.qty
        return await self._change(items)

    @add.validator
    def _validate_add(self, item: CartItem) -> None:
        self._must_be_open()
        if self.view.items.get(item.product_id, 0) + item.qty > 999:
            raise ValueError("At most 999 units of one product per cart.")

    @workflow.update
    async def set_qty(self, change: CartQty) -> CartView:
        """Change a line's quantity; 0 removes it."""
        items = dict(self.view.items)
        if change.qty == 0:
            items.pop(change.product_id, None)
        else:
            items[change.product_id] = change.qty
        return await self._change(items)

    @set_qty.validator
    def _validate_set_qty(self, change: CartQty) -> None:
        self._must_be_open()
        if change.product_id not in self.view.items:
            raise ValueError("That product is not in the cart.")

    @workflow.update
    async def remove(self, item: CartRemove) -> CartView:
        """Remove a line."""
        items = {k: v for k, v in self.view.items.items() if k != item.product_id}
        return await self._change(items)

    @remove.validator
    def _validate_remove(self, item: CartRemove) -> None:
        self._validate_set_qty(CartQty(product_id=item.product_id, qty=0))

    @workflow.update
    async def begin_checkout(self, lock: CheckoutLock) -> CartView:
        """Freeze the cart for a checkout. Idempotent per checkout key. Not projected: the
        checkout's outcome (closed, or open again) is, one step later."""
        async with self._lock:
            if self.view.status == "open":
                self.view.status = "checking_out"
                self.checkout_key = lock.key
            return self.view

    @begin_checkout.validator
    def _validate_begin(self, lock: CheckoutLock) -> None:
        if self.view.status == "open":
            return
        if self.checkout_key == lock.key and self.view.status in ("checking_out", "checked_out"):
            return
        raise ApplicationError("The cart is already being checked out or was checked out.", type="CartClosed")

    @workflow.update
    async def release_checkout(self, lock: CheckoutLock) -> CartView:
        """Unfreeze after a checkout that failed (e.g. out of stock). Idempotent."""
        async with self._lock:
            if self.view.status == "checking_out" and self.checkout_key == lock.key:
                self.view.status = "open"
                self.checkout_key = None
                await self._project()
            return self.view

    @workflow.signal
    async def complete_checkout(self, done: CheckoutDone) -> None:
        """The order exists: the cart is closed for good. A signal, so checkout need not wait
        for the projection; ignored unless it names this cart's checkout. Idempotent."""
        async with self._lock:
            if self.checkout_key == done.key and self.view.status != "checked_out":
                self.view.status = "checked_out"
                self.view.order_id = done.order_id
                await self._project()


WORKFLOWS = [CartWorkflow]
