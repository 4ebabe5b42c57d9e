"""Builds the worker's workflows and activities with their dependencies (tests reuse it)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

import activities
import workflows
from activities.deps import Deps
from backroom.plugins import submodules
from worker.errors import DomainErrorInterceptor

__all__ = ["Deps", "all_activities", "all_workflows", "build_worker"]


def all_workflows() -> list[type]:
    return [wf for module in submodules(workflows) for wf in getattr(module, "WORKFLOWS", ())]


def all_activities(deps: Deps) -> list:
    return [fn for module in submodules(activities) if hasattr(module, "build") for fn in module.build(deps)]


def build_worker(client: Client, deps: Deps, *, task_queue: str, **kw) -> Worker:
    """A worker running every Backroom workflow and activity on `task_queue`, with the one
    error rule for activities (worker/errors.py)."""
    deps.client = client
    interceptors = [DomainErrorInterceptor(), *kw.pop("interceptors", ())]
    return Worker(
        client,
        task_queue=task_queue,
        workflows=all_workflows(),
        activities=all_activities(deps),
        interceptors=interceptors,
        **kw,
    )
