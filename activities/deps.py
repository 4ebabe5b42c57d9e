"""What activities need from the outside world, built once per worker process (worker/registry.py
builds it; tests build their own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.client import Client

from backroom.audit.context import Actor
from backroom.db.session import Sessionmaker
from backroom.settings import Settings


@dataclass
class Deps:
    settings: Settings
    sessionmaker: Sessionmaker
    client: Client | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # gateways and adapters, by name


def workflow_actor(user_id: int | None = None, name: str | None = None) -> Actor:
    """Who an activity acts as: its workflow, on behalf of the person whose step it carries."""
    wf = activity.info().workflow_id
    return Actor.workflow(wf, on_behalf_of=user_id, name=f"{name} via {wf}" if name else None)
