"""The nightly loyalty run enrols by segment rule and awards birthday bonuses (after expiry,
notices and tiers), on the time-skipping server with a real worker; runs recorded before
this step (histories/loyalty_nightly.json) still replay (workflow.patched)."""

from __future__ import annotations

from datetime import UTC, datetime

from backroom.loyalty import ledger
from backroom.loyalty import service as loyalty
from backroom.loyalty.flow import NightlyInput
from backroom.segments import service as segments
from backroom.segments.schemas import Group, SegmentCreate
from tests.helpers import TEST_ACTOR, create_branch, create_customer, make_program, uniq
from worker.registry import Deps, build_worker
from workflows.loyalty import LoyaltyNightlyWorkflow


async def test_nightly_run_enrols_by_rule_and_awards_birthdays(
    ts_env, sqlite_db, settings, task_queue, save_history
):
    db = sqlite_db
    at = datetime(2026, 7, 4, 1, 30, tzinfo=UTC)
    async with db.sessionmaker.begin() as s:
        tag = uniq("club")
        seg = await segments.create_segment(
            s,
            actor=TEST_ACTOR,
            data=SegmentCreate(
                name=uniq("Club "),
                rules=Group.model_validate(
                    {"join": "and", "conditions": [{"attr": "tag", "op": "is", "value": tag}]}
                ),
            ),
        )
        program = await make_program(s, enrol_rule="segment", enrol_segment_id=seg.id, birthday_points=75)
        branch = await create_branch(s)
        joiner = await create_customer(s, branch=branch, currency=program.currency, tags=[tag])
        birthday = await create_customer(s, branch=branch, currency=program.currency)
        await loyalty.enrol(
            s, actor=TEST_ACTOR, customer_id=birthday.id, consent=True, birth_month=7, birth_day=4
        )
    async with build_worker(
        ts_env.client, Deps(settings=settings, sessionmaker=db.sessionmaker), task_queue=task_queue
    ):
        handle = await ts_env.client.start_workflow(
            LoyaltyNightlyWorkflow.run,
            NightlyInput(at=at),
            id=uniq("loyalty-nightly-"),
            task_queue=task_queue,
        )
        await handle.result()
        await save_history(handle, "loyalty_nightly_rules")
    async with db.read_sessionmaker() as s:
        member = await loyalty.member_of(s, joiner.id)
        assert member is not None and member.enrolled_by == "rule"
        bday = await loyalty.member_of(s, birthday.id)
        assert await ledger.balance(s, bday.id) == 75
