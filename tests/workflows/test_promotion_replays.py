"""Saved histories replay with today's code: carts recorded before discount codes and
reminders existed (the `workflow.patched` paths), a cart that got a reminder and then checked
out, and an approved promotion."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.carts import CartWorkflow
from workflows.promotions import PromotionApprovalWorkflow

HISTORIES = Path(__file__).parent / "histories"


@pytest.mark.parametrize(
    ("name", "workflow"),
    [
        ("cart_before_coupons.json", CartWorkflow),
        ("cart_reminder_then_checkout.json", CartWorkflow),
        ("promotion_approved.json", PromotionApprovalWorkflow),
    ],
)
async def test_saved_history_replays(name, workflow):
    history = WorkflowHistory.from_json(name, (HISTORIES / name).read_text())
    replayer = Replayer(workflows=[workflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
