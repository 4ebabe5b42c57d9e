"""Targets per measure x branch x period, set by managers (audited). A target above the
approval threshold of its unit waits for the approval gate (TargetApprovalWorkflow): the
value in force stays until the change is approved; a refusal leaves it as it was."""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.analytics.flow import TARGET_APPROVAL_WORKFLOW, TargetApprovalInput, TargetDecision
from backroom.analytics.models import Target, TargetStatus
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.branches.models import Branch
from backroom.errors import InvalidInput, not_found
from backroom.inputs import Input
from backroom.money import format_money, parse_money
from backroom.reports import catalog
from backroom.reports.catalog import Unit
from backroom.reports.periods import Edition, from_label
from backroom.reports.service import fmt_duration
from backroom.starts import service as starts

# Above these a target needs a second person's approval (ratios and durations never do: they
# are bounded and cannot inflate a bonus the way a count or an amount can).
APPROVAL_THRESHOLD = {Unit.COUNT: 10_000, Unit.MONEY: 5_000_000}  # money: minor units


class TargetIn(Input):
    """A target as people type it: "1,500.00" (money, in the branch's currency), "95%" (a
    ratio), "2 h" or "90 min" (a duration), a whole number (a count)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    function: str = Field(min_length=1, max_length=40)
    measure: str = Field(min_length=1, max_length=60)
    branch_id: int = Field(ge=1, le=2**63 - 1)
    edition: Edition
    period: str = Field(min_length=4, max_length=20, description="2026-11-30, 2026-W48 or 2026-11")
    value: str = Field(min_length=1, max_length=40)
    higher_is_better: bool = True
    reason: str | None = Field(default=None, max_length=500)


class TargetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    function: str
    measure: str
    measure_label: str = ""
    unit: str = ""
    branch_id: int
    branch: str = ""
    edition: str
    period_label: str
    period_start: date
    period_end: date
    value: float | None
    display: str = ""
    currency: str | None
    higher_is_better: bool
    status: str
    pending_value: float | None
    pending_display: str | None = None
    workflow_id: str | None


def display(unit: Unit, value: float | None, currency: str | None) -> str:
    if value is None:
        return "—"
    if unit is Unit.MONEY:
        return format_money(round(value), currency or "USD")
    if unit is Unit.RATIO:
        return f"{value * 100:.1f} %"
    if unit is Unit.DURATION:
        return fmt_duration(value)
    return f"{value:,.0f}"


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(h|hours?|min|minutes?|d|days?)?$", re.I)


def parse_value(unit: Unit, text: str, currency: str) -> float:
    """The target in the measure's stored unit (minor units, 0..1, seconds, count)."""
    t = text.strip().removesuffix(currency).strip() if unit is Unit.MONEY else text.strip()
    try:
        if unit is Unit.MONEY:
            v = float(parse_money(t, currency))
        elif unit is Unit.RATIO:
            v = float(t.rstrip("% ")) / 100 if t.endswith("%") or float(t) > 1 else float(t)
            if not 0 <= v <= 1:
                raise ValueError(t)
        elif unit is Unit.DURATION:
            m = _DURATION.match(t)
            if not m:
                raise ValueError(t)
            n, u = float(m.group(1)), (m.group(2) or "min").lower()
            v = n * (3600 if u.startswith("h") else 86400 if u.startswith("d") else 60)
        else:
            v = float(int(t.replace(",", "")))
    except ValueError:
        examples = {
            Unit.MONEY: f"1,500.00 {currency}",
            Unit.RATIO: "95%",
            Unit.DURATION: "2 h or 90 min",
            Unit.COUNT: "a whole number such as 120",
        }
        raise InvalidInput(
            f"{text!r} is not a target for this measure; write it like {examples[unit]}.", field="value"
        ) from None
    if v < 0:
        raise InvalidInput("A target cannot be negative.", field="value")
    return v


def workflow_id(target_id: int, revision: int) -> str:
    return f"analytics-target-{target_id}-r{revision}"


