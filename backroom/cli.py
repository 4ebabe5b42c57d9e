"""The `backroom` command: run the whole stack or any piece of it."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import os
import sys

from backroom.settings import get_settings


def _migrate(args) -> int:
    from backroom.db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.db_url)
    print(f"database is up to date: {settings.db_url.split('@')[-1]}")
    return 0


async def _with_session(fn):
    from backroom.db.session import run_in_transaction

    return await run_in_transaction(get_settings().db_url, fn)


def _seed(args) -> int:
    settings = get_settings()
    if not settings.embedded_database and not args.demo:
        print(
            "refusing to create demo users on a non-embedded database; pass --demo to insist", file=sys.stderr
        )
        return 2
    from backroom.seed import seed_demo

    asyncio.run(_with_session(seed_demo))
    print("demo data is in place")
    return 0


def _audit_verify(args) -> int:
    """Exit 0 intact, 1 broken, 2 intact but with events unsealed longer than --max-unsealed-age."""
    from backroom.audit.service import verify

    report = asyncio.run(_with_session(verify))
    age = report.unsealed_age_seconds()
    waiting = (
        f"{report.unsealed} events not sealed yet (the oldest, event {report.oldest_unsealed_id}, "
        f"written {age:.1f} s ago)"
        if report.unsealed
        else "0 events not sealed yet"
    )
    if not report.ok:
        print(
            f"audit chain BROKEN at event {report.first_broken_id}: {report.problem} "
            f"({report.checked} events verified before it)"
        )
        print(waiting)
        return 1
    head = f"; head: position {report.head_seq}, hash {report.head_hash}" if report.head_seq else ""
    print(f"audit chain intact: {report.checked} events{head}")
    print(waiting)
    if args.max_unsealed_age is not None and age is not None and age > args.max_unsealed_age:
        print(
            f"events wait longer than {args.max_unsealed_age:g} s to be sealed: is a sealer running "
            "(the worker, the web app or `backroom audit seal`)?"
        )
        return 2
    return 0


def _audit_seal(args) -> int:
    from backroom.audit import sealer
    from backroom.db.session import make_engine, make_sessionmaker

    async def go() -> int:
        engine = make_engine(get_settings().db_url)
        try:
            return await sealer.seal(make_sessionmaker(engine), wait=args.wait)
        finally:
            await engine.dispose()

    print(f"sealed {asyncio.run(go())} audit events")
    return 0


def _grants(values: list[str] | None) -> list[tuple[str, int | None]]:
    """ROLE or ROLE@BRANCH_ID -> (role, branch id or None for every branch)."""
    grants = []
    for g in values or []:
        role, _, branch = g.partition("@")
        if branch and not branch.isdigit():
            raise SystemExit(f"--role {g!r}: the branch must be a numeric id (ROLE@BRANCH_ID)")
        grants.append((role, int(branch) if branch else None))
    return grants


def _users_create(args) -> int:
    from backroom.audit.context import Actor
    from backroom.auth.service import create_user

    grants = _grants(args.role)
    password = args.password or os.environ.get("BACKROOM_PASSWORD") or getpass.getpass("Password: ")

    async def go(session):
        return await create_user(
            session,
            actor=Actor.system("cli"),
            username=args.username,
            full_name=args.full_name or args.username,
            password=password,
            email=args.email,
            grants=grants,
        )

    user = asyncio.run(_with_session(go))
    print(f"created user {user.username} (id {user.id})")
    return 0


def _users_change(args) -> int:
    """`users grant` / `users revoke`: each change audited; both idempotent."""
    from sqlalchemy import select

    from backroom.audit.context import Actor
    from backroom.auth import service as auth
    from backroom.auth.models import User

    grants = _grants(args.role)

    async def go(session):
        user = await session.scalar(select(User).where(User.username == args.username))
        if user is None:
            return None
        change = auth.grant_role if args.users_cmd == "grant" else auth.revoke_role
        for role, branch_id in grants:
            await change(session, actor=Actor.system("cli"), user_id=user.id, role=role, branch_id=branch_id)
        return await auth.user_grants(session, user.id)

    result = asyncio.run(_with_session(go))
    if result is None:
        print(f"no user named {args.username!r}", file=sys.stderr)
        return 1
    held = ", ".join(f"{r}@{b if b is not None else 'all'}" for r, b in result) or "no roles"
    print(f"{args.username} now holds: {held}")
    return 0


def _date(value: str):
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; write it like 2026-11-30") from None


def _reports_rollups(args) -> int:
    """Build the closed days of [from, to] not built yet and rebuild the dirty ones. Idempotent."""
    from datetime import timedelta

    from backroom.db.session import run_in_transaction
    from backroom.reports import rollups

    async def go(session):
        return await rollups.refresh(session, start=args.date_from, end=args.date_to + timedelta(days=1))

    built = asyncio.run(run_in_transaction(get_settings().db_url, go))
    for source, days in built.items():
        print(f"{source}: {days} days built")
    return 0


def _reports_backfill(args) -> int:
    """Queue one ReportRunWorkflow per period (audited), then start them; the worker's poller
    starts any that Temporal could not take now."""
    from datetime import UTC, datetime

    from backroom import temporal
    from backroom.audit.context import Actor
    from backroom.db.session import make_engine, make_sessionmaker
    from backroom.reports import snapshots
    from backroom.starts import service as starts

    settings = get_settings()

    async def go():
        engine = make_engine(settings.db_url)
        maker = make_sessionmaker(engine)
        try:
            async with maker.begin() as session:
                runs = await snapshots.request_backfill(
                    session,
                    actor=Actor.system("cli"),
                    date_from=args.date_from,
                    date_to=args.date_to,
                    editions=args.edition,
                    functions=args.function,
                    branch_ids=args.branch,
                    task_queue=settings.task_queue,
                    prefix=settings.workflow_prefix,
                    today=datetime.now(UTC).date(),
                )
            try:
                client = await temporal.connect(settings, retries=3)
            except RuntimeError:
                return runs, False
            return runs, await starts.dispatch(client, maker, [r.workflow_id for r in runs])
        finally:
            await engine.dispose()

    runs, started = asyncio.run(go())
    for r in runs:
        print(f"{r.edition:>8} {r.label:<11} {r.workflow_id}")
    if started:
        print(f"started {len(runs)} report run(s)")
    else:
        print(f"queued {len(runs)} report run(s); the worker starts them when Temporal is reachable")
    return 0


def _api(args) -> int:
    import uvicorn

    # The app reads X-Forwarded-For itself, from TRUSTED_PROXIES only (api.deps.client_address);
    # uvicorn's proxy_headers would believe it from 127.0.0.1 whatever the setting says.
    uvicorn.run("api.main:app", host=args.host, port=args.port, log_level="info", proxy_headers=False)
    return 0


def _worker(args) -> int:
    # By name, as uvicorn loads the web app above: the worker sits on top of backroom (it
    # imports workflows and activities), so backroom does not import it.
    importlib.import_module("worker.__main__").main()
    return 0


def _run(args) -> int:
    from backroom.devstack import main as devstack_main

    return devstack_main(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backroom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "run", help="start everything: Temporal (embedded), migrations, demo data, worker, web app"
    )
    p.add_argument("--no-seed", action="store_true", help="skip the demo data")
    p.add_argument("--demo", action="store_true", help="seed demo data even on a non-embedded database")
    p.set_defaults(fn=_run)
    p = sub.add_parser("api", help="serve the web app and JSON API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=int(os.environ.get("BACKROOM_PORT") or 8000))
    p.set_defaults(fn=_api)
    sub.add_parser("worker", help="run the Temporal worker").set_defaults(fn=_worker)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=_migrate)
    p = sub.add_parser("seed", help="create demo branches, users and records (idempotent)")
    p.add_argument("--demo", action="store_true", help="allow demo users on a non-embedded database")
    p.set_defaults(fn=_seed)
    audit = sub.add_parser("audit", help="audit trail tools").add_subparsers(dest="audit_cmd", required=True)
    p = audit.add_parser("verify", help="re-hash the whole chain, name the first broken link")
    p.add_argument(
        "--max-unsealed-age",
        type=float,
        metavar="SECONDS",
        help="also fail (exit 2) when an event has waited longer than this to be sealed",
    )
    p.set_defaults(fn=_audit_verify)
    p = audit.add_parser("seal", help="link the committed events into the chain now")
    p.add_argument(
        "--wait", type=float, default=10.0, metavar="SECONDS", help="how long to wait for open transactions"
    )
    p.set_defaults(fn=_audit_seal)
    reports = sub.add_parser("reports", help="report snapshots").add_subparsers(
        dest="reports_cmd", required=True
    )
    p = reports.add_parser("backfill", help="regenerate the snapshots of every period in a date range")
    p.add_argument("--from", dest="date_from", type=_date, required=True, help="first day, e.g. 2026-01-01")
    p.add_argument("--to", dest="date_to", type=_date, required=True, help="last day, e.g. 2026-03-31")
    p.add_argument(
        "--edition", action="append", choices=["daily", "weekly", "monthly"], help="repeatable; default all"
    )
    p.add_argument("--function", action="append", help="report set, e.g. orders; repeatable; default all")
    p.add_argument("--branch", action="append", type=int, help="branch id; repeatable; default every branch")
    p.set_defaults(fn=_reports_backfill)
    p = reports.add_parser(
        "rollups", help="build the daily rollups of a date range (and every dirty day in it)"
    )
    p.add_argument("--from", dest="date_from", type=_date, required=True, help="first day, e.g. 2025-01-01")
    p.add_argument("--to", dest="date_to", type=_date, required=True, help="last day, e.g. 2026-03-31")
    p.set_defaults(fn=_reports_rollups)
    users = sub.add_parser("users", help="user administration").add_subparsers(
        dest="users_cmd", required=True
    )
    p = users.add_parser("create", help="create a staff user")
    p.add_argument("username")
    p.add_argument("--full-name")
    p.add_argument("--email")
    p.add_argument("--password", help="(or BACKROOM_PASSWORD, or asked for)")
    p.add_argument("--role", action="append", help="ROLE or ROLE@BRANCH_ID; repeatable")
    p.set_defaults(fn=_users_create)
    for name, verb in (("grant", "grant roles to"), ("revoke", "revoke roles from")):
        p = users.add_parser(name, help=f"{verb} a user")
        p.add_argument("username")
        p.add_argument("--role", action="append", required=True, help="ROLE or ROLE@BRANCH_ID; repeatable")
        p.set_defaults(fn=_users_change)
    args = parser.parse_args(argv)
    from backroom.errors import AppError

    try:
        return args.fn(args)
    except AppError as exc:  # a refused command: say why, no traceback
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
