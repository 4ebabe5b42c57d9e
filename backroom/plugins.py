"""Domain discovery: import `backroom.<domain>.<name>` for every domain that has one."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import backroom


def each_domain(name: str) -> list[ModuleType]:
    """Import and return `backroom.<domain>.<name>` for every domain package that has it. Idempotent."""
    found = []
    for mod in pkgutil.iter_modules(backroom.__path__):
        if not mod.ispkg:
            continue
        target = f"backroom.{mod.name}.{name}"
        try:
            found.append(importlib.import_module(target))
        except ModuleNotFoundError as exc:
            if exc.name != target:
                raise
    return found


def submodules(package: ModuleType) -> list[ModuleType]:
    """Import and return every module directly inside `package` (routers, workflows, activities)."""
    return [
        importlib.import_module(f"{package.__name__}.{m.name}")
        for m in pkgutil.iter_modules(package.__path__)
    ]
