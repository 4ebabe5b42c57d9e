from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import PUBLIC, Session

router = APIRouter()


@router.get("/healthz", dependencies=[PUBLIC])
async def health(session: Session) -> dict:
    """Liveness plus a database round trip."""
    await session.execute(text("SELECT 1"))
    return {"status": "ok"}
