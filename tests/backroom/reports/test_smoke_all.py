from datetime import date

from backroom.reports import catalog, service
from tests.helpers import create_branch


async def test_every_report_builds(db):
    async with db.sessionmaker.begin() as session:
        b1 = await create_branch(session, timezone="America/New_York")
        b2 = await create_branch(session, timezone="Europe/Berlin")
        for fn in catalog.functions():
            for ed in ("daily", "weekly", "monthly"):
                r = await service.build_report(
                    session, function=fn, edition=ed, day=date(2026, 11, 30), branch_ids=[b1.id, b2.id]
                )
                assert r.function == fn
                for line in r.summary:
                    await service.drilldown(
                        session,
                        function=fn,
                        measure=line.measure,
                        edition=ed,
                        day=date(2026, 11, 30),
                        branch_ids=[b1.id, b2.id],
                    )
