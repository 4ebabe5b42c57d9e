"""The after-sales and warranty report sets count what happened: cases by kind, warranty vs
chargeable, closed within the target, repair revenue, repeat repairs; registrations and claims."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from backroom.aftersales import service as aftersales
from backroom.aftersales.schemas import CaseCreate
from backroom.db.base import utcnow
from backroom.reports import service as reports
from tests.helpers import TEST_ACTOR, registered, warranted_product


def line(report, name):
    return next(x for x in report.summary if x.measure == name).current


async def test_aftersales_and_warranty_reports(db, settings):
    async with db.sessionmaker.begin() as s:
        branch, customer, drill, _w = await registered(s, left=timedelta(days=300))
        plain = await warranted_product(s, months=0)
        made = []
        for product, reason in ((drill, "noisy"), (plain, "cracked"), (plain, "cracked again")):
            made.append(
                await aftersales.open_case(
                    s,
                    actor=TEST_ACTOR,
                    data=CaseCreate(
                        kind="repair", reason=reason, customer_id=customer.id, product_id=product.id
                    ),
                    settings=settings,
                )
            )
        paid = made[1]
        paid.state, paid.closed_at, paid.charged_minor = "closed", utcnow(), 4200
        late = made[2]
        late.state, late.closed_at, late.breached = "closed", utcnow(), True
        await s.flush()
        day = utcnow().astimezone(ZoneInfo(branch.timezone)).date()  # the branch's own day
        svc = await reports.build_report(
            s, function="service", edition="daily", day=day, branch_ids=[branch.id]
        )
        war = await reports.build_report(
            s, function="warranty", edition="daily", day=day, branch_ids=[branch.id]
        )
    assert line(svc, "opened").value == 3 and line(svc, "opened_repair").value == 3
    assert line(svc, "under_warranty").value == 1 and line(svc, "chargeable").value == 2
    assert line(svc, "closed").value == 2 and line(svc, "turnaround_met").value == 0.5
    assert [(m.currency, m.amount_minor) for m in line(svc, "repair_revenue").money] == [("USD", 4200)]
    assert line(svc, "repeat_repairs").value == 1
    assert line(war, "registered").value == 1 and line(war, "claims").value == 1
