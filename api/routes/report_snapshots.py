"""Report snapshots API: list stored snapshots and the versions of one report, download a
snapshot's file (audited), backfill a date range, and the caller's report subscriptions.

Permissions: reading a snapshot is ("reports", "read") in its branch (the all-branches
snapshot: in every branch); a file is ("reports", "export"); a backfill is ("reports", "post")
in every branch it covers; a subscription only to what the caller may read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Query, Request, Response

from api.deps import Session, WriteSession, require
from api.params import Id
from backroom.auth.principal import Principal
from backroom.errors import Forbidden
from backroom.reports import snapshots, subscriptions
from backroom.reports.ops_schemas import (
    BackfillIn,
    BackfillRead,
    BackfillRunRead,
    SnapshotDetail,
    SnapshotRead,
    SubscriptionCreate,
    SubscriptionRead,
)
from backroom.reports.periods import Edition

router = APIRouter(prefix="/api/v1", tags=["reports"])


def _check(p: Principal, snap, action: str = "read") -> None:
    if action == "read" and snapshots.may_read(p, snap.function, snap.branch_id):
        return
    if action == "export" and snapshots.may_export(p, snap.function, snap.branch_id):
        return
    where = "all branches" if snap.branch_id is None else f"branch {snap.branch_id}"
    raise Forbidden(f"You may not {action} the {snap.function} reports of {where}.")


@router.get("/report-snapshots")
async def list_snapshots(
    session: Session,
    function: str | None = Query(default=None, max_length=40),
    edition: Edition | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    p: Principal = require("reports", "read"),
) -> dict[str, list[SnapshotRead]]:
    """The newest snapshots of the branches the caller may read (all-branches ones only for
    those who read every branch), newest first."""
    allowed = p.branch_ids("reports", "read")
    rows = await snapshots.recent(
        session,
        function=function,
        edition=edition,
        branch_ids=allowed,
        include_all_branches=allowed is None,
        limit=limit,
    )
    rows = [r for r in rows if snapshots.may_read(p, r.function, r.branch_id)]
    return {"items": await snapshots.read(session, rows)}


@router.get(
    "/report-snapshots/{snapshot_id:id}/files/{fmt}",
    response_class=Response,
    responses={
        200: {
            "description": "The report file",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def download(
    session: WriteSession,
    snapshot_id: Id,
    fmt: Literal["csv", "xlsx", "pdf"],
    p: Principal = require("reports", "export"),
) -> Response:
    """A snapshot's stored file. Audited (who took which file)."""
    snap = await snapshots.get(session, snapshot_id)
    _check(p, snap, "export")
    f = await snapshots.download(session, snapshot=snap, fmt=fmt, actor=p.actor())
    return Response(
        f.content,
        media_type=f.media_type,
        headers={"Content-Disposition": f'attachment; filename="{f.filename}"', "X-Content-SHA256": f.sha256},
    )


@router.get("/report-snapshots/{snapshot_id:id}")
async def get_snapshot(
    session: Session, snapshot_id: Id, p: Principal = require("reports", "read")
) -> SnapshotDetail:
    """One snapshot with the report exactly as it was stored."""
    snap = await snapshots.get(session, snapshot_id)
    _check(p, snap)
    return (await snapshots.read(session, [snap], detail=True))[0]


@router.get("/report-snapshots/{function}/{edition}/{period}")
async def versions(
    session: Session,
    function: str,
    edition: Edition,
    period: str,
    branch: int | None = Query(default=None, ge=1, le=2**63 - 1, description="leave out for all branches"),
    p: Principal = require("reports", "read"),
) -> dict[str, list[SnapshotRead]]:
    """Every stored version of one report (function, edition, period, branch), newest first."""
    if not snapshots.may_read(p, function, branch):
        raise Forbidden(
            f"You may not read the {function} reports of {'all branches' if branch is None else f'branch {branch}'}."
        )
    rows = await snapshots.versions(
        session, function=function, edition=edition, label=period, branch_id=branch
    )
    return {"items": await snapshots.read(session, rows)}


@router.post("/reports/backfill", status_code=202)
async def backfill(
    session: Session, body: BackfillIn, request: Request, p: Principal = require("reports", "post")
) -> BackfillRead:
    """Regenerate every period in the range: one ReportRunWorkflow per period (a new version of
    each snapshot), queued through the outbox and audited. Needs ("reports", "post") in every
    branch covered (leave `branch_ids` out only with it in all branches)."""
    allowed = p.branch_ids("reports", "post")
    if body.branch_ids is None and allowed is not None:
        raise Forbidden("Backfilling every branch needs report rights in all branches; choose your branches.")
    for branch_id in body.branch_ids or ():
        p.require("reports", "post", branch_id=branch_id)
    settings = request.app.state.settings
    runs = await snapshots.request_backfill(
        session,
        actor=p.actor(),
        date_from=body.date_from,
        date_to=body.date_to,
        editions=body.editions,
        functions=body.functions,
        branch_ids=body.branch_ids,
        task_queue=settings.task_queue,
        prefix=settings.workflow_prefix,
        today=datetime.now(UTC).date(),
    )
    return BackfillRead(
        runs=[BackfillRunRead(workflow_id=r.workflow_id, edition=r.edition, period=r.label) for r in runs]
    )


@router.get("/report-subscriptions")
async def my_subscriptions(
    session: Session, p: Principal = require("reports", "read")
) -> dict[str, list[SubscriptionRead]]:
    """The caller's active report subscriptions."""
    rows = await subscriptions.mine(session, user_id=p.user_id)
    return {"items": [SubscriptionRead.model_validate(r) for r in rows]}


@router.post("/report-subscriptions", status_code=201)
async def subscribe(
    session: Session, body: SubscriptionCreate, p: Principal = require("reports", "read")
) -> SubscriptionRead:
    """Subscribe to a report set by e-mail; only to reports the caller may read. Audited."""
    return SubscriptionRead.model_validate(await subscriptions.subscribe(session, p=p, data=body))


@router.delete("/report-subscriptions/{subscription_id:id}")
async def unsubscribe(
    session: Session, subscription_id: Id, p: Principal = require("reports", "read")
) -> SubscriptionRead:
    """End one of the caller's subscriptions. Audited; idempotent."""
    sub = await subscriptions.unsubscribe(session, subscription_id=subscription_id, actor=p.actor())
    return SubscriptionRead.model_validate(sub)
