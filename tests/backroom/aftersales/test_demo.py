"""The after-sales demo: registrations (one ending within 30 days), cases in several states,
idempotent; a seeded case's workflow starts where the case stands (quote waiting)."""

from __future__ import annotations

from sqlalchemy import select

from backroom.aftersales import demo
from backroom.aftersales.flow import CaseAction, RmaInput
from backroom.aftersales.models import RmaCase
from backroom.db.base import utcnow
from backroom.notifications.models import Notification
from backroom.starts.models import WorkflowStart
from backroom.warranty import service as warranty
from backroom.warranty.models import Warranty
from tests.helpers import case_step, create_branch, eventually, running_worker
from workflows.aftersales import RmaCaseWorkflow


async def test_demo_seeds_states_once_and_resumes_the_quote(fresh_db, settings, ts_env, task_queue):
    db = fresh_db
    async with db.sessionmaker.begin() as s:
        context = {"branches": [await create_branch(s)], "users": {}}
        await demo.seed(s, context)
        await demo.seed(s, context)  # idempotent
    async with db.read_sessionmaker() as s:
        cases = list(await s.scalars(select(RmaCase).order_by(RmaCase.id)))
        regs = list(await s.scalars(select(Warranty)))
        starts = {r.workflow_id: r for r in await s.scalars(select(WorkflowStart))}
    assert [c.state for c in cases] == ["requested", "awaiting_item", "quote_sent", "in_repair", "ready"]
    assert [c.under_warranty for c in cases] == [True, True, False, True, True]
    assert cases[2].quote_minor == 6400
    now = utcnow()
    assert len(regs) == 6 and sum(warranty.status_of(w, now) == "expiring" for w in regs) == 1
    assert any(warranty.status_of(w, now) == "expired" for w in regs)
    quoted = cases[2]
    inp = RmaInput.model_validate(starts[quoted.workflow_id].args)
    assert inp.start_state == "quote_sent" and not inp.under_warranty
    async with running_worker(ts_env, settings, db, task_queue) as handles:
        handle = await ts_env.client.start_workflow(
            RmaCaseWorkflow.run, inp, id=f"{quoted.workflow_id}-demo-{task_queue}", task_queue=task_queue
        )
        handles.append(handle)

        async def mailed():
            async with db.read_sessionmaker() as s:
                return await s.scalar(select(Notification).where(Notification.kind == "rma.quote"))

        mail = await eventually(mailed)
        assert "64.00 USD" in mail.body and mail.link
        await case_step(handle, CaseAction(action="quote_approve", user_name="customer"))

        async def repairing():
            async with db.read_sessionmaker() as s:
                return (await s.get(RmaCase, quoted.id)).state == "in_repair"

        await eventually(repairing)