async def set_target(
    session: AsyncSession, *, actor: Actor, data: TargetIn, task_queue: str | None = None
) -> Target:
    """Set (or change) a target. Below the threshold it applies at once; above it the change
    waits for approval (the workflow start is queued in this transaction). Setting the value
    already in force changes nothing."""
    fr = catalog.get(data.function)
    m = fr.measure(data.measure)
    if m.hidden or fr.source_of(m).as_of is not None:
        raise InvalidInput(f"{m.label} cannot have a target.", field="measure")
    branch = await session.get(Branch, data.branch_id)
    if branch is None:
        raise InvalidInput(f"There is no branch with id {data.branch_id}.", field="branch_id")
    period = from_label(data.edition, data.period)
    if not 1970 <= period.start_local.year <= 2999:
        raise InvalidInput("Choose a period between 1970 and 2999.", field="period")
    value = parse_value(m.unit, data.value, branch.currency)
    currency = branch.currency if m.unit is Unit.MONEY else None
    row = await session.scalar(
        select(Target).where(
            Target.function == fr.key,
            Target.measure == m.name,
            Target.branch_id == branch.id,
            Target.edition == period.edition,
            Target.period_label == period.label,
        )
    )
    if row is None:
        row = Target(
            function=fr.key,
            measure=m.name,
            branch_id=branch.id,
            edition=period.edition,
            period_label=period.label,
            period_start=period.start_local,
            period_end=period.end_local,
            currency=currency,
            status=TargetStatus.PENDING,
            revision=0,
        )
        session.add(row)
        await session.flush()
    elif row.value == value and row.pending_value is None and row.higher_is_better == data.higher_is_better:
        return row
    before = audit.snapshot(row)
    row.higher_is_better, row.set_by_id = data.higher_is_better, actor.user_id
    threshold = APPROVAL_THRESHOLD.get(m.unit)
    if threshold is None or value <= threshold:
        row.value, row.pending_value, row.status = value, None, TargetStatus.ACTIVE
        row.approved_by_id = None
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="target.set",
            entity_type="analytics_target",
            entity_id=row.id,
            branch_id=row.branch_id,
            before=before,
            after=audit.snapshot(row),
        )
        return row
    row.revision += 1
    row.pending_value, row.workflow_id = value, workflow_id(row.id, row.revision)
    if row.value is None:
        row.status = TargetStatus.PENDING
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="target.request",
        entity_type="analytics_target",
        entity_id=row.id,
        branch_id=row.branch_id,
        before=before,
        after=audit.snapshot(row),
    )
    shown = display(m.unit, value, currency)
    await starts.enqueue(
        session,
        run=TARGET_APPROVAL_WORKFLOW,
        arg=TargetApprovalInput(
            target_id=row.id,
            revision=row.revision,
            branch_id=row.branch_id,
            title=f"Target {m.label} {period.label} at {branch.name}: {shown}",
            reason=data.reason,
            requested_by_id=actor.user_id,
            requested_by_name=actor.name,
        ),
        workflow_id=row.workflow_id,
        task_queue=task_queue,
        branch_id=row.branch_id,
    )
    return row


async def apply_decision(session: AsyncSession, *, actor: Actor, decision: TargetDecision) -> Target:
    """Put an approved change in force, or drop a refused one. Idempotent: a decision for an
    older revision, or one already applied, changes nothing."""
    row = await session.get(Target, decision.target_id)
    if row is None:
        raise not_found("Target", decision.target_id)
    if row.revision != decision.revision or row.pending_value is None:
        return row
    before = audit.snapshot(row)
    if decision.approved:
        row.value, row.status, row.approved_by_id = (
            row.pending_value,
            TargetStatus.ACTIVE,
            decision.decided_by_id,
        )
    elif row.value is None:
        row.status = TargetStatus.REJECTED
    row.pending_value = None
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="target.approve" if decision.approved else f"target.{decision.status}",
        entity_type="analytics_target",
        entity_id=row.id,
        branch_id=row.branch_id,
        before=before,
        after={**audit.snapshot(row), "reason": decision.reason},
    )
    return row


async def list_targets(
    session: AsyncSession,
    *,
    branch_ids: list[int] | None,
    function: str | None = None,
    measure: str | None = None,
    limit: int = 200,
) -> list[TargetRead]:
    stmt = select(Target).order_by(Target.period_start.desc(), Target.id.desc()).limit(limit)
    if branch_ids is not None:
        stmt = stmt.where(Target.branch_id.in_(branch_ids))
    if function:
        stmt = stmt.where(Target.function == function)
    if measure:
        stmt = stmt.where(Target.measure == measure)
    return await read_many(session, list((await session.execute(stmt)).scalars()))


async def read_many(session: AsyncSession, rows: list[Target]) -> list[TargetRead]:
    names = dict((await session.execute(select(Branch.id, Branch.name))).all())
    out = []
    for r in rows:
        item = TargetRead.model_validate(r)
        fr = catalog.functions().get(r.function)
        m = next((x for x in fr.measures if x.name == r.measure), None) if fr else None
        unit = m.unit if m else Unit.COUNT
        item.measure_label = m.label if m else r.measure
        item.unit = unit
        item.branch = names.get(r.branch_id, "")
        item.display = display(unit, r.value, r.currency)
        item.pending_display = (
            display(unit, r.pending_value, r.currency) if r.pending_value is not None else None
        )
        out.append(item)
    return out


async def targets_for(
    session: AsyncSession,
    *,
    function: str,
    measure: str,
    edition: str,
    period_label: str,
    branch_ids: list[int],
) -> dict[int, Target]:
    """Active targets of one measure and period, by branch."""
    rows = await session.execute(
        select(Target).where(
            Target.function == function,
            Target.measure == measure,
            Target.edition == edition,
            Target.period_label == period_label,
            Target.branch_id.in_(branch_ids),
            Target.value.is_not(None),
        )
    )
    return {t.branch_id: t for t in rows.scalars()}
