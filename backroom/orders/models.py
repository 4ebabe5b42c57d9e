from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps, Transactional, utcnow


class OrderStatus(StrEnum):
    """Where an order stands; OrderFulfillmentWorkflow moves it (see README.md, Order states)."""

    PLACED = "placed"
    AWAITING_PAYMENT = "awaiting_payment"  # the customer enters the card in the storefront
    AWAITING_AUTHENTICATION = "awaiting_authentication"
    PAYMENT_AUTHORIZED = "payment_authorized"
    REVIEW = "review"
    PICKING = "picking"
    PACKED = "packed"
    LABEL_PURCHASED = "label_purchased"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    PAYMENT_FAILED = "payment_failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class ParcelStatus(StrEnum):
    PENDING = "pending"
    PICKED = "picked"
    PACKED = "packed"
    LABELLED = "labelled"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    VOIDED = "voided"


class PaymentKind(StrEnum):
    """What a payments-ledger row records."""

    AUTHORIZATION = "authorization"
    CAPTURE = "capture"
    REFUND = "refund"
    VOID = "void"
    FAILURE = "failure"
    ACTION_REQUIRED = "action_required"
    PAYMENT_OPENED = "payment_opened"  # a PaymentIntent waits for the card entered in the browser
    DISPUTE_LOST = "dispute_lost"  # the customer's bank took the money back


# The payment method of an order whose card the customer enters in the storefront (Stripe.js):
# the server opens the PaymentIntent, the browser confirms it; no card number reaches us.
BROWSER_CARD = "card_in_browser"


class AlertStatus(StrEnum):
    OPEN = "open"


