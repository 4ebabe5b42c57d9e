"""Builds the worker's workflows and activities with their dependencies (tests reuse it)."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

import activities
import workflows
from backroom.db.session import Sessionmaker
from backroom.settings import Settings


@dataclass
class Deps:
    """What activities need from the outside world; built once per worker process."""

    settings: Settings
    sessionmaker: Sessionmaker
    client: Client | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # gateways and adapters, by name


def _modules(package) -> list:
    return [importlib.import_module(f"{package.__name__}.{m.name}") for m in pkgutil.iter_modules(package.__path__)]


def all_workflows() -> list[type]:
    return [wf for module in _modules(workflows) for wf in getattr(module, "WORKFLOWS", ())]


def all_activities(deps: Deps) -> list:
    return [fn for module in _modules(activities) if hasattr(module, "build") for fn in module.build(deps)]


def build_worker(client: Client, deps: Deps, *, task_queue: str, **kw) -> Worker:
    """A worker running every Backroom workflow and activity on `task_queue`."""
    deps.client = client
    return Worker(client, task_queue=task_queue, workflows=all_workflows(), activities=all_activities(deps), **kw)
