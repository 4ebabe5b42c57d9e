"""create_app(): the FastAPI application serving the JSON API, staff UI and storefront."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

import api.routes
import api.ui
from api import docs, errors, openapi
from api.limits import BodyLimit
from api.once import OneTimeSubmissions
from api.security import SecurityHeaders
from api.templating import make_templates
from backroom import heap, temporal
from backroom.audit import sealer as audit_sealer
from backroom.auth.principal_cache import PrincipalCache
from backroom.db.session import Sessionmaker, make_engine, make_sessionmaker, point_reads
from backroom.errors import WorkflowServiceUnavailable
from backroom.plugins import submodules
from backroom.settings import Settings, get_settings
from backroom.starts.service import Outbox
from policies import load_enforcer

HERE = Path(__file__).resolve().parent


class TemporalHandle:
    """Connects on first use, so the web app can start before the Temporal server is up."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        """The shared client; raises WorkflowServiceUnavailable (503) rather than hang a request."""
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await temporal.connect(
                            self._settings, retries=2, retry_config=temporal.REQUEST_RETRY
                        )
                    except RuntimeError as exc:
                        raise WorkflowServiceUnavailable() from exc
        return self._client


def create_app(
    settings: Settings | None = None,
    *,
    sessionmaker: Sessionmaker | None = None,
    read_sessionmaker: Sessionmaker | None = None,
    temporal_client: Client | None = None,
) -> FastAPI:
    """Build the app. Tests pass their own sessionmaker and Temporal client."""
    settings = settings or get_settings()
    engine = None
    if sessionmaker is None:
        engine = make_engine(settings.db_url)
        sessionmaker = make_sessionmaker(engine)
        read_sessionmaker = make_sessionmaker(engine, readonly=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # The audit sealer runs in the web app as in the worker: one holds its lock at a time.
        sealer = None
        if settings.audit_seal_seconds > 0:
            sealer = asyncio.create_task(audit_sealer.run(sessionmaker, every=settings.audit_seal_seconds))
        heap.freeze()  # started: what is alive now lives as long as the process
        yield
        await app.state.outbox.drain()
        if sealer is not None:
            sealer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sealer
        if engine is not None:
            await engine.dispose()

    app = FastAPI(
        title="Backroom",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # api/docs.py serves both documentation pages without a CDN
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.sessionmaker = sessionmaker
    app.state.read_sessionmaker = read_sessionmaker or sessionmaker
    app.state.point_reads = point_reads(sessionmaker)  # the caller's read on a write request
    app.state.enforcer = load_enforcer()
    app.state.principals = PrincipalCache()
    app.state.temporal = TemporalHandle(settings, temporal_client)
    app.state.outbox = Outbox(sessionmaker, settings.task_queue)
    app.state.templates = make_templates()
    nav = []
    for module in submodules(api.routes) + submodules(api.ui):
        if hasattr(module, "router"):
            app.include_router(module.router)
        nav.extend(getattr(module, "NAV", ()))
    app.state.templates.env.globals["nav"] = sorted(nav, key=lambda n: n[3])
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    docs.install(app, spec_url=app.openapi_url)
    errors.install(app)
    openapi.install(app)
    app.add_middleware(OneTimeSubmissions)  # inside BodyLimit: reads only bounded bodies
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, upload_limit=settings.attachment_max_bytes)
    app.add_middleware(SecurityHeaders)
    return app
