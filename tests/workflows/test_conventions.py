"""The Temporal naming and calling scheme of docs/architecture.md ("Temporal names and options"),
checked over the source so a new workflow or activity cannot drift from it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from temporalio import activity, workflow

from backroom import temporal
from backroom.settings import Settings
from worker.registry import Deps, all_activities, all_workflows

ROOT = Path(__file__).resolve().parents[2]


def _modules(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if p.name != "__init__.py")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
    return names


def test_activity_names_are_module_dot_method():
    deps = Deps(settings=Settings(SECRET_KEY="x"), sessionmaker=None)
    names = []
    for fn in all_activities(deps):
        defn = activity._Definition.must_from_callable(fn)
        module = fn.__module__.removeprefix("activities.")
        assert defn.name == f"{module}.{fn.__name__}", f"{fn.__qualname__} is registered as {defn.name!r}"
        names.append(defn.name)
    assert len(names) == len(set(names))


def test_workflow_names_are_their_class_names():
    for wf in all_workflows():
        assert workflow._Definition.must_from_class(wf).name == wf.__name__


@pytest.mark.parametrize("path", _modules("workflows"), ids=lambda p: p.stem)
def test_activities_are_called_by_method_with_a_named_option_set(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name = node.func.attr
        assert name not in ("execute_activity", "start_activity"), (
            f"{path.name}:{node.lineno}: call activities with workflow.execute_activity_method"
        )
        if name in (
            "execute_activity_method",
            "start_activity_method",
            "execute_local_activity_method",
            "start_local_activity_method",
        ):
            spread = [
                kw.value.id for kw in node.keywords if kw.arg is None and isinstance(kw.value, ast.Name)
            ]
            assert len(spread) == 1 and spread[0] in temporal.ACTIVITY_OPTIONS, (
                f"{path.name}:{node.lineno}: pass exactly one option set of backroom.temporal"
            )


def test_every_option_set_has_a_start_to_close_timeout_and_a_retry_policy():
    for name, options in temporal.ACTIVITY_OPTIONS.items():
        assert options["start_to_close_timeout"].total_seconds() > 0, name
        assert options["retry_policy"] is not None, name


@pytest.mark.parametrize(
    "folder, forbidden",
    [("activities", {"workflows", "worker"}), ("backroom", {"workflows", "activities"})],
)
def test_no_upward_imports(folder, forbidden):
    offenders = [f"{p.relative_to(ROOT)}: {sorted(_imports(p) & forbidden)}" for p in _modules(folder)]
    assert [o for o in offenders if not o.endswith("[]")] == []
