"""ComplaintActivities.record_breach: one breach and one escalation per key."""

from datetime import UTC, datetime

from activities.complaints import ComplaintActivities
from backroom.complaints import service as complaints
from backroom.complaints.flow import Breach
from tests.helpers import TEST_ACTOR, create_customer, staff


async def test_breach_recorded_once_per_key(act_env, deps, sqlite_db):
    db, people = sqlite_db, await staff(sqlite_db, roles=("agent", "supervisor"))
    async with db.sessionmaker.begin() as s:
        cust = await create_customer(s, branch=people["branch"])
        c = await complaints.log_complaint(
            s,
            actor=TEST_ACTOR,
            customer_id=cust.id,
            channel="phone",
            category="damaged",
            severity="high",
            description="Broken lid",
            sla={"high": (60, 240)},
        )
    acts = ComplaintActivities(deps)
    breach = Breach(
        complaint_id=c.id,
        clock="first_response",
        to_level="supervisor",
        key=f"complaint-{c.id}:breach:1",
        at=datetime.now(UTC),
    )
    assert await act_env.run(acts.record_breach, breach) is True
    assert await act_env.run(acts.record_breach, breach) is False  # the retried attempt
    async with db.read_sessionmaker() as s:
        row = await complaints.get(s, c.id)
        kinds = [e.kind for e in await complaints.events(s, c.id)]
    assert row.level == "supervisor" and row.first_response_breached
    assert kinds.count("breach") == 1
