"""Order activities: thin adapters over the orders/catalog services, the payment gateway
(deps.extra["payments"]) and the shipping carrier (deps.extra["carrier"]). Every one is
idempotent: gateway calls carry keys built from the workflow id and the purpose, and DB writes
are conditional or keyed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches.models import Branch
from backroom.catalog import service as catalog
from backroom.orders import service as orders
from backroom.orders.adapters import is_test_mode, stripe_config
from backroom.orders.flow import (
    AlertAsk,
    AuthResult,
    LabelAsk,
    LabelResult,
    MoneyAsk,
    MoneyResult,
    OrderRef,
    ParcelStep,
    StatusChange,
)
from backroom.orders.models import Parcel
from backroom.payments.errors import PaymentError
from backroom.payments.gateway import CardDeclined, PaymentStatus
from backroom.shipping.carrier import Address, Rate, choose_rate
from backroom.shipping.carrier import Parcel as ShipParcel
from backroom.shipping.errors import ShippingError

THREE_DS_TEST_METHOD = "pm_card_threeDSecure2Required"


def _actor(user_id: int | None = None, name: str | None = None) -> Actor:
    wf = activity.info().workflow_id
    return Actor.workflow(wf, on_behalf_of=user_id, name=f"{name} via {wf}" if name else None)


def _business(exc: Exception, kind: str) -> ApplicationError:
    return ApplicationError(str(exc), type=kind, non_retryable=True)


class OrderActivities:
    def __init__(self, deps) -> None:
        self._deps = deps
        self._sessionmaker = deps.sessionmaker

    @property
    def _gateway(self):
        gateway = self._deps.extra.get("payments")
        if gateway is None:
            raise ApplicationError("No payment gateway is configured.", type="GatewayMisconfigured")
        return gateway

    @property
    def _carrier(self):
        carrier = self._deps.extra.get("carrier")
        if carrier is None:
            raise ApplicationError("No shipping carrier is configured.", type="CarrierMisconfigured")
        return carrier

    async def _payment_method(self, method: str) -> str:
        """localstripe has no ready-made 3-D Secure method: make one from Stripe's 3DS test card."""
        settings = self._deps.settings
        if method != THREE_DS_TEST_METHOD or not is_test_mode(settings):
            return method
        import stripe

        key, base = stripe_config(settings)
        client = stripe.StripeClient(key, base_addresses={"api": base})
        pm = await client.v1.payment_methods.create_async(
            params={
                "type": "card",
                "card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            }
        )
        return pm.id

    @activity.defn(name="order_set_status")
    async def set_status(self, ch: StatusChange) -> None:
        """Move the order's status with a timeline entry. Idempotent per key."""
        async with self._sessionmaker.begin() as session:
            await orders.set_status(
                session,
                actor=_actor(ch.user_id, ch.user_name),
                order_id=ch.order_id,
                status=ch.status,
                message=ch.message,
                key=ch.key,
                customer_message=ch.customer_message,
            )

    @activity.defn(name="order_add_event")
    async def add_event(self, ch: StatusChange) -> None:
        """A timeline entry without a status change. Idempotent per key."""
        async with self._sessionmaker.begin() as session:
            await orders.add_event(
                session,
                order_id=ch.order_id,
                kind=ch.status,
                message=ch.message,
                actor_name=ch.user_name,
                key=ch.key,
            )

    @activity.defn(name="order_authorize_payment")
    async def authorize_payment(self, ref: OrderRef) -> AuthResult:
        """Hold the order total on the card (manual capture). Idempotent: key = workflow id + purpose."""
        key = f"{activity.info().workflow_id}:authorize"
        async with self._sessionmaker() as session:
            order = await orders.get_order(session, ref.order_id)
        method = await self._payment_method(order.payment_method)
        try:
            result = await self._gateway.authorize(
                order.total_minor, order.currency, method, key, {"order_id": str(order.id)}
            )
            outcome = AuthResult(
                status="authorized"
                if result.status is PaymentStatus.AUTHORIZED
                else "requires_action"
                if result.status is PaymentStatus.REQUIRES_ACTION
                else "failed",
                intent_id=result.intent_id,
                message=result.message,
            )
        except CardDeclined as exc:
            outcome = AuthResult(status="declined", intent_id=exc.intent_id, message=exc.message)
        except PaymentError as exc:
            if exc.retryable:
                raise
            outcome = AuthResult(
                status="failed", message=f"The payment could not be processed ({exc.detail})."
            )
        await self._record_auth(ref.order_id, outcome, key)
        return outcome

    async def _record_auth(self, order_id: int, outcome: AuthResult, key: str) -> None:
        kind = {"authorized": "authorization", "requires_action": "action_required"}.get(
            outcome.status, "failure"
        )
        async with self._sessionmaker.begin() as session:
            await audit.lock_chain(session)
            order = await orders.get_order(session, order_id)
            if outcome.intent_id:
                order.payment_intent_id = outcome.intent_id
            await orders.ledger(
                session,
                actor=_actor(),
                order=order,
                kind=kind,
                status=outcome.status,
                amount_minor=order.total_minor if outcome.status == "authorized" else 0,
                idempotency_key=f"{key}:{kind}",
                intent_id=outcome.intent_id,
                message=outcome.message,
            )

    @activity.defn(name="order_check_payment")
    async def check_payment(self, ref: OrderRef) -> AuthResult:
        """Ask the gateway where a 3-D Secure payment stands; records the outcome. Idempotent."""
        async with self._sessionmaker() as session:
            order = await orders.get_order(session, ref.order_id)
        if not order.payment_intent_id:
            return AuthResult(status="failed", message="No payment was started.")
        result = await self._gateway.retrieve(order.payment_intent_id)
        status = {
            PaymentStatus.AUTHORIZED: "authorized",
            PaymentStatus.REQUIRES_ACTION: "requires_action",
            PaymentStatus.DECLINED: "declined",
        }.get(result.status, "failed")
        outcome = AuthResult(
            status=status,
            intent_id=result.intent_id,
            message=result.message
            or ("The payment was not authenticated in time." if status != "authorized" else None),
        )
        if status != "requires_action":
            await self._record_auth(ref.order_id, outcome, f"{activity.info().workflow_id}:authenticate")
        return outcome

    @activity.defn(name="order_capture_payment")
    async def capture_payment(self, ask: MoneyAsk) -> MoneyResult:
        """Capture the held funds. Idempotent: same key, one capture, one ledger row."""
        async with self._sessionmaker() as session:
            order = await orders.get_order(session, ask.order_id)
        try:
            result = await self._gateway.capture(order.payment_intent_id, ask.amount_minor, ask.key)
        except PaymentError as exc:
            if exc.retryable:
                raise
            raise _business(exc, "PaymentRejected") from None
        async with self._sessionmaker.begin() as session:
            await audit.lock_chain(session)
            order = await orders.get_order(session, ask.order_id)
            order.captured_minor = result.captured_minor
            await orders.ledger(
                session,
                actor=_actor(),
                order=order,
                kind="capture",
                status="succeeded",
                amount_minor=result.captured_minor,
                idempotency_key=ask.key,
                intent_id=result.intent_id,
                gateway_ref=result.charge_id,
            )
        return MoneyResult(
            captured_minor=result.captured_minor,
            refunded_minor=result.refunded_minor,
            status=result.status.value,
        )

    @activity.defn(name="order_void_payment")
    async def void_payment(self, ask: MoneyAsk) -> MoneyResult:
        """Release the card hold (cancel the PaymentIntent). Idempotent."""
        async with self._sessionmaker() as session:
            order = await orders.get_order(session, ask.order_id)
        if not order.payment_intent_id:
            return MoneyResult(status="none")
        try:
            result = await self._gateway.cancel(order.payment_intent_id, ask.key)
        except PaymentError as exc:
            if exc.retryable:
                raise
            # Already failed or never confirmed: nothing is held; record and move on.
            result = None
        async with self._sessionmaker.begin() as session:
            await audit.lock_chain(session)
            order = await orders.get_order(session, ask.order_id)
            await orders.ledger(
                session,
                actor=_actor(),
                order=order,
                kind="void",
                status="succeeded" if result else "not_needed",
                amount_minor=0,
                idempotency_key=ask.key,
                intent_id=order.payment_intent_id,
            )
        return MoneyResult(status=result.status.value if result else "not_needed")

    @activity.defn(name="order_refund_payment")
    async def refund_payment(self, ask: MoneyAsk) -> MoneyResult:
        """Refund captured money. Idempotent per key (one refund per key)."""
        async with self._sessionmaker() as session:
            order = await orders.get_order(session, ask.order_id)
        try:
            result = await self._gateway.refund(order.payment_intent_id, ask.amount_minor, ask.key)
        except PaymentError as exc:
            if exc.retryable:
                raise
            raise _business(exc, "PaymentRejected") from None
        async with self._sessionmaker.begin() as session:
            await audit.lock_chain(session)
            order = await orders.get_order(session, ask.order_id)
            order.refunded_minor = result.refunded_total_minor
            await orders.ledger(
                session,
                actor=_actor(ask.user_id),
                order=order,
                kind="refund",
                status=result.status.value,
                amount_minor=result.amount_minor,
                idempotency_key=ask.key,
                intent_id=result.intent_id,
                gateway_ref=result.refund_id,
                message=ask.reason,
            )
        return MoneyResult(refunded_minor=result.refunded_total_minor, status=result.status.value)

    @activity.defn(name="order_release_stock")
    async def release_stock(self, ref: OrderRef) -> int:
        """Give the order's held units back to sale. Idempotent."""
        async with self._sessionmaker.begin() as session:
            return await catalog.release(session, actor=_actor(), order_id=ref.order_id)

    @activity.defn(name="order_parcel_step")
    async def parcel_step(self, step: ParcelStep) -> None:
        """Record picked/packed/shipped/delivered on a parcel (shipping takes the stock out). Idempotent."""
        allowed = {
            "picked": ("pending",),
            "packed": ("picked",),
            "shipped": ("labelled",),
            "delivered": ("shipped",),
        }[step.step]
        actor = _actor(step.user_id, step.user_name)
        async with self._sessionmaker.begin() as session:
            parcel = await orders.update_parcel(
                session, actor=actor, parcel_id=step.parcel_id, to=step.step, allowed_from=allowed
            )
            if parcel is None:
                return  # done by an earlier attempt
            if step.step == "shipped":
                await catalog.ship_reserved(
                    session, actor=actor, order_id=step.order_id, branch_id=parcel.branch_id
                )
            await orders.add_event(
                session,
                order_id=step.order_id,
                kind=f"parcel_{step.step}",
                message=f"Parcel {parcel.id} {step.step}"
                + (f" ({parcel.tracking_number})" if step.step == "shipped" else "")
                + ".",
                actor_name=step.user_name,
            )

    async def _parcel_and_order(self, ask: LabelAsk):
        async with self._sessionmaker() as session:
            parcel = await session.get(Parcel, ask.parcel_id)
            order = await orders.get_order(session, ask.order_id)
            branch = await session.get(Branch, parcel.branch_id)
        return parcel, order, branch

    @activity.defn(name="order_quote_label")
    async def quote_label(self, ask: LabelAsk) -> Rate:
        """Quote the parcel and choose the rate: cheapest within the promised days. Read-only."""
        settings = self._deps.settings
        parcel, order, branch = await self._parcel_and_order(ask)
        origin = Address(
            name=branch.name,
            company="Backroom",
            street1=settings.ship_from_street,
            city=settings.ship_from_city,
            postal_code=settings.ship_from_postcode,
            country=settings.ship_from_country,
        )
        dest = Address(
            name=order.ship_name,
            street1=order.ship_line1,
            city=order.ship_city,
            postal_code=order.ship_postcode,
            country=order.ship_country,
            email=order.email,
        )
        box = ShipParcel(weight_grams=max(parcel.weight_g, 100), length_mm=300, width_mm=200, height_mm=150)
        try:
            return choose_rate(await self._carrier.rates(origin, dest, [box]), ask.promised_days)
        except ShippingError as exc:
            if exc.retryable:
                raise
            raise _business(exc, "LabelRefused") from None

    @activity.defn(name="order_purchase_label")
    async def purchase_label(self, ask: LabelAsk) -> LabelResult:
        """Buy the label for the quoted rate. Never two labels per parcel: the rate and the key
        (per parcel) are fixed across retries, and a label already stored is returned as is."""
        key = f"parcel-{ask.parcel_id}:label"
        parcel, _order, _branch = await self._parcel_and_order(ask)
        if parcel.label_id:
            return LabelResult(
                parcel_id=parcel.id,
                label_id=parcel.label_id,
                tracking_number=parcel.tracking_number,
                carrier=parcel.carrier or "",
                service=parcel.service or "",
                rate_minor=parcel.rate_minor or 0,
            )
        try:
            label = await self._carrier.buy_label(ask.rate, key)
        except ShippingError as exc:
            if exc.retryable:
                raise
            raise _business(exc, "LabelRefused") from None
        path = None
        if label.label_pdf:
            folder = Path(self._deps.settings.var_dir) / "labels"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"parcel-{parcel.id}.pdf"
            await asyncio.to_thread(path.write_bytes, label.label_pdf)
        async with self._sessionmaker.begin() as session:
            done = await orders.update_parcel(
                session,
                actor=_actor(ask.user_id),
                parcel_id=parcel.id,
                to="labelled",
                allowed_from=("packed",),
                carrier=label.carrier,
                service=label.service,
                rate_minor=label.amount_minor,
                rate_currency=label.currency,
                label_id=label.label_id,
                label_key=key,
                label_path=str(path) if path else label.label_url,
                tracking_number=label.tracking_number,
            )
            if done is not None:
                await orders.add_event(
                    session,
                    order_id=ask.order_id,
                    kind="label_purchased",
                    message=f"Label bought for parcel {parcel.id}: {label.carrier} {label.service}, "
                    f"tracking {label.tracking_number}.",
                )
        return LabelResult(
            parcel_id=parcel.id,
            label_id=label.label_id,
            tracking_number=label.tracking_number,
            carrier=label.carrier,
            service=label.service,
            rate_minor=label.amount_minor,
        )

    @activity.defn(name="order_void_label")
    async def void_label(self, step: ParcelStep) -> None:
        """Void an unused label (compensation). Idempotent."""
        async with self._sessionmaker() as session:
            parcel = await session.get(Parcel, step.parcel_id)
        if parcel.label_id and parcel.status == "labelled":
            await self._carrier.void_label(parcel.label_id)
        async with self._sessionmaker.begin() as session:
            done = await orders.update_parcel(
                session,
                actor=_actor(),
                parcel_id=step.parcel_id,
                to="voided",
                allowed_from=("labelled", "packed", "picked", "pending"),
            )
            if done is not None:
                await orders.add_event(
                    session,
                    order_id=step.order_id,
                    kind="label_voided",
                    message=f"Label of parcel {step.parcel_id} voided.",
                )

    @activity.defn(name="order_raise_alert")
    async def raise_alert(self, ask: AlertAsk) -> None:
        """Open an exception alert and note it on the timeline. Idempotent per key."""
        async with self._sessionmaker.begin() as session:
            await audit.lock_chain(session)
            order = await orders.get_order(session, ask.order_id)
            await orders.raise_alert(
                session,
                actor=_actor(),
                kind=ask.kind,
                severity=ask.severity,
                subject_type="order",
                subject_id=str(order.id),
                branch_id=order.branch_id,
                message=ask.message,
                key=ask.key,
            )
            await orders.add_event(
                session,
                order_id=order.id,
                kind=f"alert_{ask.kind}",
                message=ask.message,
                key=f"{ask.key}:event",
            )


def build(deps) -> list:
    a = OrderActivities(deps)
    return [
        a.set_status,
        a.add_event,
        a.authorize_payment,
        a.check_payment,
        a.capture_payment,
        a.void_payment,
        a.refund_payment,
        a.release_stock,
        a.parcel_step,
        a.quote_label,
        a.purchase_label,
        a.void_label,
        a.raise_alert,
    ]
