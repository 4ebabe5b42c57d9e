"""Imports every domain's models so the metadata (and Alembic) sees all tables."""

from __future__ import annotations

from backroom.db.base import Base


def load_models() -> type[Base]:
    """Import `backroom.<domain>.models` for every domain package. Idempotent."""
    from backroom.plugins import each_domain

    each_domain("models")
    return Base