class Order(IdMixin, Transactional, Base):
    """An online order. The OrderFulfillmentWorkflow `order-{id}` drives its status."""

    __tablename__ = "orders"
    token: Mapped[str] = mapped_column(String(48), unique=True)  # the customer's status-page secret
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    cart_id: Mapped[int | None] = mapped_column(ForeignKey("carts.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    ship_name: Mapped[str] = mapped_column(String(120))
    ship_line1: Mapped[str] = mapped_column(String(200))
    ship_city: Mapped[str] = mapped_column(String(100))
    ship_postcode: Mapped[str] = mapped_column(String(20))
    ship_country: Mapped[str] = mapped_column(String(2))
    billing_postcode: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(24), default=OrderStatus.PLACED, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    shipping_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    captured_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_method: Mapped[str] = mapped_column(String(64))
    payment_intent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_message: Mapped[str | None] = mapped_column(String(500))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (
        Index("ix_orders_branch_placed", "branch_id", "placed_at"),
        # A customer's spend and order count in a window, read from the index alone on
        # PostgreSQL (segments: backroom/segments/rules.py).
        Index(
            "ix_orders_customer_window",
            "customer_id",
            "placed_at",
            postgresql_include=["total_minor", "currency", "status"],
        ),
    )


class OrderLine(IdMixin, Timestamps, Base):
    __tablename__ = "order_lines"
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    vendor_id: Mapped[int | None] = mapped_column(index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    qty: Mapped[int] = mapped_column()
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    tax_rate_bp: Mapped[int] = mapped_column(default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    line_total_minor: Mapped[int] = mapped_column(BigInteger)
    weight_g: Mapped[int] = mapped_column(default=0)
    fulfil_branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcels.id"))

    __table_args__ = (
        # Reports: an order's lines from the index alone (PostgreSQL INCLUDE; plain on SQLite).
        Index(
            "ix_order_lines_order_report",
            "order_id",
            postgresql_include=["product_id", "qty", "line_total_minor"],
        ),
    )


class Parcel(IdMixin, Transactional, Base):
    """One box shipped from one branch (branch_id) by the shop or by one marketplace vendor
    (vendor_id): lines stocked in different branches, or sold by different vendors, ship apart."""

    __tablename__ = "parcels"
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # The vendor that picks, packs and ships this parcel in its panel; None: the shop's warehouse.
    vendor_id: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default=ParcelStatus.PENDING)
    weight_g: Mapped[int] = mapped_column(default=0)
    # The box, from the products packed in it (None: parcels from before, the standard box).
    length_mm: Mapped[int | None]
    width_mm: Mapped[int | None]
    height_mm: Mapped[int | None]
    carrier: Mapped[str | None] = mapped_column(String(40))
    service: Mapped[str | None] = mapped_column(String(80))
    rate_minor: Mapped[int | None] = mapped_column(BigInteger)
    rate_currency: Mapped[str | None] = mapped_column(String(3))
    label_id: Mapped[str | None] = mapped_column(String(80))
    label_key: Mapped[str | None] = mapped_column(
        String(128), unique=True
    )  # one label per parcel, whatever retries
    label_path: Mapped[str | None] = mapped_column(String(300))
    tracking_number: Mapped[str | None] = mapped_column(String(80), index=True)
    picked_at: Mapped[datetime | None]
    packed_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    labelled_at: Mapped[datetime | None]  # when the label was bought (reports: labels bought, cost)
    voided_at: Mapped[datetime | None]
    # The carrier's last word (Shippo tracking: PRE_TRANSIT, TRANSIT, DELIVERED, RETURNED,
    # FAILURE, UNKNOWN), its text and when it was scanned; scanned_at stays empty until a scan
    # beyond PRE_TRANSIT (the late-parcel alert looks for labels never scanned).
    tracking_status: Mapped[str | None] = mapped_column(String(16))
    tracking_detail: Mapped[str | None] = mapped_column(String(300))
    tracking_at: Mapped[datetime | None]
    scanned_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_parcels_branch_labelled", "branch_id", "labelled_at"),
        Index("ix_parcels_branch_voided", "branch_id", "voided_at"),
    )


class OrderEvent(IdMixin, Base):
    """The order's timeline as staff and the customer see it. `key` makes a retried write a no-op."""

    __tablename__ = "order_events"
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(String(500))
    actor_name: Mapped[str | None] = mapped_column(String(120))
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    data: Mapped[dict | None] = mapped_column(JSON)


class PaymentEntry(IdMixin, Transactional, Base):
    """The payments ledger: one row per money movement or failure, keyed by its idempotency key."""

    __tablename__ = "payments"
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # a PaymentKind
    status: Mapped[str] = mapped_column(String(20))
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    gateway: Mapped[str] = mapped_column(String(20), default="stripe")
    intent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    gateway_ref: Mapped[str | None] = mapped_column(String(64))  # charge or refund id
    message: Mapped[str | None] = mapped_column(String(500))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)

    __table_args__ = (Index("ix_payments_branch_created", "branch_id", "created_at"),)


class Alert(IdMixin, Transactional, Base):
    """An exception for people to look at (dashboards read this generic table)."""

    __tablename__ = "alerts"
    kind: Mapped[str] = mapped_column(String(40), index=True)
    severity: Mapped[str] = mapped_column(String(10), default="warning")  # info warning critical
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=AlertStatus.OPEN, index=True)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)

    __table_args__ = (Index("ix_alerts_subject", "subject_type", "subject_id"),)


class WebhookEvent(IdMixin, Base):
    """A received provider event, kept to drop redeliveries."""

    __tablename__ = "webhook_events"
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_webhook_events_provider_event"),)


class UnitSerial(IdMixin, Timestamps, Base):
    """The serial number of one unit of an order line, entered or scanned by the warehouse when
    it packed the parcel. A serial belongs to one unit of a product only."""

    __tablename__ = "unit_serials"
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcels.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    unit_no: Mapped[int]
    serial: Mapped[str] = mapped_column(String(100))
    packed_by: Mapped[str | None] = mapped_column(String(120))

    __table_args__ = (
        UniqueConstraint("product_id", "serial", name="uq_unit_serials_product_serial"),
        UniqueConstraint("order_line_id", "unit_no", name="uq_unit_serials_line_unit"),
    )
