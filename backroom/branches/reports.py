"""The cash drawer report set: shifts opened and closed, cash expected and counted, the
over/short of closed shifts (net, shortages, overages), and the cash moved in and out (pay-ins,
pay-outs, credit payments taken in cash), by branch, day, cashier and shift. Exceptions are the
shifts that closed over or short. A clerk sees only their own shifts (reports/access.py)."""

from __future__ import annotations

from sqlalchemy import case

from backroom.auth.models import User
from backroom.branches.models import CashKind, CashMovement, Shift, ShiftStatus
from backroom.reports.catalog import (
    ExceptionList,
    Field,
    FunctionReport,
    Measure,
    Source,
    Unit,
    register,
    sources,
)

S, M = Shift, CashMovement

_shifts = sources(
    record="cashier shift",
    table=S.__table__.join(User, User.id == S.user_id),
    id=S.id,
    branch=S.branch_id,
    user=S.user_id,
    shift=S.id,
    currency=S.currency,
    fields=(
        Field("Shift", S.id, "number"),
        Field("Cashier", User.full_name),
        Field("Opened", S.opened_at, "datetime"),
        Field("Closed", S.closed_at, "datetime"),
        Field("Expected", S.expected_cash_minor, "money"),
        Field("Counted", S.closing_count_minor, "money"),
        Field("Over/short", S.variance_minor, "money"),
    ),
    link=("/shifts/{}/report", S.id),
)
OPENED = _shifts("shifts_opened", S.opened_at)
CLOSED = _shifts("shifts_closed", S.closed_at, S.status == ShiftStatus.CLOSED)

MOVES = Source(
    key="cash_movements",
    record="cash movement",
    table=M.__table__.join(User, User.id == M.user_id),
    id=M.id,
    at=M.at,
    branch=M.branch_id,
    user=M.user_id,
    shift=M.shift_id,
    currency=M.currency,
    fields=(
        Field("Shift", M.shift_id, "number"),
        Field("Cashier", User.full_name),
        Field("Kind", M.kind, "code"),
        Field("Amount", M.amount_minor, "money"),
        Field("What for", M.reason),
        Field("At", M.at, "datetime"),
    ),
    link=("/shifts/{}/report", M.shift_id),
)


def _moved(name: str, label: str, kind: CashKind, sign: int = 1) -> Measure:
    return Measure(name, label, Unit.MONEY, MOVES, value=sign * M.amount_minor, where=M.kind == kind)


register(
    FunctionReport(
        key="cash",
        label="Cash drawers",
        order=47,
        permission="payments",
        main="variance",
        measures=[
            Measure("opened", "Shifts opened", Unit.COUNT, OPENED),
            Measure("closed", "Shifts closed", Unit.COUNT, CLOSED),
            Measure("expected", "Cash expected at close", Unit.MONEY, CLOSED, value=S.expected_cash_minor),
            Measure("counted", "Cash counted at close", Unit.MONEY, CLOSED, value=S.closing_count_minor),
            Measure("variance", "Over/short, net", Unit.MONEY, CLOSED, value=S.variance_minor),
            Measure(
                "short",
                "Shortages",
                Unit.MONEY,
                CLOSED,
                value=case((S.variance_minor < 0, -S.variance_minor), else_=0),
            ),
            Measure(
                "over",
                "Overages",
                Unit.MONEY,
                CLOSED,
                value=case((S.variance_minor > 0, S.variance_minor), else_=0),
            ),
            Measure("off", "Shifts over or short", Unit.COUNT, CLOSED, where=S.variance_minor != 0),
            Measure("off_rate", "Share of shifts over or short", Unit.RATIO, ratio=("off", "closed")),
            _moved("pay_ins", "Paid in", CashKind.PAY_IN),
            _moved("pay_outs", "Paid out", CashKind.PAY_OUT, -1),
            Measure("pay_out_count", "Pay-outs", Unit.COUNT, MOVES, where=M.kind == CashKind.PAY_OUT),
            _moved("credit_cash", "Credit payments in cash", CashKind.CREDIT_PAYMENT),
        ],
        exceptions=[
            ExceptionList(
                "over_short",
                "Shifts closed over or short",
                CLOSED,
                S.variance_minor != 0,
                lambda f: (
                    f"{f['Cashier']}: counted {f['Counted']}, expected {f['Expected']} ({f['Over/short']})"
                ),
            )
        ],
    )
)
