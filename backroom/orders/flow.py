"""Payloads of OrderFulfillmentWorkflow, its Updates/Signals and its activities (pure Pydantic)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

from backroom.shipping.carrier import Rate

ORDER_WORKFLOW = "OrderFulfillmentWorkflow"
# The order workflow's revision: runs started with OrderStart.rev >= 1 take FEWER_STEPS,
# MERGED_AUTO_STEPS and VENDOR_PARCELS from their start, without patch markers
# (workflows/steps.since). Bump it, with a `since(rev, N, ...)`, for the next change.
ORDER_REV = 1


# Orders that ended, and orders whose money was captured (shipped or later): neither cancels.
TERMINAL = frozenset({"cancelled", "payment_failed", "refunded"})
CAPTURED = frozenset({"shipped", "delivered", "completed", "partially_refunded", "refunded"})
# Order statuses in which parcels are picked, packed, labelled and shipped (the warehouse's and
# the vendors' steps; the workflow refuses them otherwise).
PARCEL_STEPS_OPEN = ("picking", "packed", "label_purchased")


def cancel_refusal(status: str, parcel_statuses: Iterable[str] = ()) -> str | None:
    """Why an order in `status` with parcels in `parcel_statuses` cannot be cancelled, or None
    when it can. The one rule the order's workflow, the API and the staff page share."""
    if status in TERMINAL or status in CAPTURED:
        return f"The order is {status.replace('_', ' ')}; it can no longer be cancelled" + (
            " — refund it instead." if status in CAPTURED else "."
        )
    if any(s in ("shipped", "delivered") for s in parcel_statuses):
        return "A parcel has already shipped; refund the order instead."
    return None


def cancellable(status: str, parcel_statuses: Iterable[str] = ()) -> bool:
    return cancel_refusal(status, parcel_statuses) is None


def order_workflow_id(order_id: int, prefix: str = "") -> str:
    """`order-{id}`; `prefix` (settings.workflow_prefix) lets several databases share a namespace."""
    return f"{prefix}order-{order_id}"


class ParcelRef(BaseModel):
    id: int
    branch_id: int
    vendor_id: int | None = None  # a marketplace vendor ships it from its panel; None: the shop
    status: str = "pending"  # pending picked packed labelled shipped delivered voided
    tracking_number: str | None = None
    label_id: str | None = None


class OrderStart(BaseModel):
    order_id: int
    branch_id: int
    customer_id: int | None = None
    total_minor: int
    currency: str
    parcels: list[ParcelRef]
    review_reason: str | None = None
    review_hours: float = 48
    refund_approval_over_minor: int = 20000
    pick_timeout_hours: float = 24
    vendor_ship_days: float = 3  # a vendor's parcel not shipped by then raises an alert for staff
    auth_timeout_minutes: float = 30
    promised_days: int = 5
    refund_window_days: float = 60
    auto_fulfil: bool = False  # benchmarks and demos: pick, pack, label and ship without people
    rev: int = 0  # the workflow revision the run started at (ORDER_REV); 0: queued before revisions


class OrderState(BaseModel):
    order_id: int
    status: str
    intent_id: str | None = None
    captured_minor: int = 0
    refunded_minor: int = 0
    parcels: list[ParcelRef] = []
    message: str | None = None
    alerts: list[str] = []


class StaffAction(BaseModel):
    """Who pressed the button (authorized by the API before the Update is sent)."""

    user_id: int | None = None
    user_name: str = "staff"


class ParcelAction(StaffAction):
    parcel_id: int
    # pack: the serial number of each unit of the parcel's serial-tracked lines (line id -> one
    # per unit), checked by the edge and recorded with the step (backroom/orders/serials.py).
    serials: dict[int, list[str]] = {}


class CancelAsk(StaffAction):
    reason: str


class RefundAsk(StaffAction):
    amount_minor: int | None = Field(default=None, ge=1)
    reason: str


class RefundOutcome(BaseModel):
    status: str  # refunded | pending_approval | rejected
    amount_minor: int
    refunded_minor: int


# Signal to OrderFulfillmentWorkflow: money of the order was refunded outside it (an approved
# complaint refund), so its own refunds never ask for more than is left.
REFUNDED_ELSEWHERE = "refunded_elsewhere"


class RefundedElsewhere(BaseModel):
    refunded_minor: int  # the order's refunded total at the gateway after that refund


class PaymentSignal(BaseModel):
    """From the Stripe webhook or the storefront's authentication page."""

    authorized: bool
    message: str | None = None


class TrackingSignal(BaseModel):
    tracking_number: str
    status: str  # delivered | in_transit | returned | failure


# Activity payloads
class OrderRef(BaseModel):
    order_id: int
    attempt: int = 0  # check_payment: the customer's n-th try with a card entered in the browser


class AuthResult(BaseModel):
    status: str  # authorized | requires_action | requires_payment | declined | cancelled | failed
    intent_id: str | None = None
    message: str | None = None


class StatusChange(BaseModel):
    order_id: int
    status: str
    message: str
    key: str
    customer_message: str | None = None
    user_id: int | None = None
    user_name: str | None = None


class AuthorizeAsk(OrderRef):
    """authorize_payment's input. `then_status`: the status to record in the authorization's
    own transaction when the card is authorized (one activity instead of two); None: none."""

    then_status: StatusChange | None = None


class ParcelStep(BaseModel):
    order_id: int
    parcel_id: int
    step: str  # picked packed shipped delivered
    user_id: int | None = None
    user_name: str | None = None
    serials: dict[int, list[str]] = {}  # packed: line id -> serial per unit


class ParcelSteps(BaseModel):
    """Automatic fulfilment's writes that need no outside call, recorded in one transaction:
    an optional status change, then parcel steps in order."""

    order_id: int
    status: StatusChange | None = None
    steps: list[ParcelStep]


class LabelAsk(BaseModel):
    order_id: int
    parcel_id: int
    promised_days: int = 5
    user_id: int | None = None
    user_name: str | None = None  # who bought it (the audit event names them)
    # The rate chosen by the quote activity, kept in the workflow's history so a retried purchase
    # asks for the very same rate (carriers de-duplicate purchases per rate).
    rate: Rate | None = None


class LabelQuotes(BaseModel):
    """Every parcel of an order quoted in one activity (automatic fulfilment)."""

    order_id: int
    asks: list[LabelAsk]


class LabelRates(BaseModel):
    rates: list[Rate]  # in the order of the asks


class LabelResult(BaseModel):
    parcel_id: int
    label_id: str
    tracking_number: str
    carrier: str
    service: str
    rate_minor: int


class MoneyAsk(BaseModel):
    order_id: int
    key: str
    amount_minor: int | None = None
    reason: str | None = None
    user_id: int | None = None


class CaptureAsk(MoneyAsk):
    """capture_payment's input. `then_status`: the status to record in the capture's own
    transaction (one activity instead of two); None: none."""

    then_status: StatusChange | None = None


class MoneyResult(BaseModel):
    captured_minor: int = 0
    refunded_minor: int = 0
    status: str = ""


class VendorLateAsk(BaseModel):
    """Vendor parcels not shipped by their deadline: one alert for staff, naming the vendors."""

    order_id: int
    parcel_ids: list[int]
    days: float
    key: str


class AlertAsk(BaseModel):
    order_id: int
    kind: str
    severity: str = "warning"
    message: str
    key: str
