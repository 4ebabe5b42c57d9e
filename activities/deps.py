"""What activities need from the outside world, built once per worker process (worker/registry.py
builds it; tests build their own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client

from backroom.db.session import Sessionmaker
from backroom.settings import Settings


@dataclass
class Deps:
    settings: Settings
    sessionmaker: Sessionmaker
    client: Client | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # gateways and adapters, by name
