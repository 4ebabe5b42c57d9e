"""Builds the payment gateway and shipping carrier the order activities use (Deps.extra).

Embedded default (no STRIPE_API_KEY): a loopback localstripe, started on demand, so `make run`
takes test cards end to end. No SHIPPO_API_KEY: the local carrier (WeasyPrint 4x6 labels)."""

from __future__ import annotations

import logging

import httpx

from backroom.settings import Settings

LOCAL_STRIPE_PORT = 8420
TEST_KEY = "sk_test_backroom"
log = logging.getLogger("backroom.adapters")


def stripe_config(settings: Settings) -> tuple[str, str | None]:
    """(api key, api base): the real Stripe when a key is set, else the local localstripe."""
    if settings.stripe_api_key:
        return settings.stripe_api_key, settings.stripe_api_base
    return TEST_KEY, settings.stripe_api_base or f"http://127.0.0.1:{LOCAL_STRIPE_PORT}"


STRIPE_JS = "https://js.stripe.com/v3/"
TEST_PUBLISHABLE_KEY = "pk_test_backroom"


def stripe_js(settings: Settings) -> tuple[str, str | None]:
    """(Stripe.js URL, publishable key) for the storefront's card form: the settings' own, else
    the local stand-in's script and a test key when payments go there, else Stripe's script."""
    test = is_test_mode(settings)
    if settings.stripe_js_url:
        url = settings.stripe_js_url
    elif test:
        url = f"{stripe_config(settings)[1]}/js.stripe.com/v3/"
    else:
        url = STRIPE_JS
    return url, settings.stripe_publishable_key or (TEST_PUBLISHABLE_KEY if test else None)


def is_test_mode(settings: Settings) -> bool:
    """True when payments go to localstripe (the storefront then offers the 3-D Secure test step)."""
    base = stripe_config(settings)[1]
    return bool(base) and "api.stripe.com" not in base


def ensure_localstripe(settings: Settings):
    """Start localstripe on its loopback port unless it already answers. Returns the process or None."""
    _key, base = stripe_config(settings)
    if settings.stripe_api_key or not base:
        return None
    try:
        httpx.get(f"{base}/v1/balance", timeout=0.5)
        return None
    except httpx.TransportError:
        pass
    from backroom.payments.localstripe_server import start_localstripe

    port = int(base.rsplit(":", 1)[1])
    log.info("no STRIPE_API_KEY: starting localstripe on %s", base)
    return start_localstripe(port=port)


def build_adapters(settings: Settings) -> dict:
    """{"payments": PaymentGateway, "carrier": ShippingCarrier} from settings."""
    from backroom.payments.stripe_gateway import StripeGateway
    from backroom.shipping.label_pdf import LabelRenderer
    from backroom.shipping.local_carrier import LocalCarrier

    key, base = stripe_config(settings)
    if settings.shippo_api_key:
        from backroom.shipping.shippo_carrier import ShippoCarrier

        carrier = ShippoCarrier(settings.shippo_api_key, settings.shippo_base_url, download_labels=True)
    else:
        carrier = LocalCarrier(renderer=LabelRenderer(settings.label_processes))
    return {"payments": StripeGateway(key, api_base=base), "carrier": carrier}
