"""Order activities: thin adapters over the orders services (backroom/orders: service, parcels,
charges), the payment gateway (deps.extra["payments"]) and the shipping carrier
(deps.extra["carrier"]). Gateway and carrier calls happen outside database transactions. Every
activity is idempotent: gateway calls carry keys built from the workflow id and the purpose,
and DB writes are conditional or keyed."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import Deps, workflow_actor
from backroom.catalog import service as catalog
from backroom.db.session import point_reads
from backroom.orders import charges, parcels
from backroom.orders import service as orders
from backroom.orders.flow import (
    AlertAsk,
    AuthorizeAsk,
    AuthResult,
    CaptureAsk,
    LabelAsk,
    LabelQuotes,
    LabelRates,
    LabelResult,
    MoneyAsk,
    MoneyResult,
    OrderRef,
    ParcelStep,
    ParcelSteps,
    StatusChange,
)
from backroom.shipping.carrier import Rate, choose_rate

_actor = workflow_actor


class OrderActivities:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._sessionmaker = deps.sessionmaker
        self._reader = point_reads(self._sessionmaker)  # reads take no transaction at all

    # A missing adapter is a deployment fault, not a refusal: left retryable so that a worker
    # restarted with the right settings picks the step up again.
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

    async def _order(self, order_id: int):
        async with self._reader() as session:
            return await orders.get_order(session, order_id)

    @activity.defn(name="orders.set_status")
    async def set_status(self, ch: StatusChange) -> None:
        """Move the order's status with a timeline entry. Idempotent per key."""
        async with self._sessionmaker.begin() as session:
            await _set_status(session, ch)

    @activity.defn(name="orders.add_event")
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

    @activity.defn(name="orders.authorize_payment")
    async def authorize_payment(self, ref: AuthorizeAsk) -> AuthResult:
        """Hold the order total on the card (manual capture); once authorized, record
        `ref.then_status` in the same transaction. Idempotent: key = workflow id + purpose, the
        status keyed."""
        key = f"{activity.info().workflow_id}:authorize"
        order = await self._order(ref.order_id)
        method = await charges.payment_method(self._deps.settings, order.payment_method)
        outcome = await charges.authorize(self._gateway, order, method, key)
        async with self._sessionmaker.begin() as session:
            await charges.record_auth(
                session, actor=_actor(), order_id=ref.order_id, outcome=outcome, key=key
            )
            if ref.then_status is not None and outcome.status == "authorized":
                await _set_status(session, ref.then_status)
        return outcome

    @activity.defn(name="orders.check_payment")
    async def check_payment(self, ref: OrderRef) -> AuthResult:
        """Ask the gateway where a 3-D Secure (or browser-confirmed) payment stands; records the
        outcome once per attempt. Idempotent."""
        order = await self._order(ref.order_id)
        if not order.payment_intent_id:
            return AuthResult(status="failed", message="No payment was started.")
        outcome = charges.checked(await self._gateway.retrieve(order.payment_intent_id))
        if outcome.status not in ("requires_action", "requires_payment"):
            key = f"{activity.info().workflow_id}:authenticate" + (f"-{ref.attempt}" if ref.attempt else "")
            async with self._sessionmaker.begin() as session:
                await charges.record_auth(
                    session, actor=_actor(), order_id=ref.order_id, outcome=outcome, key=key
                )
        return outcome

    @activity.defn(name="orders.capture_payment")
    async def capture_payment(self, ask: CaptureAsk) -> MoneyResult:
        """Capture the held funds, then record `ask.then_status` in the capture's transaction.
        Idempotent: same key, one capture, one ledger row; the status keyed. Nothing is held for
        a zero total (an after-sales replacement): nothing to capture, the status still recorded."""
        order = await self._order(ask.order_id)
        held = order.total_minor != 0 or order.payment_intent_id
        result = (
            await self._gateway.capture(order.payment_intent_id, ask.amount_minor, ask.key) if held else None
        )
        async with self._sessionmaker.begin() as session:
            money = (
                await charges.record_capture(
                    session, actor=_actor(), order_id=ask.order_id, result=result, key=ask.key
                )
                if result is not None
                else MoneyResult(status="nothing_to_capture")
            )
            if ask.then_status is not None:
                await _set_status(session, ask.then_status)
            return money

    @activity.defn(name="orders.void_payment")
    async def void_payment(self, ask: MoneyAsk) -> MoneyResult:
        """Release the card hold (cancel the PaymentIntent). Idempotent."""
        order = await self._order(ask.order_id)
        if not order.payment_intent_id:
            return MoneyResult(status="none")
        result = await charges.release_hold(self._gateway, order.payment_intent_id, ask.key)
        async with self._sessionmaker.begin() as session:
            return await charges.record_void(
                session, actor=_actor(), order_id=ask.order_id, result=result, key=ask.key
            )

    @activity.defn(name="orders.refund_payment")
    async def refund_payment(self, ask: MoneyAsk) -> MoneyResult:
        """Refund captured money. Idempotent per key (one refund per key)."""
        order = await self._order(ask.order_id)
        result = await self._gateway.refund(order.payment_intent_id, ask.amount_minor, ask.key)
        async with self._sessionmaker.begin() as session:
            return await charges.record_refund(
                session,
                actor=_actor(ask.user_id),
                order_id=ask.order_id,
                result=result,
                key=ask.key,
                reason=ask.reason,
            )

    @activity.defn(name="orders.release_stock")
    async def release_stock(self, ref: OrderRef) -> int:
        """Give the order's held units back to sale. Idempotent."""
        async with self._sessionmaker.begin() as session:
            return await catalog.release(session, actor=_actor(), order_id=ref.order_id)

    @activity.defn(name="orders.parcel_step")
    async def parcel_step(self, step: ParcelStep) -> None:
        """Record picked/packed/shipped/delivered on a parcel (shipping takes the stock out). Idempotent."""
        async with self._sessionmaker.begin() as session:
            await _record_step(session, step)

    @activity.defn(name="orders.parcel_steps")
    async def parcel_steps(self, batch: ParcelSteps) -> None:
        """Automatic fulfilment: a status change and several parcel steps in one transaction
        (one write lock, one round trip). Idempotent: the status is keyed, steps are conditional."""
        async with self._sessionmaker.begin() as session:
            if batch.status is not None:
                await _set_status(session, batch.status)
            # No step reads the rows the steps append (timeline, audit, stock movements), so they
            # wait for the commit's flush: one multi-row insert for the timeline rows and for the
            # stock movements instead of one each (audit events still go in one by one).
            with session.no_autoflush:
                for step in batch.steps:
                    await _record_step(session, step)

    async def _label_context(self, ask: LabelAsk):
        async with self._reader() as session:
            return await parcels.label_context(session, order_id=ask.order_id, parcel_id=ask.parcel_id)

    async def _quote(self, ask: LabelAsk, context) -> Rate:
        parcel, order, branch = context
        rates = await self._carrier.rates(
            parcels.ship_from(self._deps.settings, branch),
            parcels.ship_to(order),
            [parcels.shipping_box(parcel)],
        )
        return choose_rate(rates, ask.promised_days)

    @activity.defn(name="orders.quote_label")
    async def quote_label(self, ask: LabelAsk) -> Rate:
        """Quote the parcel and choose the rate: cheapest within the promised days. Read-only."""
        return await self._quote(ask, await self._label_context(ask))

    @activity.defn(name="orders.quote_labels")
    async def quote_labels(self, batch: LabelQuotes) -> LabelRates:
        """quote_label for several parcels (automatic fulfilment): one read, one activity.
        Read-only."""
        async with self._reader() as session:
            contexts = [
                await parcels.label_context(session, order_id=ask.order_id, parcel_id=ask.parcel_id)
                for ask in batch.asks
            ]
        return LabelRates(rates=[await self._quote(a, c) for a, c in zip(batch.asks, contexts, strict=True)])

    @activity.defn(name="orders.purchase_label")
    async def purchase_label(self, ask: LabelAsk) -> LabelResult:
        """Buy the label for the quoted rate. Never two labels per parcel: the rate and the key
        (per parcel) are fixed across retries, and a label already stored is returned as is."""
        async with self._reader() as session:  # the rate fixes the addresses: the parcel is enough
            parcel = await parcels.get_parcel(session, ask.parcel_id)
        if (stored := parcels.stored_label(parcel)) is not None:
            return stored
        label = await self._carrier.buy_label(ask.rate, parcels.label_key(parcel.id))
        path = (
            await parcels.save_label_pdf(self._deps.settings, parcel.id, label.label_pdf)
            if label.label_pdf
            else None
        )
        async with self._sessionmaker.begin() as session:
            return await parcels.record_label(
                session,
                actor=_actor(ask.user_id, ask.user_name),
                order_id=ask.order_id,
                parcel_id=parcel.id,
                label=label,
                label_path=path,
            )

    @activity.defn(name="orders.void_label")
    async def void_label(self, step: ParcelStep) -> None:
        """Void an unused label (compensation). Idempotent."""
        async with self._reader() as session:
            label_id = parcels.label_to_void(await parcels.get_parcel(session, step.parcel_id))
        if label_id:
            await parcels.void_at_carrier(self._carrier, label_id)
        async with self._sessionmaker.begin() as session:
            await parcels.record_void(
                session, actor=_actor(), order_id=step.order_id, parcel_id=step.parcel_id
            )

    @activity.defn(name="orders.raise_alert")
    async def raise_alert(self, ask: AlertAsk) -> None:
        """Open an exception alert and note it on the timeline. Idempotent per key."""
        async with self._sessionmaker.begin() as session:
            await orders.alert_order(
                session,
                actor=_actor(),
                order=await orders.get_order(session, ask.order_id),
                kind=ask.kind,
                severity=ask.severity,
                message=ask.message,
                key=ask.key,
            )


async def _set_status(session, ch: StatusChange) -> None:
    await orders.set_status(
        session,
        actor=_actor(ch.user_id, ch.user_name),
        order_id=ch.order_id,
        status=ch.status,
        message=ch.message,
        key=ch.key,
        customer_message=ch.customer_message,
    )


async def _record_step(session, step: ParcelStep) -> None:
    await parcels.record_step(
        session,
        actor=_actor(step.user_id, step.user_name),
        order_id=step.order_id,
        parcel_id=step.parcel_id,
        step=step.step,
        user_name=step.user_name,
        serials=step.serials,
    )


def build(deps: Deps) -> list:
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
        a.parcel_steps,
        a.quote_label,
        a.quote_labels,
        a.purchase_label,
        a.void_label,
        a.raise_alert,
    ]
