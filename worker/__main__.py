"""`python -m worker` (or `backroom worker`): run every workflow and activity on the task queue."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from backroom import temporal
from backroom.db.models import load_models
from backroom.db.session import make_engine, make_sessionmaker
from backroom.settings import get_settings
from worker.registry import Deps, build_worker


async def start_sweep(client, settings) -> None:
    """Start the overdue-credit sweep unless it runs already. Idempotent (fixed workflow id)."""
    from temporalio.exceptions import WorkflowAlreadyStartedError

    from backroom.credit.flow import OVERDUE_SWEEP_ID, OVERDUE_SWEEP_WORKFLOW, SweepInput

    try:
        await client.start_workflow(
            OVERDUE_SWEEP_WORKFLOW,
            SweepInput(interval_hours=settings.credit_sweep_hours),
            id=OVERDUE_SWEEP_ID,
            task_queue=settings.task_queue,
        )
    except WorkflowAlreadyStartedError:
        pass


async def start_alert_sweep(client, settings) -> None:
    """Start the exception-alert sweep unless it runs already. Idempotent (fixed workflow id)."""
    from temporalio.exceptions import WorkflowAlreadyStartedError

    from backroom.alerts.flow import ALERT_SWEEP_ID, ALERT_SWEEP_WORKFLOW, AlertSweepInput

    try:
        await client.start_workflow(
            ALERT_SWEEP_WORKFLOW,
            AlertSweepInput(),
            id=f"{settings.workflow_prefix}{ALERT_SWEEP_ID}",
            task_queue=settings.task_queue,
        )
    except WorkflowAlreadyStartedError:
        pass


async def run() -> None:
    settings = get_settings()
    load_models()  # string foreign keys (orders -> users ...) resolve only with every table known
    # SIGTERM (docker stop, `backroom run`) drains like Ctrl-C: cancelling this task shuts the worker down.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    client = await temporal.connect(settings)
    await temporal.ensure_search_attributes(client, settings.temporal_namespace)
    engine = make_engine(settings.db_url)
    from backroom.orders.adapters import build_adapters, ensure_localstripe

    local_stripe = ensure_localstripe(settings)  # embedded default only
    deps = Deps(settings=settings, sessionmaker=make_sessionmaker(engine), extra=build_adapters(settings))
    worker = build_worker(client, deps, task_queue=settings.task_queue)
    logging.getLogger("backroom.worker").info(
        "worker polling %s on %s", settings.task_queue, settings.temporal_target
    )
    # Customer operations: the outbox sender runs beside the worker; the overdue-credit sweep
    # is one long-lived workflow started here (idempotent by its fixed id).
    from backroom.notifications.sender import run_poller

    await start_sweep(client, settings)
    # Exception alerts: one long-lived sweep workflow (alert-sweep), like the overdue sweep.
    await start_alert_sweep(client, settings)
    # Report snapshots: the daily/weekly/monthly Temporal Schedules (created or updated in place).
    from backroom.reports.schedules import ensure_schedules

    await ensure_schedules(client, settings)
    # Loyalty (expiry, notices, tiers) and segments (RFM, snapshots): nightly Schedules.
    from backroom.loyalty.schedules import ensure_schedules as ensure_nightly

    await ensure_nightly(client, settings)
    # Marketplace vendors: the weekly payout run.
    from backroom.vendors.schedules import ensure_schedule as ensure_payout_run

    await ensure_payout_run(client, settings)
    poller = asyncio.create_task(run_poller(deps.sessionmaker, settings))
    # Workflows whose records were committed while Temporal was unreachable start from here.
    from backroom.starts.service import Outbox

    starter = asyncio.create_task(Outbox(deps.sessionmaker, settings.task_queue).run_poller(client))
    # The audit sealer: links committed audit events into the hash chain every few seconds.
    from backroom.audit import sealer as audit_sealer

    sealing = None
    if settings.audit_seal_seconds > 0:
        sealing = asyncio.create_task(audit_sealer.run(deps.sessionmaker, every=settings.audit_seal_seconds))
    # Report rollups: rebuild the days writes marked dirty, build the days just closed.
    from backroom.reports import rollups

    refreshing = None
    if settings.rollup_refresh_seconds > 0:
        refreshing = asyncio.create_task(
            rollups.run(deps.sessionmaker, every=settings.rollup_refresh_seconds)
        )
    from backroom import heap

    heap.freeze()  # started: what is alive now lives as long as the process
    try:
        await worker.run()
    finally:
        if refreshing is not None:
            refreshing.cancel()
        poller.cancel()
        starter.cancel()
        if sealing is not None:
            sealing.cancel()
        await engine.dispose()
        for adapter in deps.extra.values():
            if hasattr(adapter, "close"):
                adapter.close()
        if local_stripe is not None:
            local_stripe.stop()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(run())
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    # temporalio may abort at interpreter exit (sdk-python#300); leave cleanly instead.
    os._exit(0)


if __name__ == "__main__":
    main()
