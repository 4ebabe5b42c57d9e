"""Activities about the worker itself (a liveness probe that touches the database)."""

from __future__ import annotations

from sqlalchemy import text
from temporalio import activity

from activities.deps import Deps
from backroom.db.session import read_only


class SystemActivities:
    def __init__(self, deps: Deps) -> None:
        self._sessionmaker = deps.sessionmaker
        self._reader = read_only(self._sessionmaker)  # reads take no write transaction

    @activity.defn(name="system.ping")
    async def ping(self) -> str:
        """Answer "pong" after a database round trip. Idempotent (reads only)."""
        async with self._reader() as session:
            await session.execute(text("SELECT 1"))
        return "pong"


def build(deps: Deps) -> list:
    # Also keeps the worker startable before any domain registers work: Temporal refuses a
    # worker with nothing on it.
    return [SystemActivities(deps).ping]
