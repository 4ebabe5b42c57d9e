from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import PUBLIC, get_session

router = APIRouter()


@router.get("/healthz", dependencies=[PUBLIC])
async def health(session: AsyncSession = Depends(get_session)) -> dict:
    """Liveness plus a database round trip."""
    await session.execute(text("SELECT 1"))
    return {"status": "ok"}
