"""Builds the worker's workflows and activities with their dependencies (tests reuse it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

import activities
import workflows
from backroom.db.session import Sessionmaker
from backroom.plugins import submodules
from backroom.settings import Settings


@dataclass
class Deps:
    """What activities need from the outside world; built once per worker process."""

    settings: Settings
    sessionmaker: Sessionmaker
    client: Client | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # gateways and adapters, by name


def all_workflows() -> list[type]:
    return [wf for module in submodules(workflows) for wf in getattr(module, "WORKFLOWS", ())]


def all_activities(deps: Deps) -> list:
    return [fn for module in submodules(activities) if hasattr(module, "build") for fn in module.build(deps)]


def build_worker(client: Client, deps: Deps, *, task_queue: str, **kw) -> Worker:
    """A worker running every Backroom workflow and activity on `task_queue`."""
    deps.client = client
    return Worker(
        client, task_queue=task_queue, workflows=all_workflows(), activities=all_activities(deps), **kw
    )
