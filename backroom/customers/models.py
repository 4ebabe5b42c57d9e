from __future__ import annotations

from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from backroom.customers.normalize import lower_or_none, national_digits
from backroom.db.base import Base, IdMixin, Timestamps


class CustomerKind(StrEnum):
    person = "person"
    company = "company"


class CustomerStatus(StrEnum):
    active = "active"
    merged = "merged"  # folded into merged_into_id
    erased = "erased"  # personal data removed on request


class AddressKind(StrEnum):
    billing = "billing"
    shipping = "shipping"


class Customer(IdMixin, Timestamps, Base):
    """A customer (person or company) with a home branch and a credit limit."""

    __tablename__ = "customers"
    kind: Mapped[CustomerKind] = mapped_column(String(10), default=CustomerKind.person)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    home_branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    credit_limit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    consent_email: Mapped[bool] = mapped_column(default=False)
    consent_sms: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[CustomerStatus] = mapped_column(String(10), default=CustomerStatus.active)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Lower-cased / digits-only copies the search uses; kept in step by the ORM events below, so
    # every writer (API, imports, merges) maintains them without remembering to.
    name_norm: Mapped[str | None] = mapped_column(String(200))
    email_norm: Mapped[str | None] = mapped_column(String(254))
    # The phone's national significant digits (normalize.national_digits): "+1 212 555 0102"
    # and "(212) 555-0102" store, and are searched, alike.
    phone_national: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        # PostgreSQL: trigram GIN for fuzzy names, text_pattern_ops btrees for prefix LIKE on
        # email and phone (the default collation's btree cannot serve LIKE 'abc%'). SQLite gets
        # plain indexes.
        Index(
            "ix_customers_name_trgm",
            "name_norm",
            postgresql_using="gin",
            postgresql_ops={"name_norm": "gin_trgm_ops"},
        ),
        Index("ix_customers_email_prefix", "email_norm", postgresql_ops={"email_norm": "text_pattern_ops"}),
        Index(
            "ix_customers_phone_prefix",
            "phone_national",
            postgresql_ops={"phone_national": "text_pattern_ops"},
        ),
        # Keyset pagination of search results orders by (name_norm, id).
        Index("ix_customers_name_sort", "name_norm", "id"),
        # Reports count customers created per home branch and period.
        Index("ix_customers_branch_created", "home_branch_id", "created_at"),
    )


@event.listens_for(Customer, "before_insert")
@event.listens_for(Customer, "before_update")
def _normalize(mapper, connection, target: Customer) -> None:
    target.name_norm = lower_or_none(target.name)
    target.email_norm = lower_or_none(target.email)
    target.phone_national = national_digits(target.phone)


class CustomerContact(IdMixin, Timestamps, Base):
    """A person to talk to at a (company) customer."""

    __tablename__ = "customer_contacts"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))


class CustomerAddress(IdMixin, Timestamps, Base):
    """A postal address of a customer (billing or shipping)."""

    __tablename__ = "customer_addresses"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[AddressKind] = mapped_column(String(10), default=AddressKind.shipping)
    line1: Mapped[str | None] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
