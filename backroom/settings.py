"""Configuration from the environment (prefix-free names, as the README lists them)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    var_dir: Path = Field(default=ROOT / "var", alias="BACKROOM_VAR")
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    temporal_address: str | None = Field(default=None, alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    temporal_ui_url: str = Field(default="http://127.0.0.1:8233", alias="TEMPORAL_UI_URL")
    task_queue: str = Field(default="backroom", alias="BACKROOM_TASK_QUEUE")
    # Prepended to entity workflow ids (cart-1, order-1) so several databases can share one
    # Temporal namespace (tests, staging copies) without their ids colliding.
    workflow_prefix: str = Field(default="", alias="BACKROOM_WORKFLOW_PREFIX")
    secret_key: str | None = Field(default=None, alias="SECRET_KEY")
    base_url: str = Field(default="http://127.0.0.1:8000", alias="BASE_URL")
    cookie_secure: bool = Field(default=True, alias="COOKIE_SECURE")
    default_currency: str = Field(default="USD", alias="DEFAULT_CURRENCY")

    # Sign-in throttling (backroom.auth.service.Throttle): free failures per user name and per
    # (user name, address) inside the window, then doubling delays; a whole address only past
    # LOGIN_ADDRESS_FAILURES (tills share one public address).
    login_max_failures: int = Field(default=5, alias="LOGIN_MAX_FAILURES")
    login_pair_failures: int = Field(default=3, alias="LOGIN_PAIR_FAILURES")
    login_address_failures: int = Field(default=100, alias="LOGIN_ADDRESS_FAILURES")
    login_base_delay_seconds: int = Field(default=2, alias="LOGIN_BASE_DELAY_SECONDS")
    login_window_seconds: int = Field(default=900, alias="LOGIN_WINDOW_SECONDS")
    session_hours: int = Field(default=12, alias="SESSION_HOURS")
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For is believed, comma
    # separated. None by default: a client could otherwise name any address it likes (and
    # dodge the per-address sign-in limit), even from 127.0.0.1 when the app is exposed.
    trusted_proxies: str = Field(default="", alias="TRUSTED_PROXIES")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        import ipaddress

        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)  # a ValueError names the bad entry
        return value

    # Credit-limit approvals: finance first, then the branch manager, then expiry.
    credit_limit_finance_hours: float = Field(default=48, alias="CREDIT_LIMIT_FINANCE_HOURS")
    credit_limit_manager_hours: float = Field(default=24, alias="CREDIT_LIMIT_MANAGER_HOURS")

    # Customer operations. Complaint SLA per severity: [first response, resolution] in minutes.
    complaint_sla: dict[str, tuple[int, int]] = Field(
        default={"low": (1440, 10080), "medium": (480, 2880), "high": (120, 1440), "critical": (30, 240)},
        alias="COMPLAINT_SLA",
    )
    complaint_reopen_minutes: int = Field(default=7 * 24 * 60, alias="COMPLAINT_REOPEN_MINUTES")
    followup_grace_minutes: int = Field(default=60, alias="FOLLOWUP_GRACE_MINUTES")
    credit_hold_finance_hours: float = Field(default=24, alias="CREDIT_HOLD_FINANCE_HOURS")
    credit_hold_manager_hours: float = Field(default=24, alias="CREDIT_HOLD_MANAGER_HOURS")
    credit_sweep_hours: float = Field(default=24, alias="CREDIT_SWEEP_HOURS")
    attachment_max_bytes: int = Field(default=5 * 1024 * 1024, alias="ATTACHMENT_MAX_BYTES")
    max_body_bytes: int = Field(default=1024 * 1024, alias="MAX_BODY_BYTES")

    # After-sales: turnaround target per case kind in working days of the branch calendar (the
    # clock stops while waiting on the customer and outside working hours), or in working
    # minutes where AFTERSALES_SLA names the kind; days the customer has to answer a repair
    # quote (one reminder, then declined), and the return window of an order for refunds.
    aftersales_sla_days: dict[str, float] = Field(
        default={"repair": 10, "exchange": 5, "refund": 5}, alias="AFTERSALES_SLA_DAYS"
    )
    aftersales_sla: dict[str, int] = Field(default={}, alias="AFTERSALES_SLA")
    rma_quote_days: int = Field(default=7, alias="RMA_QUOTE_DAYS")
    return_window_days: int = Field(default=30, alias="RETURN_WINDOW_DAYS")

    # Four-eyes controls (docs/approvals.md): above these, an action is requested by one person
    # and applied by its workflow once another approves in the inbox. Per branch where it makes
    # sense: APPROVAL_THRESHOLDS_BY_BRANCH={"NYC": {"goodwill_approval_over_minor": 10000}}.
    goodwill_approval_over_minor: int = Field(default=5000, alias="GOODWILL_APPROVAL_OVER_MINOR")
    credit_adjustment_approval_over_minor: int = Field(
        default=10000, alias="CREDIT_ADJUSTMENT_APPROVAL_OVER_MINOR"
    )
    stock_writeoff_approval_over_units: int = Field(default=0, alias="STOCK_WRITEOFF_APPROVAL_OVER_UNITS")
    # Cash paid out of a till's drawer above this (minor units) needs a manager's approval first.
    cash_payout_approval_over_minor: int = Field(default=5000, alias="CASH_PAYOUT_APPROVAL_OVER_MINOR")
    price_change_approval_over_percent: float = Field(default=20, alias="PRICE_CHANGE_APPROVAL_OVER_PERCENT")
    approval_thresholds_by_branch: dict[str, dict[str, float]] = Field(
        default={}, alias="APPROVAL_THRESHOLDS_BY_BRANCH"
    )
    # How long the first approver has before the request escalates (then as long again).
    four_eyes_hours: float = Field(default=48, alias="FOUR_EYES_HOURS")

    stripe_api_key: str | None = Field(default=None, alias="STRIPE_API_KEY")
    stripe_api_base: str | None = Field(default=None, alias="STRIPE_API_BASE")
    stripe_webhook_secret: str | None = Field(default=None, alias="STRIPE_WEBHOOK_SECRET")
    # Card entry in the storefront: Stripe.js from here (default: Stripe's own with a key set,
    # else the local Stripe stand-in's /js.stripe.com/v3/) with this publishable key.
    stripe_publishable_key: str | None = Field(default=None, alias="STRIPE_PUBLISHABLE_KEY")
    stripe_js_url: str | None = Field(default=None, alias="STRIPE_JS_URL")
    # Online orders: review above this total (minor units, 0 = never), or above this many units;
    # refunds above this amount go to the approval gate; unpicked orders raise an alert.
    order_review_over_minor: int = Field(default=100000, alias="ORDER_REVIEW_OVER_MINOR")
    order_review_units_over: int = Field(default=20, alias="ORDER_REVIEW_UNITS_OVER")
    refund_approval_over_minor: int = Field(default=20000, alias="REFUND_APPROVAL_OVER_MINOR")
    # Marketplace payouts above this (minor units) wait for finance's approval.
    vendor_payout_approval_over_minor: int = Field(default=100000, alias="VENDOR_PAYOUT_APPROVAL_OVER_MINOR")
    pick_timeout_hours: float = Field(default=24, alias="PICK_TIMEOUT_HOURS")
    # A marketplace vendor's parcel not shipped this many days after the order went to picking
    # raises an alert for staff (who may then ship it on the vendor's behalf).
    vendor_ship_days: float = Field(default=3, gt=0, alias="VENDOR_SHIP_DAYS")
    payment_auth_timeout_minutes: float = Field(default=30, alias="PAYMENT_AUTH_TIMEOUT_MINUTES")
    # Demos and benchmarks: pick, pack, label and ship without warehouse staff.
    order_auto_fulfil: bool = Field(default=False, alias="ORDER_AUTO_FULFIL")
    promised_delivery_days: int = Field(default=5, alias="PROMISED_DELIVERY_DAYS")
    # Processes the worker renders shipping labels in (fpdf2, a few ms CPU each; ~100 ms when a
    # non-Latin name embeds DejaVu); 0 renders in a thread of the worker itself.
    label_processes: int = Field(default=1, ge=0, le=32, alias="LABEL_PROCESSES")
    ship_from_street: str = Field(default="1 Main Street", alias="SHIP_FROM_STREET")
    ship_from_city: str = Field(default="New York", alias="SHIP_FROM_CITY")
    ship_from_postcode: str = Field(default="10001", alias="SHIP_FROM_POSTCODE")
    ship_from_country: str = Field(default="US", alias="SHIP_FROM_COUNTRY")
    shop_branch_code: str | None = Field(
        default=None, alias="SHOP_BRANCH_CODE"
    )  # storefront's selling branch
    shippo_api_key: str | None = Field(default=None, alias="SHIPPO_API_KEY")
    shippo_base_url: str | None = Field(default=None, alias="SHIPPO_BASE_URL")
    shippo_webhook_secret: str | None = Field(default=None, alias="SHIPPO_WEBHOOK_SECRET")
    # A parcel no carrier has scanned this many days after its label raises an alert.
    parcel_scan_late_days: float = Field(default=3, alias="PARCEL_SCAN_LATE_DAYS")
    # How often the audit sealer links new events into the hash chain (worker and web app;
    # 0: not in this process, e.g. when `backroom audit seal` runs from a scheduler instead).
    audit_seal_seconds: float = Field(default=2, ge=0, alias="AUDIT_SEAL_SECONDS")
    # How often the worker rebuilds the report rollups' dirty days and builds the days just closed
    # (0: not in this process; `backroom reports rollups` from a scheduler instead).
    rollup_refresh_seconds: float = Field(default=60, ge=0, alias="ROLLUP_REFRESH_SECONDS")
    smtp_host: str | None = Field(default=None, alias="SMTP_HOST")
    smtp_port: int = Field(default=25, alias="SMTP_PORT")
    mail_from: str = Field(default="backroom@localhost", alias="MAIL_FROM")

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def db_url(self) -> str:
        if self.database_url:
            return normalize_db_url(self.database_url)
        return f"sqlite+aiosqlite:///{self.var_dir / 'backroom.db'}"

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or "127.0.0.1:7233"

    def session_secret(self) -> str:
        """The signing secret; the embedded default keeps a generated one under var/."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def normalize_db_url(url: str) -> str:
    """Accept plain postgresql:// and sqlite:// URLs and pick the async drivers we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
