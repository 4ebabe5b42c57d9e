"""Every saved history (tests/workflows/histories/*.json) replays deterministically with the
current workflow code. A change that breaks one changes the commands a running workflow would
issue: guard it with workflow.patched() (see docs/architecture.md) instead of refreshing the file.
Refresh them on purpose only: BACKROOM_SAVE_HISTORIES=1 pytest tests/workflows."""

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from worker.registry import all_workflows

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def _workflow_type(path: Path) -> str:
    first = json.loads(path.read_text())["events"][0]
    return first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"]


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_saved_history_replays_with_current_code(path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=all_workflows(), data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_every_workflow_type_has_a_saved_history():
    have = {_workflow_type(p) for p in HISTORIES}
    registered = {wf.__temporal_workflow_definition.name for wf in all_workflows()}
    assert registered <= have, f"no saved history for {sorted(registered - have)}"
