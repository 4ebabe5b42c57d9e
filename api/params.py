"""Path and query parameter types shared by routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

# A record id: positive and inside a 64-bit column, so a wild value is a 422, never a
# database overflow.
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
