from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base, IdMixin, Transactional


class CreditLimitRequest(IdMixin, Transactional, Base):
    """A request to change a customer's credit limit, decided through the approval gate."""

    __tablename__ = "credit_limit_requests"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    current_limit_minor: Mapped[int] = mapped_column(BigInteger)
    requested_limit_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(1000))
    # pending | approved | applied | rejected | expired
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(String(1000))
