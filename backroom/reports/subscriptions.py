"""Report subscriptions: a user orders a report set by e-mail (function, edition, branches,
format, only if there is data). After each snapshot the matching subscribers get the file
through the notification outbox, with a link to the live report and a signed unsubscribe link."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import policies
from backroom.audit import service as audit
from backroom.audit.context import Actor
from backroom.auth import service as auth
from backroom.auth.models import User
from backroom.auth.principal import Principal
from backroom.errors import Forbidden, InvalidInput, NotFound
from backroom.notifications import service as notify
from backroom.reports import catalog
from backroom.reports.models import ReportSnapshot, ReportSubscription
from backroom.reports.ops_schemas import SubscriptionCreate
from backroom.reports.snapshots import may_read

_SALT = "report-unsubscribe"
_enforcer = None


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=_SALT)


def unsubscribe_token(secret: str, subscription_id: int) -> str:
    return _serializer(secret).dumps(subscription_id)


def subscription_from_token(secret: str, token: str) -> int:
    try:
        value = _serializer(secret).loads(token)
    except BadSignature as exc:
        raise InvalidInput("This unsubscribe link is not valid. Unsubscribe from the Reports page.") from exc
    if not isinstance(value, int):
        raise InvalidInput("This unsubscribe link is not valid. Unsubscribe from the Reports page.")
    return value


async def subscribe(session: AsyncSession, *, p: Principal, data: SubscriptionCreate) -> ReportSubscription:
    """Subscribe the caller; only to what they may read. Audited. Idempotent: the same active
    subscription is returned rather than doubled."""
    for branch_id in data.branch_ids or [None]:
        if not may_read(p, data.function, branch_id):
            where = "all branches together" if branch_id is None else f"branch {branch_id}"
            raise Forbidden(f"You may not read the {data.function} reports of {where}.")
    same = await session.scalar(
        select(ReportSubscription).where(
            ReportSubscription.user_id == p.user_id,
            ReportSubscription.function == data.function,
            ReportSubscription.edition == data.edition.value,
            ReportSubscription.format == data.format,
            ReportSubscription.status == "active",
        )
    )
    if same is not None and same.branch_ids == data.branch_ids and same.only_if_data == data.only_if_data:
        return same
    sub = ReportSubscription(
        user_id=p.user_id,
        function=data.function,
        edition=data.edition.value,
        branch_ids=data.branch_ids,
        format=data.format,
        only_if_data=data.only_if_data,
        status="active",
    )
    session.add(sub)
    await session.flush()
    await audit.record(
        session,
        actor=p.actor(),
        action="report_subscription.created",
        entity_type="report_subscription",
        entity_id=sub.id,
        after=audit.snapshot(sub),
    )
    return sub


async def unsubscribe(session: AsyncSession, *, subscription_id: int, actor: Actor) -> ReportSubscription:
    """End a subscription (the owner, from the UI or the e-mail's signed link). Audited.
    Idempotent: ending an ended one changes nothing."""
    sub = await session.get(ReportSubscription, subscription_id)
    if sub is None:
        raise NotFound("That report subscription does not exist.")
    if actor.user_id is not None and actor.user_id != sub.user_id:
        raise Forbidden("That report subscription is someone else's.")
    if sub.status == "active":
        before = audit.snapshot(sub)
        sub.status = "unsubscribed"
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="report_subscription.ended",
            entity_type="report_subscription",
            entity_id=sub.id,
            before=before,
            after=audit.snapshot(sub),
        )
    return sub


async def by_token(session: AsyncSession, *, secret: str, token: str) -> ReportSubscription:
    """The subscription an e-mail's unsubscribe link names. Read-only."""
    sub = await session.get(ReportSubscription, subscription_from_token(secret, token))
    if sub is None:
        raise InvalidInput("This unsubscribe link is not valid any more.")
    return sub


async def unsubscribe_by_token(session: AsyncSession, *, secret: str, token: str) -> ReportSubscription:
    """Unsubscribe through the signed link: the token is the authority, the owner the actor.
    Audited; idempotent."""
    sub = await by_token(session, secret=secret, token=token)
    owner = await session.get(User, sub.user_id)
    actor = Actor.user(sub.user_id, owner.full_name if owner else "subscriber")
    return await unsubscribe(session, subscription_id=sub.id, actor=actor)


async def mine(session: AsyncSession, *, user_id: int) -> list[ReportSubscription]:
    rows = await session.execute(
        select(ReportSubscription)
        .where(ReportSubscription.user_id == user_id, ReportSubscription.status == "active")
        .order_by(ReportSubscription.id)
    )
    return list(rows.scalars())


def _matches(sub: ReportSubscription, snap: ReportSnapshot) -> bool:
    if snap.branch_id is None:
        return sub.branch_ids is None
    return snap.branch_id in (sub.branch_ids or ())


async def _principal(session: AsyncSession, user_id: int) -> Principal | None:
    global _enforcer
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    if _enforcer is None:
        _enforcer = policies.load_enforcer()
    return await auth.principal_for(session, user, _enforcer)


def live_link(snap: ReportSnapshot) -> str:
    link = f"/reports/{snap.function}/{snap.edition}?date={snap.period_start_local.isoformat()}"
    return link + (f"&branch={snap.branch_id}" if snap.branch_id is not None else "")


async def notify_subscribers(
    session: AsyncSession, *, snapshot: ReportSnapshot, files: dict[str, Any], settings
) -> int:
    """Queue the snapshot's file to each active subscriber whose branches match, who still may
    read it, and (with only_if_data) only if it has data. In the snapshot's transaction;
    idempotent per (snapshot, subscription). Returns how many were queued."""
    subs = (
        await session.execute(
            select(ReportSubscription).where(
                ReportSubscription.function == snapshot.function,
                ReportSubscription.edition == snapshot.edition,
                ReportSubscription.status == "active",
            )
        )
    ).scalars()
    report = catalog.get(snapshot.function).label
    scope = "all branches" if snapshot.branch_id is None else snapshot.body.get("filters", {}).get("branches")
    scope = ", ".join(scope) if isinstance(scope, list) else (scope or f"branch {snapshot.branch_id}")
    secret = settings.session_secret()
    queued = 0
    for sub in subs:
        if not _matches(sub, snapshot) or (sub.only_if_data and not snapshot.has_data):
            continue
        p = await _principal(session, sub.user_id)
        if p is None or not may_read(p, snapshot.function, snapshot.branch_id):
            continue
        f = files[sub.format]
        unsubscribe = (
            f"{settings.base_url}/report-subscriptions/unsubscribe/{unsubscribe_token(secret, sub.id)}"
        )
        body = (
            f"The {snapshot.edition} {report} report for {snapshot.period_label} ({scope}) is attached"
            f" as {sub.format.upper()}"
            + ("" if snapshot.has_data else "; there was no activity in the period")
            + f".\n\nStop these e-mails: {unsubscribe}\n\nOpen the live report:"
        )
        row = await notify.enqueue(
            session,
            kind="report.subscription",
            to_user_id=sub.user_id,
            branch_id=snapshot.branch_id,
            subject=f"{report} report, {snapshot.edition}, {snapshot.period_label} ({scope})",
            body=body,
            link=live_link(snapshot),
            dedupe_key=f"report-snapshot-{snapshot.id}:sub-{sub.id}",
            attachments=[notify.Attachment(f.filename, f.media_type, f.content)],
        )
        queued += row is not None
    return queued
