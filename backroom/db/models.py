"""Imports every domain's models so the metadata (and Alembic) sees all tables."""

from __future__ import annotations

import importlib
import pkgutil

import backroom
from backroom.db.base import Base


def load_models() -> type[Base]:
    """Import `backroom.<domain>.models` for every domain package. Idempotent."""
    for mod in pkgutil.iter_modules(backroom.__path__):
        if mod.ispkg:
            try:
                importlib.import_module(f"backroom.{mod.name}.models")
            except ModuleNotFoundError as exc:
                if exc.name != f"backroom.{mod.name}.models":
                    raise
    return Base
