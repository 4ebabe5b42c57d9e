"""CartWorkflow: one durable entity per cart (`cart-{id}`), changed only through Updates.

It also runs the abandoned-cart cadence: durable timers at the branch's delays (default 1 h,
24 h, 72 h) after the last change; a change re-arms them from the first step, a checkout or
an unsubscribe ends them. Both additions are behind `workflow.patched` so carts already
running replay unchanged (tests/workflows/histories/cart_*.json); carts started at CART_REV 1
take them from their start without asking (workflows/steps.since)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.carts import CartActivities
    from activities.recovery import RecoveryActivities
    from backroom.carts.flow import CART_REV, CART_WORKFLOW, MAX_KEYS, PATCH_KEYS
    from backroom.carts.schemas import (
        CartCode,
        CartItem,
        CartPricing,
        CartQty,
        CartQuote,
        CartRemove,
        CartStart,
        CartView,
        CheckoutDone,
        CheckoutLock,
        ReminderState,
    )
    from backroom.recovery.flow import PATCH_COUPONS, PATCH_REMINDERS, CadenceAsk, ReminderAsk
    from backroom.temporal import INTERACTIVE_STEP, SHORT_DB_STEP

from workflows.steps import db_step, since

# Runs from here on look up the reminder cadence, price and project with local activities: a cart
# change is one workflow task (Update accepted, priced, projected, answered) instead of two
# activity tasks and the workflow tasks that take their results, through the server (issue 17).
# Older runs replay the regular activities their histories hold.
LOCAL_STEPS_PATCH = "cart-local-steps"

MAX_CODES = 5


@workflow.defn(name=CART_WORKFLOW)
class CartWorkflow:
    """Holds a cart's lines and codes; re-prices and checks stock on each change; projects to
    the DB; reminds an idle cart's customer."""

    @workflow.init
    def __init__(self, start: CartStart) -> None:
        self.start = start
        self.view = start.state or CartView(cart_id=start.cart_id, status="open", items={})
        self.checkout_key = start.checkout_key
        self.rem = start.reminders or ReminderState()
        self.keys: dict[str, str] = dict(start.keys or {})  # idempotency key -> the change it made
        self._rearm = False
        self._reminders = False
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, start: CartStart) -> CartView:
        self._reminders = since(start.rev, 1, PATCH_REMINDERS)
        if self._reminders and self.rem.hours is None:
            self.rem.hours = await db_step(
                self._local(), RecoveryActivities.cadence, CadenceAsk(branch_id=start.branch_id)
            )
        while True:
            idle = timedelta(days=start.idle_days)
            timeout = self._next_wake(idle) if self._reminders else idle
            self._rearm = False
            try:
                await workflow.wait_condition(
                    lambda: (
                        self.view.status in ("checked_out",)
                        or workflow.info().is_continue_as_new_suggested()
                        or (self._reminders and self._rearm)
                    ),
                    timeout=timeout,
                )
            except TimeoutError:
                due = self._reminder_due()
                if due is not None and workflow.now() >= due:
                    await self._remind()
                    continue
                if (
                    self.view.status == "open"
                    and workflow.now() - (self.view.last_activity_at or workflow.now()) >= idle
                ):
                    # Past the reminders: the cart expires (a restore link makes a new one).
                    self.view.status = "abandoned"
                    await self._project()
                    break
                continue
            if self._reminders and self._rearm and self.view.status != "checked_out":
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
                    reminders=self.rem,
                    keys=self.keys or None,
                    rev=CART_REV,  # the new run is this code's from its start
                )
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view

    # ---- abandoned-cart reminders ------------------------------------------------------

    def _next_wake(self, idle: timedelta) -> timedelta:
        """Until the next reminder or the cart's expiry, whichever comes first."""
        now = workflow.now()
        wake = (self.view.last_activity_at or now) + idle
        due = self._reminder_due()
        if due is not None:
            wake = min(wake, due)
        return max(wake - now, timedelta(seconds=1))

    def _reminder_due(self):
        """When the next reminder is due, or None (none left, opted out, not open, empty).
        A change since the last count starts the cadence again from the first step."""
        rem = self.rem
        if not self._reminders or rem.off or not rem.hours or self.view.status != "open":
            return None
        if not self.view.items or self.view.last_activity_at is None:
            return None
        if rem.base != self.view.last_activity_at:
            rem.base, rem.sent = self.view.last_activity_at, 0
        if rem.sent >= len(rem.hours):
            return None
        return rem.base + timedelta(hours=rem.hours[rem.sent])

    async def _remind(self) -> None:
        rem = self.rem
        step = rem.sent + 1
        result = await workflow.execute_activity_method(
            RecoveryActivities.remind,
            ReminderAsk(
                cart_id=self.view.cart_id,
                branch_id=self.start.branch_id,
                step=step,
                steps=len(rem.hours),
                key=f"{self.view.cart_id}:{rem.base.isoformat()}:{step}",
            ),
            **SHORT_DB_STEP,
        )
        rem.sent = step
        if result.stop:
            rem.off = True

    @workflow.signal
    def stop_reminders(self) -> None:
        """The customer unsubscribed: no more reminders for this cart. Idempotent."""
        self.rem.off = True
        self._rearm = True

    @workflow.query
    def reminders(self) -> ReminderState:
        return self.rem

    # ---- changes ---------------------------------------------------------------------------

    @workflow.query
    def state(self) -> CartView:
        return self.view

    def _local(self) -> bool:
        """Whether this run's short database steps are local activities (LOCAL_STEPS_PATCH)."""
        return since(self.start.rev, 1, LOCAL_STEPS_PATCH)

    def _must_be_open(self) -> None:
        if self.view.status != "open":
            raise ApplicationError(
                f"The cart is {self.view.status.replace('_', ' ')}; it can no longer change.",
                type="CartClosed",
                non_retryable=True,
            )

    async def _price(self, items: dict[int, int], codes: list[str]) -> CartPricing:
        q = CartQuote(cart_id=self.view.cart_id, currency=self.start.currency, items=items, codes=codes)
        try:
            if since(self.start.rev, 1, PATCH_COUPONS):
                return await db_step(self._local(), CartActivities.price, q, interactive=True)
            totals = await workflow.execute_activity_method(CartActivities.quote, q, **INTERACTIVE_STEP)
            return CartPricing(totals=totals)
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from None
            raise

    def _repeat(self, key: str | None, what: str) -> bool:
        """Whether a change with this idempotency key was already applied (then it is not
        applied again); the same key for a different change is refused."""
        if key is None or key not in self.keys:
            return False
        if self.keys[key] != what:
            raise ApplicationError(
                "This idempotency key was already used for a different change.",
                type="IdempotencyKeyReused",
                non_retryable=True,
            )
        return True

    async def _change(
        self, edit, codes=None, *, new_code=None, key: str | None = None, what: str = ""
    ) -> CartView:
        """Apply `edit` (current items -> new items) under the lock, re-priced; a change whose
        key was applied before returns the cart as it is (keys only when PATCH_KEYS holds)."""
        async with self._lock:
            keyed = key is not None and since(self.start.rev, 1, PATCH_KEYS)
            if keyed and self._repeat(key, what):
                return self.view
            self._must_be_open()  # checked again: a checkout may have started while we waited
            items = edit(dict(self.view.items))
            codes = list(self.view.codes) if codes is None else codes(list(self.view.codes))
            priced = await self._price(items, codes)
            if new_code is not None and new_code in priced.refused:
                raise ApplicationError(priced.refused[new_code], type="code_refused", non_retryable=True)
            self.view.items = items
            self.view.codes = codes
            self.view.code_notes = priced.refused
            self.view.totals = priced.totals
            if keyed:
                self.keys[key] = what
                while len(self.keys) > MAX_KEYS:
                    self.keys.pop(next(iter(self.keys)))
            await self._project()
            return self.view

    async def _project(self) -> None:
        self.view.version += 1
        self.view.last_activity_at = workflow.now()
        self._rearm = True
        await db_step(self._local(), CartActivities.project, self.view, interactive=True)

    @workflow.update
    async def add(self, item: CartItem) -> CartView:
        """Add units of a product (re-priced, stock-checked). Once per idempotency key."""

        def edit(items: dict[int, int]) -> dict[int, int]:
            return {**items, item.product_id: items.get(item.product_id, 0) + item.qty}

        return await self._change(edit, key=item.key, what=f"add:{item.product_id}:{item.qty}")

    @add.validator
    def _validate_add(self, item: CartItem) -> None:
        if item.key in self.keys:
            return  # a repeat: answered with the cart as it is (or refused in the handler)
        self._must_be_open()
        if self.view.items.get(item.product_id, 0) + item.qty > 999:
            raise ValueError("At most 999 units of one product per cart.")

    @workflow.update
    async def set_qty(self, change: CartQty) -> CartView:
        """Change a line's quantity; 0 removes it. Idempotent."""

        def edit(items: dict[int, int]) -> dict[int, int]:
            if change.qty == 0:
                items.pop(change.product_id, None)
            else:
                items[change.product_id] = change.qty
            return items

        return await self._change(edit, key=change.key, what=f"set_qty:{change.product_id}:{change.qty}")

    @set_qty.validator
    def _validate_set_qty(self, change: CartQty) -> None:
        if change.key in self.keys:
            return
        self._must_be_open()
        if change.product_id not in self.view.items:
            raise ValueError("That product is not in the cart.")

    @workflow.update
    async def remove(self, item: CartRemove) -> CartView:
        """Remove a line. Once per idempotency key."""

        def edit(items: dict[int, int]) -> dict[int, int]:
            return {k: v for k, v in items.items() if k != item.product_id}

        return await self._change(edit, key=item.key, what=f"remove:{item.product_id}")

    @remove.validator
    def _validate_remove(self, item: CartRemove) -> None:
        self._validate_set_qty(CartQty(product_id=item.product_id, qty=0, key=item.key))

    @workflow.update
    async def apply_code(self, code: CartCode) -> CartView:
        """Enter a discount code: the cart is re-priced with it, or the Update fails with the
        reason it does not apply (the cart stays as it was). Once per idempotency key."""
        return await self._change(
            dict,
            lambda codes: [*codes, code.code],
            new_code=code.code,
            key=code.key,
            what=f"code:{code.code}",
        )

    @apply_code.validator
    def _validate_apply_code(self, code: CartCode) -> None:
        if code.key in self.keys:
            return
        self._must_be_open()
        if code.code in self.view.codes:
            raise ValueError(f"The code {code.code} is already in the cart.")
        if len(self.view.codes) >= MAX_CODES:
            raise ValueError(f"At most {MAX_CODES} codes per cart.")

    @workflow.update
    async def remove_code(self, code: CartCode) -> CartView:
        """Take a discount code off the cart. Once per idempotency key."""
        return await self._change(
            dict,
            lambda codes: [c for c in codes if c != code.code],
            key=code.key,
            what=f"uncode:{code.code}",
        )

    @remove_code.validator
    def _validate_remove_code(self, code: CartCode) -> None:
        if code.key in self.keys:
            return
        self._must_be_open()
        if code.code not in self.view.codes:
            raise ValueError(f"The code {code.code} is not in the cart.")

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
