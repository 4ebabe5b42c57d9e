"""Staff pages for report snapshots and subscriptions: the stored snapshots and their versions
with their files (download audited), the user's subscriptions (subscribe, unsubscribe), and the
public unsubscribe page the e-mails link to (a signed token, confirmed with a button so that a
mail scanner following the link unsubscribes nobody)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import PUBLIC, Session, WriteSession, require
from api.params import Id
from api.ui.common import (
    branch_choices,
    keep_visitor_token,
    parse_form,
    redirect,
    render,
    visitor_form,
    visitor_token,
)
from backroom.auth.principal import Principal
from backroom.errors import Forbidden
from backroom.reports import catalog, snapshots, subscriptions
from backroom.reports.ops_schemas import FORMATS, SubscriptionCreate
from backroom.reports.periods import Edition

router = APIRouter(include_in_schema=False)
NAV = [("Report snapshots", "/report-snapshots", ("reports", "read"), 62)]
READ = ("reports", "read")


class SubscribeForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    function: str = Field(max_length=40)
    edition: Edition
    branch: int | None = Field(default=None, ge=1, le=2**63 - 1)
    format: str = Field(default="pdf", max_length=4)
    only_if_data: str | None = None


@router.get("/report-snapshots")
async def snapshots_page(session: Session, request: Request, p: Principal = require(*READ)):
    function = request.query_params.get("function") or None
    edition = request.query_params.get("edition") or None
    if function not in catalog.functions():
        function = None
    if edition not in {e.value for e in Edition}:
        edition = None
    allowed = p.branch_ids(*READ)
    rows = await snapshots.recent(
        session, function=function, edition=edition, branch_ids=allowed, include_all_branches=allowed is None
    )
    rows = [r for r in rows if snapshots.may_read(p, r.function, r.branch_id)]
    return render(
        request,
        "report_snapshots.html",
        p,
        items=await snapshots.read(session, rows),
        functions={k: fr.label for k, fr in catalog.functions().items()},
        function=function,
        edition=edition,
        may_export=p.can("reports", "export"),
    )


@router.get("/report-snapshots/{snapshot_id}/files/{fmt}")
async def download_page(
    session: WriteSession, snapshot_id: Id, fmt: str, p: Principal = require("reports", "export")
):
    """Download a stored file from the page; audited like the API's."""
    snap = await snapshots.get(session, snapshot_id)
    if not snapshots.may_export(p, snap.function, snap.branch_id):
        raise Forbidden("You may not export this report.")
    f = await snapshots.download(session, snapshot=snap, fmt=fmt, actor=p.actor())
    return Response(
        f.content,
        media_type=f.media_type,
        headers={"Content-Disposition": f'attachment; filename="{f.filename}"'},
    )


async def _subscriptions_page(request: Request, p: Principal, session: AsyncSession, *, status=200, **ctx):
    allowed = p.branch_ids(*READ)
    choices = await branch_choices(session, p, *READ)
    ctx.setdefault("values", {})
    ctx.setdefault("errors", {})
    return render(
        request,
        "report_subscriptions.html",
        p,
        status=status,
        subs=await subscriptions.mine(session, user_id=p.user_id),
        functions={k: fr.label for k, fr in catalog.functions().items()},
        branches=choices,
        names={b.id: b.name for b in choices},
        all_branches=allowed is None,
        formats=FORMATS,
        **ctx,
    )


@router.get("/report-subscriptions")
async def subscriptions_page(session: Session, request: Request, p: Principal = require(*READ)):
    # Arriving from a report page: its function and edition preselected.
    values = {k: request.query_params[k] for k in ("function", "edition") if k in request.query_params}
    return await _subscriptions_page(request, p, session, values=values)


@router.post("/report-subscriptions")
async def subscribe_from_page(session: Session, request: Request, p: Principal = require(*READ)):
    """Subscribe to a report set by e-mail (only what you may read)."""
    form, errors, raw = await parse_form(request, SubscribeForm)
    if form is not None and form.function not in catalog.functions():
        errors = {"function": "Choose a report"}
    if form is None or errors:
        return await _subscriptions_page(request, p, session, status=422, values=raw, errors=errors)
    data = SubscriptionCreate(
        function=form.function,
        edition=form.edition,
        branch_ids=[form.branch] if form.branch else None,
        format=form.format if form.format in FORMATS else "pdf",
        only_if_data=form.only_if_data is not None,
    )
    await subscriptions.subscribe(session, p=p, data=data)
    return redirect("/report-subscriptions", flash="Subscribed: the report will come by e-mail.")


@router.post("/report-subscriptions/{subscription_id}/unsubscribe")
async def unsubscribe_from_page(session: Session, subscription_id: Id, p: Principal = require(*READ)):
    await subscriptions.unsubscribe(session, subscription_id=subscription_id, actor=p.actor())
    return redirect("/report-subscriptions", flash="Unsubscribed.")


@router.get("/report-subscriptions/unsubscribe/{token}", dependencies=[PUBLIC])
async def unsubscribe_link(session: Session, request: Request, token: str):
    """The e-mail's link: shows what it stops, with a button (no change on GET)."""
    sub = await subscriptions.by_token(
        session, secret=request.app.state.settings.session_secret(), token=token
    )
    csrf = visitor_token(request)
    resp = render(
        request,
        "report_unsubscribe.html",
        None,
        sub=sub,
        label=_label(sub.function),
        token=token,
        csrf_token=csrf,
    )
    return keep_visitor_token(request, resp, csrf)


@router.post("/report-subscriptions/unsubscribe/{token}", dependencies=[PUBLIC])
async def unsubscribe_by_link(session: Session, request: Request, token: str):
    """Unsubscribe with the signed link: the token is the authority, the owner the actor. Audited."""
    await visitor_form(request)
    secret = request.app.state.settings.session_secret()
    sub = await subscriptions.unsubscribe_by_token(session, secret=secret, token=token)
    return render(request, "report_unsubscribe.html", None, sub=sub, label=_label(sub.function), done=True)


def _label(function: str) -> str:
    found = catalog.functions().get(function)
    return found.label if found else function
