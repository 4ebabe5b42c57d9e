"""ApprovalActivities: one inbox row per gate however often `open` runs; an unknown branch refuses."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from activities.approvals import ApprovalActivities
from backroom.approvals.models import ApprovalRequest
from backroom.approvals.schemas import ApprovalAsk, ApprovalLevel, CloseRequest, OpenRequest
from backroom.errors import NotFound
from tests.custops_helpers import staff


def _open(branch_id, workflow_id):
    ask = ApprovalAsk(
        key="limit",
        branch_id=branch_id,
        subject_type="customer",
        subject_id="1",
        title="Credit limit",
        function="credit",
        levels=[ApprovalLevel(role="finance", hours=48)],
    )
    return OpenRequest(
        ask=ask, workflow_id=workflow_id, run_id="run-1", deadline_at=datetime.now(UTC) + timedelta(hours=48)
    )


async def test_open_and_close_twice_write_once(act_env, deps, sqlite_db):
    db, people = sqlite_db, await staff(sqlite_db, roles=("finance",))
    acts = ApprovalActivities(deps.sessionmaker)
    wf = act_env.info.workflow_id
    first = await act_env.run(acts.open, _open(people["branch"].id, wf))
    again = await act_env.run(acts.open, _open(people["branch"].id, wf))
    assert first == again
    close = CloseRequest(request_id=first, workflow_id=wf, status="rejected", reason="no")
    await act_env.run(acts.close, close)
    await act_env.run(acts.close, close.model_copy(update={"status": "approved"}))
    async with db.read_sessionmaker() as s:
        rows = await s.scalar(
            select(func.count()).select_from(ApprovalRequest).where(ApprovalRequest.workflow_id == wf)
        )
        row = await s.get(ApprovalRequest, first)
    assert rows == 1 and (row.status, row.decision_reason) == ("rejected", "no")


async def test_open_for_an_unknown_branch_is_refused(act_env, deps):
    acts = ApprovalActivities(deps.sessionmaker)
    with pytest.raises(NotFound) as refused:
        await act_env.run(acts.open, _open(987_654_321, act_env.info.workflow_id))
    assert refused.value.code == "branch_not_found"
