"""Provider webhooks (PUBLIC: each verifies its own signature), de-duplicated by event id."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import PUBLIC, Session, SettingsDep
from backroom.errors import AppError
from backroom.orders import webhooks
from backroom.orders.schemas import WebhookReceipt
from backroom.payments.errors import InvalidSignature
from backroom.payments.webhooks import parse_event
from backroom.shipping.tracking import parse_track_webhook, token_matches

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


class WebhookNotConfigured(AppError):
    # 404: without its secret the endpoint is switched off (and the bad-input contract is 4xx).
    status, code, title = 404, "webhook_not_configured", "Webhook not configured"


@router.post("/stripe", dependencies=[PUBLIC])
async def stripe_webhook(session: Session, settings: SettingsDep, request: Request) -> WebhookReceipt:
    """Verify Stripe-Signature, drop redeliveries, tell the order's workflow how 3-D Secure ended."""
    if not settings.stripe_webhook_secret:
        raise WebhookNotConfigured("STRIPE_WEBHOOK_SECRET is not set.")
    body = await request.body()
    event = parse_event(body, request.headers.get("stripe-signature"), settings.stripe_webhook_secret)
    return await webhooks.receive_payment_event(session, event=event, prefix=settings.workflow_prefix)


@router.post("/shippo", dependencies=[PUBLIC])
async def shippo_webhook(session: Session, settings: SettingsDep, request: Request) -> WebhookReceipt:
    """A tracking update: Shippo does not sign webhooks, so the URL carries a shared token
    (?token=...); de-duplicated (Shippo may send one twice); delivered parcels are signalled."""
    if not settings.shippo_webhook_secret:
        raise WebhookNotConfigured("SHIPPO_WEBHOOK_SECRET is not set.")
    if not token_matches(request.query_params.get("token"), settings.shippo_webhook_secret):
        raise InvalidSignature("Bad or missing webhook token.")
    update = parse_track_webhook(await request.body())
    return await webhooks.receive_tracking_update(session, update=update, prefix=settings.workflow_prefix)
