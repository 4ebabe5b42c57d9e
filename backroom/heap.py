"""The garbage collector in long-running processes (the API, the worker)."""

from __future__ import annotations

import gc

_frozen = False


def freeze() -> None:
    """Collect once, then move every object alive now (modules, classes, ORM mappers, compiled
    statement caches: most of a started process's heap) out of the collector's reach, so a full
    collection walks only what was allocated since. Once per process; later calls do nothing.

    Why: a full collection walked the whole heap for ~80 ms every 15-20 loads of the all-branch
    dashboard, which made its p95 (docs/benchmarks.md). Garbage is collected first, so nothing
    that was already unreachable is kept."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()
