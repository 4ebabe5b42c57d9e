"""Shipping failures, named after the condition. Only CarrierUnavailable is worth retrying."""

from __future__ import annotations

from backroom.errors import AppError


class ShippingError(AppError):
    """Base for every failure a carrier reports."""

    status, code, title = 400, "shipping_error", "Shipping failed"
    retryable: bool = False


class NoRatesAvailable(ShippingError):
    """No service can carry these parcels between these addresses."""

    status, code, title = 422, "no_shipping_rates", "No shipping rates available"


class LabelPurchaseFailed(ShippingError):
    """The carrier refused to sell the label (bad address, expired rate, account problem)."""

    status, code, title = 422, "label_purchase_failed", "Label purchase failed"


class LabelNotFound(ShippingError):
    status, code, title = 404, "label_not_found", "Label not found"


class CarrierUnavailable(ShippingError):
    """Network failure, timeout or 5xx from the carrier. Retry with the same idempotency key."""

    status, code, title = 503, "carrier_unavailable", "Carrier unavailable"
    retryable = True
