"""Activities for RmaCaseWorkflow: thin adapters over backroom.aftersales.service, the shipping
carrier (deps.extra["carrier"]) and the payment gateway (deps.extra["payments"]). Carrier and
gateway calls happen outside database transactions, with keys built from the workflow id, so a
retried activity never buys a second label or refunds twice."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.deps import Deps, workflow_actor
from backroom.aftersales import service
from backroom.aftersales.flow import Breach, LabelAsk, LabelResult, MoneyAsk, QuoteMail, Transition
from backroom.db.session import read_only
from backroom.shipping.carrier import Rate, choose_rate

_actor = workflow_actor


class AftersalesActivities:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._sessionmaker = deps.sessionmaker
        self._reader = read_only(self._sessionmaker)  # reads take no write transaction

    # A missing adapter is a deployment fault, not a refusal: left retryable.
    def _adapter(self, name: str):
        found = self._deps.extra.get(name)
        if found is None:
            raise ApplicationError(f"No {name} adapter is configured.", type="AdapterMisconfigured")
        return found

    @activity.defn(name="aftersales.transition")
    async def transition(self, t: Transition) -> None:
        """Move the case with its timeline entry and audit event. Idempotent by key."""
        step = t.step
        async with self._sessionmaker.begin() as session:
            await service.transition(
                session, actor=_actor(step.user_id if step else None, step.user_name if step else None), t=t
            )

    @activity.defn(name="aftersales.send_quote")
    async def send_quote(self, mail: QuoteMail) -> None:
        """Mail the quote (or its reminder) with the signed link. Idempotent by key."""
        settings = self._deps.settings
        async with self._sessionmaker.begin() as session:
            await service.send_quote(
                session,
                case_id=mail.case_id,
                base_url=settings.base_url,
                secret=settings.session_secret(),
                reminder=mail.reminder,
                key=mail.key,
                due_at=mail.due_at,
            )

    @activity.defn(name="aftersales.quote_label")
    async def quote_label(self, ask: LabelAsk) -> Rate:
        """Quote the leg and choose the rate (return: to us; outbound: to the customer). Read-only."""
        async with self._reader() as session:
            _c, ours, theirs, box = await service.label_route(
                session, case_id=ask.case_id, settings=self._deps.settings
            )
        src, dst = (theirs, ours) if ask.leg == "return" else (ours, theirs)
        rates = await self._adapter("carrier").rates(src, dst, [box])
        return choose_rate(rates, ask.promised_days)

    @activity.defn(name="aftersales.buy_label")
    async def buy_label(self, ask: LabelAsk) -> LabelResult:
        """Buy the leg's label for the quoted rate. Never two: the key is fixed per leg across
        retries (the carrier returns the same label), and a label already stored is returned."""
        async with self._reader() as session:
            stored = service.stored_label(await service.get(session, ask.case_id), ask.leg)
        if stored is not None:
            return stored
        label = await self._adapter("carrier").buy_label(ask.rate, ask.key)
        path = None
        if label.label_pdf:
            target = service.label_file(self._deps.settings, ask.case_id, ask.leg)
            target.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(target.write_bytes, label.label_pdf)
            path = str(target)
        async with self._sessionmaker.begin() as session:
            return await service.record_label(
                session, actor=_actor(), case_id=ask.case_id, leg=ask.leg, label=label, path=path, key=ask.key
            )

    @activity.defn(name="aftersales.void_label")
    async def void_label(self, ask: LabelAsk) -> None:
        """Void the unused return label of a cancelled case. Idempotent."""
        async with self._reader() as session:
            stored = service.stored_label(await service.get(session, ask.case_id), ask.leg)
        if stored is not None:
            await self._adapter("carrier").void_label(stored.label_id)

    @activity.defn(name="aftersales.refund")
    async def refund(self, ask: MoneyAsk) -> None:
        """Refund the returned unit to the card. Once: the gateway key is fixed per case, and a
        refund already recorded is not asked for again."""
        async with self._reader() as session:
            case, intent_id, amount = await service.refund_target(session, case_id=ask.case_id)
        if case.refund_id is not None:
            return
        result = await self._adapter("payments").refund(intent_id, amount, ask.key)
        async with self._sessionmaker.begin() as session:
            await service.record_refund(
                session, actor=_actor(), case_id=ask.case_id, result=result, key=ask.key
            )

    @activity.defn(name="aftersales.create_replacement")
    async def create_replacement(self, case_id: int) -> int:
        """Place the zero-price replacement order and queue its workflow. Idempotent."""
        async with self._sessionmaker.begin() as session:
            return await service.create_replacement(
                session, actor=_actor(), case_id=case_id, settings=self._deps.settings
            )

    @activity.defn(name="aftersales.record_breach")
    async def record_breach(self, breach: Breach) -> bool:
        """Mark the SLA breach, raise the alert, tell the supervisors. Idempotent by key."""
        async with self._sessionmaker.begin() as session:
            return await service.record_breach(
                session, actor=_actor(), case_id=breach.case_id, key=breach.key, at=breach.at
            )


def build(deps: Deps) -> list:
    a = AftersalesActivities(deps)
    return [
        a.transition,
        a.send_quote,
        a.quote_label,
        a.buy_label,
        a.void_label,
        a.refund,
        a.create_replacement,
        a.record_breach,
    ]
