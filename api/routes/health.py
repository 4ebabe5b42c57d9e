"""Liveness for load balancers and the dev stack."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import PUBLIC, Session

router = APIRouter()


class Health(BaseModel):
    status: Literal["ok"] = "ok"


@router.get("/healthz", dependencies=[PUBLIC])
async def health(session: Session) -> Health:
    """Liveness plus a database round trip."""
    await session.execute(text("SELECT 1"))
    return Health()
