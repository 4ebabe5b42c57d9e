from __future__ import annotations

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Timestamps


class Customer(IdMixin, Timestamps, Base):
    """A customer (person or company) with a home branch and a credit limit."""

    __tablename__ = "customers"
    kind: Mapped[str] = mapped_column(String(10), default="person")  # person | company
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
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | merged | erased
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
