"""OrderFulfillmentWorkflow (`order-{id}`): payment, review, pick/pack/label/ship, delivery,
refunds — every money and label step idempotent, compensated in reverse on cancel or failure."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.orders import OrderActivities
    from activities.vendors import VendorActivities
    from backroom.orders.flow import (
        ORDER_WORKFLOW,
        PARCEL_STEPS_OPEN,
        TERMINAL,
        AlertAsk,
        AuthorizeAsk,
        AuthResult,
        CancelAsk,
        CaptureAsk,
        LabelAsk,
        LabelQuotes,
        LabelRates,
        LabelResult,
        MoneyAsk,
        MoneyResult,
        OrderRef,
        OrderStart,
        OrderState,
        ParcelAction,
        ParcelStep,
        ParcelSteps,
        PaymentSignal,
        RefundAsk,
        RefundedElsewhere,
        RefundOutcome,
        StaffAction,
        StatusChange,
        TrackingSignal,
        VendorLateAsk,
        cancel_refusal,
    )
    from backroom.temporal import GATEWAY_CALL, SHORT_DB_STEP
    from workflows.approval import ApprovalAsk, ApprovalGate, ApprovalLevel

from workflows.steps import since

# Automatic fulfilment records "picking" with every parcel's picked and packed in one activity,
# and every parcel's shipped in another (instead of one activity per step and parcel).
MERGED_AUTO_STEPS = "auto-fulfil-merged-steps"
PICKING = "Sent to the warehouse for picking."
# Marketplace vendors ship their own parcels on their own deadline (VENDOR_SHIP_DAYS); the pick
# timeout covers the shop's parcels only. Runs started before keep one pick timer for all.
VENDOR_PARCELS = "vendor-parcels-own-deadline"
SENT = ("shipped", "delivered")
# Fewer activities per order: "payment_authorized" is recorded by the authorization's activity
# and "shipped" by the capture's (each in the same transaction), and automatic fulfilment quotes
# every parcel in one activity. Runs started before keep their separate steps.
FEWER_STEPS = "order-status-with-payment-one-quote"


@workflow.defn(name=ORDER_WORKFLOW)
class OrderFulfillmentWorkflow(ApprovalGate):
    """One online order from payment to delivery (and refunds after)."""

    @workflow.init
    def __init__(self, start: OrderStart) -> None:
        self.start = start
        self.st = OrderState(order_id=start.order_id, status="placed", parcels=list(start.parcels))
        self._cancel: CancelAsk | None = None
        self._fewer = False  # FEWER_STEPS, decided when the run starts
        self._payment: PaymentSignal | None = None
        self._lock = asyncio.Lock()
        self._refund_seq = 0
        self._pending_refund_minor = 0
        self._refund_tasks: list[asyncio.Task] = []

    # ---- queries, signals ------------------------------------------------------------
    @workflow.query
    def state(self) -> OrderState:
        return self.st

    @workflow.signal
    def payment_update(self, sig: PaymentSignal) -> None:
        """3-D Secure finished (webhook or storefront page)."""
        if self._payment is None:
            self._payment = sig

    @workflow.signal
    def refunded_elsewhere(self, sig: RefundedElsewhere) -> None:
        """Money refunded outside this workflow (a complaint's refund): counted as refunded.
        Issues no command, so runs recorded before it replay unchanged."""
        self.st.refunded_minor = max(self.st.refunded_minor, sig.refunded_minor)

    @workflow.signal
    async def tracking(self, sig: TrackingSignal) -> None:
        """A carrier tracking event (Shippo webhook)."""
        for p in self.st.parcels:
            if (
                p.tracking_number == sig.tracking_number
                and sig.status == "delivered"
                and p.status == "shipped"
            ):
                await self._parcel_step(p.id, "delivered", StaffAction(user_name="carrier"))

    # ---- helpers -------------------------------------------------------------------
    async def _status(
        self,
        status: str,
        message: str,
        *,
        customer_message: str | None = None,
        who: StaffAction | None = None,
    ) -> None:
        await workflow.execute_activity_method(
            OrderActivities.set_status,
            self._status_change(status, message, customer_message=customer_message, who=who),
            **SHORT_DB_STEP,
        )
        self._set_status(status, customer_message)

    def _status_change(
        self,
        status: str,
        message: str,
        *,
        customer_message: str | None = None,
        who: StaffAction | None = None,
    ) -> StatusChange:
        return StatusChange(
            order_id=self.start.order_id,
            status=status,
            message=message,
            key=f"{workflow.info().workflow_id}:{workflow.info().run_id}:{status}:{workflow.uuid4().hex[:8]}",
            customer_message=customer_message,
            user_id=who.user_id if who else None,
            user_name=who.user_name if who else None,
        )

    def _set_status(self, status: str, customer_message: str | None = None) -> None:
        # State changes after the write, so a caller that sees the status also finds it in the DB.
        self.st.status = status
        if customer_message:
            self.st.message = customer_message

    def _parcel(self, parcel_id: int):
        for p in self.st.parcels:
            if p.id == parcel_id:
                return p
        raise ApplicationError(f"Parcel {parcel_id} is not part of this order.", type="UnknownParcel")

    def _all(self, *states: str) -> bool:
        return all(p.status in states for p in self.st.parcels)

    async def _parcel_step(self, parcel_id: int, step: str, who: StaffAction) -> None:
        await workflow.execute_activity_method(
            OrderActivities.parcel_step,
            ParcelStep(
                order_id=self.start.order_id,
                parcel_id=parcel_id,
                step=step,
                user_id=who.user_id,
                user_name=who.user_name,
                serials=getattr(who, "serials", {}) if step == "packed" else {},
            ),
            **SHORT_DB_STEP,
        )
        self._parcel(parcel_id).status = step

    def _label_ask(self, parcel_id: int, who: StaffAction) -> LabelAsk:
        return LabelAsk(
            order_id=self.start.order_id,
            parcel_id=parcel_id,
            promised_days=self.start.promised_days,
            user_id=who.user_id,
            user_name=who.user_name,
        )

    async def _buy_label(self, parcel_id: int, who: StaffAction) -> None:
        ask = self._label_ask(parcel_id, who)
        # Quote first, then buy that exact rate: a retried purchase cannot pick a new rate (and buy twice).
        ask.rate = await workflow.execute_activity_method(OrderActivities.quote_label, ask, **GATEWAY_CALL)
        await self._purchase_label(ask)

    async def _purchase_label(self, ask: LabelAsk) -> None:
        label: LabelResult = await workflow.execute_activity_method(
            OrderActivities.purchase_label, ask, **GATEWAY_CALL
        )
        p = self._parcel(ask.parcel_id)
        p.status, p.label_id, p.tracking_number = "labelled", label.label_id, label.tracking_number

    def _cancellable(self) -> None:
        refusal = cancel_refusal(self.st.status, (p.status for p in self.st.parcels))
        if refusal:
            raise ApplicationError(refusal, type="NotCancellable")

    async def _compensate(self, why: str, *, status: str, customer_message: str) -> None:
        """Undo in reverse: void labels, release the card hold, give the stock back."""
        ref = OrderRef(order_id=self.start.order_id)
        for p in reversed(self.st.parcels):
            if p.label_id and p.status == "labelled":
                await workflow.execute_activity_method(
                    OrderActivities.void_label,
                    ParcelStep(order_id=self.start.order_id, parcel_id=p.id, step="voided"),
                    **GATEWAY_CALL,
                )
                p.status = "voided"
        if self.st.intent_id:
            await workflow.execute_activity_method(
                OrderActivities.void_payment,
                MoneyAsk(order_id=self.start.order_id, key=f"{workflow.info().workflow_id}:void"),
                **GATEWAY_CALL,
            )
        await workflow.execute_activity_method(OrderActivities.release_stock, ref, **SHORT_DB_STEP)
        await self._status(
            status, why, customer_message=customer_message, who=self._cancel if self._cancel else None
        )

    # ---- main flow ------------------------------------------------------------------
    @workflow.run
    async def run(self, start: OrderStart) -> OrderState:
        self._fewer = since(start.rev, 1, FEWER_STEPS)
        if not await self._authorize():
            return await self._finish()
        if self._cancel:
            return await self._cancelled()
        if start.review_reason and not await self._review():
            return await self._finish()
        if self._cancel:
            return await self._cancelled()
        merged = start.auto_fulfil and since(start.rev, 1, MERGED_AUTO_STEPS)
        if not merged:
            await self._status("picking", PICKING)
        try:
            if merged:
                await self._auto_fulfil_merged()
            elif start.auto_fulfil:
                await self._auto_fulfil()
            await self._wait_for_shipment()
            if self._cancel:
                return await self._cancelled()
        except ActivityError as err:
            # A step failed for good (e.g. the carrier refused the label): undo and tell someone.
            await workflow.execute_activity_method(
                OrderActivities.raise_alert,
                AlertAsk(
                    order_id=start.order_id,
                    kind="order_failed",
                    severity="critical",
                    message=f"Fulfilment failed: {err.cause or err}",
                    key=f"{workflow.info().workflow_id}:failed",
                ),
                **SHORT_DB_STEP,
            )
            await self._compensate(
                f"Fulfilment failed: {err.cause or err}",
                status="cancelled",
                customer_message="We could not ship your order; your card was not charged.",
            )
            return await self._finish()
        key = f"{workflow.info().workflow_id}:capture"
        shipped = "All parcels shipped; payment captured."
        money: MoneyResult = await workflow.execute_activity_method(
            OrderActivities.capture_payment,
            CaptureAsk(order_id=start.order_id, key=key, then_status=self._status_change("shipped", shipped))
            if self._fewer
            else MoneyAsk(order_id=start.order_id, key=key),
            **GATEWAY_CALL,
        )
        self.st.captured_minor = money.captured_minor
        if self._fewer:
            self._set_status("shipped")
        else:
            await self._status("shipped", shipped)
        await workflow.wait_condition(lambda: self._all("delivered"))
        if self.st.status not in ("refunded", "partially_refunded"):
            await self._status("delivered", "Delivered.")
            await self._status("completed", "Order completed.")
        # Refunds stay possible for a while after delivery.
        try:
            await workflow.wait_condition(
                lambda: self.st.status == "refunded" and not self._pending_refund_minor,
                timeout=timedelta(days=start.refund_window_days),
            )
        except TimeoutError:
            pass
        return await self._finish()

    async def _finish(self) -> OrderState:
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and all(t.done() for t in self._refund_tasks)
        )
        return self.st

    async def _cancelled(self) -> OrderState:
        await self._compensate(
            f"Cancelled: {self._cancel.reason}",
            status="cancelled",
            customer_message="Your order was cancelled; the card hold was released.",
        )
        return await self._finish()

    async def _authorize(self) -> bool:
        authorized = (
            "Payment authorized (funds held, not captured).",
            "Payment authorized. We are preparing your order.",
        )
        ref = (
            AuthorizeAsk(
                order_id=self.start.order_id,
                then_status=self._status_change(
                    "payment_authorized", authorized[0], customer_message=authorized[1]
                ),
            )
            if self._fewer
            else OrderRef(order_id=self.start.order_id)
        )
        auth: AuthResult = await workflow.execute_activity_method(
            OrderActivities.authorize_payment, ref, **GATEWAY_CALL
        )
        # Authorized at once: the activity recorded the status with the authorization.
        recorded = self._fewer and auth.status == "authorized"
        self.st.intent_id = auth.intent_id
        if auth.status == "requires_payment":
            if not await self._await_card():
                return False
            auth = AuthResult(status="authorized", intent_id=auth.intent_id)
        if auth.status == "requires_action":
            await self._status(
                "awaiting_authentication",
                "The card asks the customer to authenticate (3-D Secure).",
                customer_message="Your bank asks you to confirm this payment.",
            )
            try:
                await workflow.wait_condition(
                    lambda: self._payment is not None or self._cancel is not None,
                    timeout=timedelta(minutes=self.start.auth_timeout_minutes),
                )
            except TimeoutError:
                pass
            # Ask the gateway in any case: a webhook may have been lost, or the signal be stale.
            auth = await workflow.execute_activity_method(
                OrderActivities.check_payment, OrderRef(order_id=self.start.order_id), **GATEWAY_CALL
            )
            if auth.status != "authorized":
                message = (
                    self._payment.message if self._payment and self._payment.message else None
                ) or "The payment was not authenticated in time."
                await self._compensate(
                    message,
                    status="payment_failed",
                    customer_message=f"{message} Your order was not placed; nothing was charged.",
                )
                return False
        if auth.status != "authorized":
            await workflow.execute_activity_method(
                OrderActivities.release_stock, OrderRef(order_id=self.start.order_id), **SHORT_DB_STEP
            )
            message = auth.message or "Your card was declined."
            await self._status(
                "payment_failed",
                f"Payment failed: {message}",
                customer_message=f"{message} Please try another card; nothing was charged.",
            )
            return False
        if recorded:
            self._set_status("payment_authorized", authorized[1])
        else:
            await self._status("payment_authorized", authorized[0], customer_message=authorized[1])
        return True

    async def _await_card(self) -> bool:
        """The customer enters the card in the storefront and Stripe.js confirms the payment there
        (3-D Secure included). A declined card may be replaced by another until the deadline;
        then, or on cancel, the payment and the stock are released."""
        await self._status(
            "awaiting_payment",
            "Waiting for the customer to enter a card.",
            customer_message="Enter your card to pay for your order.",
        )
        deadline = workflow.now() + timedelta(minutes=self.start.auth_timeout_minutes)
        attempt = 0
        while True:
            left = (deadline - workflow.now()).total_seconds()
            if left > 0 and self._cancel is None:
                try:
                    await workflow.wait_condition(
                        lambda: self._payment is not None or self._cancel is not None,
                        timeout=timedelta(seconds=left),
                    )
                except TimeoutError:
                    pass
            attempt += 1
            auth: AuthResult = await workflow.execute_activity_method(
                OrderActivities.check_payment,
                OrderRef(order_id=self.start.order_id, attempt=attempt),
                **GATEWAY_CALL,
            )
            if auth.status == "authorized":
                return True
            if self._cancel is not None:
                await self._cancelled()
                return False
            if auth.status == "cancelled" or workflow.now() >= deadline:
                message = (
                    auth.message or "The payment was cancelled."
                    if auth.status == "cancelled"
                    else "The payment was not completed in time."
                )
                await self._compensate(
                    message,
                    status="payment_failed",
                    customer_message=f"{message} Your order was not placed; nothing was charged.",
                )
                return False
            if auth.status == "declined":
                await self._event(
                    "card_declined",
                    f"Card not accepted: {auth.message or 'declined'}; the customer may try another.",
                    StaffAction(user_name="customer"),
                )
            self._payment = None

    async def _review(self) -> bool:
        await self._status("review", f"Held for review: {self.start.review_reason}")
        gate = asyncio.create_task(
            self.request_approval(
                ApprovalAsk(
                    key="review",
                    branch_id=self.start.branch_id,
                    subject_type="order",
                    subject_id=str(self.start.order_id),
                    title=f"Review order #{self.start.order_id}",
                    reason=self.start.review_reason,
                    amount_minor=self.start.total_minor,
                    currency=self.start.currency,
                    requested_by_id=None,
                    requested_by_name="storefront",
                    function="orders",
                    action="approve",
                    levels=[
                        ApprovalLevel(role="finance", hours=self.start.review_hours),
                        ApprovalLevel(role="manager", hours=self.start.review_hours),
                    ],
                )
            )
        )
        await workflow.wait_condition(lambda: gate.done() or self._cancel is not None)
        if not gate.done():
            self.cancel_approval("The order was cancelled.")
            await self._cancelled()
            return False
        outcome = gate.result()
        if outcome.status != "approved":
            await self._compensate(
                f"Review {outcome.status}.",
                status="cancelled",
                customer_message="We could not accept this order; the card hold was released.",
            )
            return False
        return True

    async def _wait_for_shipment(self) -> None:
        done = lambda: self._cancel is not None or self._all(*SENT)  # noqa: E731
        by_vendor = since(self.start.rev, 1, VENDOR_PARCELS)
        shop = [p for p in self.st.parcels if not (by_vendor and p.vendor_id)]
        vendors = [p for p in self.st.parcels if by_vendor and p.vendor_id]
        deadline = asyncio.create_task(self._vendor_deadline(vendors)) if vendors else None
        picked = lambda: done() or all(p.status != "pending" for p in shop)  # noqa: E731
        try:
            await workflow.wait_condition(picked, timeout=timedelta(hours=self.start.pick_timeout_hours))
        except TimeoutError:
            message = f"Order #{self.start.order_id} not picked within {self.start.pick_timeout_hours:g} h."
            await workflow.execute_activity_method(
                OrderActivities.raise_alert,
                AlertAsk(
                    order_id=self.start.order_id,
                    kind="pick_timeout",
                    message=message,
                    key=f"{workflow.info().workflow_id}:pick_timeout",
                ),
                **SHORT_DB_STEP,
            )
            self.st.alerts.append("pick_timeout")
        await workflow.wait_condition(done)
        if deadline is not None:
            await deadline

    async def _vendor_deadline(self, parcels: list) -> None:
        """Vendors ship their own parcels (Updates from the vendor panel, as the warehouse's);
        whatever is not shipped `vendor_ship_days` after picking began raises one alert for staff,
        who may then ship it on the vendor's behalf. The wait for shipment goes on either way."""
        try:
            await workflow.wait_condition(
                lambda: self._cancel is not None or all(p.status in SENT for p in parcels),
                timeout=timedelta(days=self.start.vendor_ship_days),
            )
        except TimeoutError:
            await workflow.execute_activity_method(
                VendorActivities.parcels_late,
                VendorLateAsk(
                    order_id=self.start.order_id,
                    parcel_ids=[p.id for p in parcels if p.status not in SENT],
                    days=self.start.vendor_ship_days,
                    key=f"{workflow.info().workflow_id}:vendor_late",
                ),
                **SHORT_DB_STEP,
            )
            self.st.alerts.append("vendor_late")

    async def _auto_fulfil(self) -> None:
        robot = StaffAction(user_name="auto-fulfil")
        for p in self.st.parcels:
            for step in ("picked", "packed"):
                await self._parcel_step(p.id, step, robot)
            await self._buy_label(p.id, robot)
            await self._parcel_step(p.id, "shipped", robot)

    async def _auto_fulfil_merged(self) -> None:
        """Pick and pack every parcel with the "picking" status (one transaction), buy each
        label (quote, then purchase: outside calls), then ship every parcel (one transaction)."""
        robot = StaffAction(user_name="auto-fulfil")
        await self._parcel_steps(("picked", "packed"), robot, status=self._status_change("picking", PICKING))
        self._set_status("picking")
        if self._fewer:
            asks = [self._label_ask(p.id, robot) for p in self.st.parcels]
            quoted: LabelRates = await workflow.execute_activity_method(
                OrderActivities.quote_labels,
                LabelQuotes(order_id=self.start.order_id, asks=asks),
                **GATEWAY_CALL,
            )
            for ask, rate in zip(asks, quoted.rates, strict=True):
                ask.rate = rate
                await self._purchase_label(ask)
        else:
            for p in self.st.parcels:
                await self._buy_label(p.id, robot)
        await self._parcel_steps(("shipped",), robot)

    async def _parcel_steps(
        self, steps: tuple[str, ...], who: StaffAction, *, status: StatusChange | None = None
    ) -> None:
        await workflow.execute_activity_method(
            OrderActivities.parcel_steps,
            ParcelSteps(
                order_id=self.start.order_id,
                status=status,
                steps=[
                    ParcelStep(
                        order_id=self.start.order_id,
                        parcel_id=p.id,
                        step=step,
                        user_id=who.user_id,
                        user_name=who.user_name,
                    )
                    for p in self.st.parcels
                    for step in steps
                ],
            ),
            **SHORT_DB_STEP,
        )
        for p in self.st.parcels:
            p.status = steps[-1]

    # ---- warehouse updates ------------------------------------------------------------
    def _check_step(self, act: ParcelAction, need: tuple[str, ...], what: str) -> None:
        if self._cancel or self.st.status not in PARCEL_STEPS_OPEN:
            raise ApplicationError(
                f"The order is {self.st.status.replace('_', ' ')}; it cannot be {what} now.",
                type="WrongState",
            )
        p = self._parcel(act.parcel_id)
        if p.status not in need:
            raise ApplicationError(f"Parcel {p.id} is {p.status}; it cannot be {what}.", type="WrongState")

    async def _roll_up(self, who: StaffAction) -> None:
        if self._all("packed") and self.st.status == "picking":
            await self._status("packed", "All parcels packed.", who=who)
        elif self._all("labelled") and self.st.status in ("picking", "packed"):
            await self._status("label_purchased", "Shipping labels bought for every parcel.", who=who)

    @workflow.update
    async def pick(self, act: ParcelAction) -> OrderState:
        """Warehouse: the parcel's items are picked."""
        async with self._lock:
            self._check_step(act, ("pending",), "picked")
            await self._parcel_step(act.parcel_id, "picked", act)
            return self.st

    @pick.validator
    def _v_pick(self, act: ParcelAction) -> None:
        self._check_step(act, ("pending",), "picked")

    @workflow.update
    async def pack(self, act: ParcelAction) -> OrderState:
        """Warehouse: the parcel is packed."""
        async with self._lock:
            self._check_step(act, ("picked",), "packed")
            await self._parcel_step(act.parcel_id, "packed", act)
            await self._roll_up(act)
            return self.st

    @pack.validator
    def _v_pack(self, act: ParcelAction) -> None:
        self._check_step(act, ("picked",), "packed")

    @workflow.update
    async def buy_label(self, act: ParcelAction) -> OrderState:
        """Warehouse: buy the parcel's shipping label (never two per parcel)."""
        async with self._lock:
            self._check_step(act, ("packed",), "labelled")
            await self._buy_label(act.parcel_id, act)
            await self._roll_up(act)
            return self.st

    @buy_label.validator
    def _v_label(self, act: ParcelAction) -> None:
        self._check_step(act, ("packed",), "labelled")

    @workflow.update
    async def ship(self, act: ParcelAction) -> OrderState:
        """Warehouse: the parcel left with the carrier."""
        async with self._lock:
            self._check_step(act, ("labelled",), "shipped")
            await self._parcel_step(act.parcel_id, "shipped", act)
            return self.st

    @ship.validator
    def _v_ship(self, act: ParcelAction) -> None:
        self._check_step(act, ("labelled",), "shipped")

    @workflow.update
    async def mark_delivered(self, act: ParcelAction) -> OrderState:
        """Local carrier (no tracking feed): staff confirm delivery."""
        async with self._lock:
            if self._parcel(act.parcel_id).status == "shipped":
                await self._parcel_step(act.parcel_id, "delivered", act)
            return self.st

    @mark_delivered.validator
    def _v_delivered(self, act: ParcelAction) -> None:
        if self._parcel(act.parcel_id).status not in ("shipped", "delivered"):
            raise ApplicationError("Only a shipped parcel can be delivered.", type="WrongState")

    # ---- cancel and refunds -------------------------------------------------------------
    @workflow.update
    async def cancel(self, ask: CancelAsk) -> OrderState:
        """Cancel before shipment: void labels and the authorization, release stock."""
        if self._cancel is None:
            self._cancel = ask
        await workflow.wait_condition(lambda: self.st.status in TERMINAL)
        return self.st

    @cancel.validator
    def _v_cancel(self, ask: CancelAsk) -> None:
        if self._cancel is not None:
            return
        self._cancellable()

    @workflow.update
    async def refund(self, ask: RefundAsk) -> RefundOutcome:
        """Refund captured money; above the threshold only after an approval."""
        amount = ask.amount_minor or self._refundable()
        self._pending_refund_minor += amount
        self._refund_seq += 1
        seq = self._refund_seq
        if amount > self.start.refund_approval_over_minor:
            self._refund_tasks.append(asyncio.create_task(self._gated_refund(ask, amount, seq)))
            return RefundOutcome(
                status="pending_approval", amount_minor=amount, refunded_minor=self.st.refunded_minor
            )
        await self._do_refund(ask, amount, seq)
        return RefundOutcome(status="refunded", amount_minor=amount, refunded_minor=self.st.refunded_minor)

    @refund.validator
    def _v_refund(self, ask: RefundAsk) -> None:
        if not self.st.captured_minor:
            raise ApplicationError(
                "Nothing was captured yet; cancel the order instead.", type="NotRefundable"
            )
        left = self._refundable()
        if left <= 0:
            raise ApplicationError("The order is already fully refunded.", type="NotRefundable")
        if ask.amount_minor is not None and ask.amount_minor > left:
            raise ApplicationError(
                f"At most {left} (minor units) can still be refunded.", type="NotRefundable"
            )

    def _refundable(self) -> int:
        return self.st.captured_minor - self.st.refunded_minor - self._pending_refund_minor

    async def _gated_refund(self, ask: RefundAsk, amount: int, seq: int) -> None:
        await self._event(
            "refund_requested", f"Refund of {amount} requested by {ask.user_name}; awaiting approval.", ask
        )
        outcome = await self.request_approval(
            ApprovalAsk(
                key=f"refund-{seq}",
                branch_id=self.start.branch_id,
                subject_type="order",
                subject_id=str(self.start.order_id),
                title=f"Refund on order #{self.start.order_id}",
                reason=ask.reason,
                amount_minor=amount,
                currency=self.start.currency,
                requested_by_id=ask.user_id,
                requested_by_name=ask.user_name,
                function="payments",
                action="approve",
                levels=[ApprovalLevel(role="finance", hours=48), ApprovalLevel(role="manager", hours=24)],
            )
        )
        if outcome.status == "approved":
            await self._do_refund(ask, amount, seq)
        else:
            self._pending_refund_minor -= amount
            await self._event("refund_" + outcome.status, f"Refund of {amount} {outcome.status}.", ask)

    async def _event(self, kind: str, message: str, who: StaffAction) -> None:
        await workflow.execute_activity_method(
            OrderActivities.add_event,
            StatusChange(
                order_id=self.start.order_id,
                status=kind,
                message=message,
                key=f"{workflow.info().workflow_id}:{kind}:{workflow.uuid4().hex[:8]}",
                user_name=who.user_name,
            ),
            **SHORT_DB_STEP,
        )

    async def _do_refund(self, ask: RefundAsk, amount: int, seq: int) -> None:
        money: MoneyResult = await workflow.execute_activity_method(
            OrderActivities.refund_payment,
            MoneyAsk(
                order_id=self.start.order_id,
                key=f"{workflow.info().workflow_id}:refund-{seq}",
                amount_minor=amount,
                reason=ask.reason,
                user_id=ask.user_id,
            ),
            **GATEWAY_CALL,
        )
        self._pending_refund_minor -= amount
        self.st.refunded_minor = money.refunded_minor
        full = self.st.refunded_minor >= self.st.captured_minor
        await self._status(
            "refunded" if full else "partially_refunded",
            f"Refunded {amount} ({ask.reason}).",
            who=ask,
            customer_message="Your refund is on its way." if full else "Part of your order was refunded.",
        )


WORKFLOWS = [OrderFulfillmentWorkflow]
