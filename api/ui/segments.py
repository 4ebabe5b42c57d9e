"""Staff pages for segments: the list, the rule builder (a form of condition rows joined by
AND or OR, with a preview of the count and a sample before saving), and a segment's page
(its rules in words, size over time, members in the customer list, CSV export)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from pydantic import ValidationError

from api.deps import Session, require
from api.params import Id
from api.ui.common import NOT_DATA, redirect, render
from api.validation import messages, summary
from backroom.auth.principal import Principal
from backroom.branches.service import list_branches
from backroom.db.base import utcnow
from backroom.errors import AppError
from backroom.money import parse_money
from backroom.segments import service
from backroom.segments.schemas import LABELS, Attr, Group, Op, SegmentCreate

router = APIRouter(include_in_schema=False)
NAV = [("Segments", "/segments", ("segmentation", "list"), 13)]
ROWS = 5
OP_LABELS = {Op.is_: "is", Op.is_not: "is not", Op.in_: "is one of", Op.gte: "at least", Op.lte: "at most"}


def _rules_from_form(form: dict[str, str], branches_by_name: dict[str, int]) -> Group:
    """Condition rows to rules. Branches and tiers are typed as names (comma separated), spend
    as an amount ("250.00"); the rest as whole numbers or yes/no."""
    conds = []
    for i in range(ROWS):
        attr = form.get(f"attr{i}") or ""
        if not attr:
            continue
        op, raw = form.get(f"op{i}") or "", (form.get(f"value{i}") or "").strip()
        cond: dict = {"attr": attr, "op": op}
        if attr == Attr.home_branch:
            names = [n.strip() for n in raw.split(",") if n.strip()]
            unknown = [n for n in names if n.casefold() not in branches_by_name]
            if unknown:
                raise ValueError(f"Row {i + 1}: no branch called {unknown[0]}.")
            cond["value"] = [branches_by_name[n.casefold()] for n in names]
        elif attr == Attr.loyalty_tier:
            cond["value"] = [n.strip() for n in raw.split(",") if n.strip()]
        elif attr in (Attr.consent_email, Attr.credit_on_hold):
            cond["value"] = raw.lower() in ("yes", "true", "1")
        elif attr == Attr.tag:
            cond["value"] = raw
        elif attr == Attr.spend:
            currency = (form.get(f"currency{i}") or "USD").upper()
            try:
                cond["value"] = parse_money(raw, currency)
            except ValueError:
                raise ValueError(f"Row {i + 1}: enter an amount such as 250.00.") from None
            cond["currency"] = currency
        else:
            if not raw.isdigit():
                raise ValueError(f"Row {i + 1}: enter a whole number.")
            cond["value"] = int(raw)
        if form.get(f"days{i}"):
            if not form[f"days{i}"].isdigit():
                raise ValueError(f"Row {i + 1}: the window is a number of days.")
            cond["days"] = int(form[f"days{i}"])
        conds.append(cond)
    if not conds:
        raise ValueError("Add at least one condition.")
    try:
        return Group.model_validate({"join": form.get("join") or "and", "conditions": conds})
    except ValidationError as exc:
        raise ValueError(summary(messages(exc))) from None


def _builder(request, p, *, values, error=None, preview=None, status=200):
    return render(
        request,
        "segments/builder.html",
        p,
        status=status,
        values=values,
        error=error,
        preview=preview,
        rows=range(ROWS),
        attrs=[(a.value, LABELS[a]) for a in Attr],
        ops=[(o.value, OP_LABELS[o]) for o in Op],
    )


@router.get("/segments")
async def segments_page(session: Session, request: Request, p: Principal = require("segmentation", "list")):
    segs = [await service.read(session, s) for s in await service.list_segments(session)]
    return render(request, "segments/list.html", p, segments=segs)


@router.get("/segments/new")
async def new_segment_page(request: Request, p: Principal = require("segmentation", "create")):
    return _builder(request, p, values={})


@router.post("/segments/new")
async def new_segment_form(
    session: Session, request: Request, p: Principal = require("segmentation", "create")
):
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str) and k not in NOT_DATA}
    branches = {b.name.casefold(): b.id for b in await list_branches(session)}
    try:
        group = _rules_from_form(form, branches)
    except ValueError as exc:
        return _builder(request, p, values=form, error=str(exc), status=422)
    if form.get("action") != "save":
        preview = await service.preview(session, rules_=group, branch_ids=p.branch_ids("customers", "list"))
        return _builder(request, p, values=form, preview=preview)
    try:
        data = SegmentCreate(
            name=form.get("name") or "", description=form.get("description") or "", rules=group
        )
    except ValidationError:
        return _builder(
            request, p, values=form, error="Give the segment a name (up to 120 characters).", status=422
        )
    try:
        async with session.begin_nested():
            seg = await service.create_segment(session, actor=p.actor(), data=data)
    except AppError as exc:
        return _builder(request, p, values=form, error=exc.detail, status=exc.status)
    return redirect(f"/segments/{seg.id}", f"Segment {seg.name} saved.")


@router.get("/segments/{segment_id}")
async def segment_page(
    session: Session, request: Request, segment_id: Id, p: Principal = require("segmentation", "read")
):
    seg = await service.read(session, await service.get_segment(session, segment_id))
    now = utcnow().date()
    history = await service.size_over_time(
        session, segment_id=seg.id, since=now - timedelta(days=60), until=now
    )
    preview = await service.preview(session, rules_=seg.rules, branch_ids=p.branch_ids("customers", "list"))
    return render(request, "segments/detail.html", p, segment=seg, history=history, preview=preview)
