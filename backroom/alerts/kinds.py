"""The kinds of exception alert, in people's words, and the module dashboard each belongs to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    module: str  # custops | commerce | both


KINDS = {
    k.key: k
    for k in (
        Kind("complaint_sla_breach", "Complaint SLA breached", "custops"),
        Kind("credit_hold", "Credit hold raised", "custops"),
        Kind("aftersales_sla_breach", "After-sales case late (turnaround target passed)", "custops"),
        Kind("account_overdue", "Account overdue", "custops"),
        Kind("payment_failed", "Payment failed", "commerce"),
        Kind("payment_stuck", "Payment stuck in 3-D Secure", "commerce"),
        Kind("label_refused", "Label refused / fulfilment failed", "commerce"),
        Kind("pick_timeout", "Pick timeout", "commerce"),
        Kind("vendor_late", "Marketplace vendor has not shipped its parcel", "commerce"),
        Kind("tracking_exception", "Tracking exception", "commerce"),
        Kind("parcel_not_scanned", "Parcel not scanned after its label", "commerce"),
        Kind("payment_dispute", "Card payment disputed", "commerce"),
        Kind("refund_failed", "Refund failed at the bank", "commerce"),
        Kind("payment_cancelled", "Card payment cancelled outside Backroom", "commerce"),
        Kind("forecast_outlier", "Measure outside its forecast interval", "both"),
        Kind("target_missed", "Target missed", "both"),
    )
}
MODULES = {"custops": "Customer Operations", "commerce": "E-commerce"}


def label(kind: str) -> str:
    k = KINDS.get(kind)
    return k.label if k else kind.replace("_", " ")


def kinds_of(module: str) -> list[str]:
    return [k.key for k in KINDS.values() if k.module in (module, "both")]
