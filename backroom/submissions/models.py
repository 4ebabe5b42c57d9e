from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backroom.db.base import Base


class FormSubmission(Base):
    """A form's one-time submission key: claimed when the form first arrives, then holding where
    that first submission led (its result page), so a repeat shows that page instead of acting
    again."""

    __tablename__ = "form_submissions"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(index=True)
    result_url: Mapped[str | None] = mapped_column(String(2000))
