"""Record ids in request bodies and forms: positive and inside a 64-bit column, so a wild value
is refused as bad input before it can reach the database (api.params.Id does the same for paths)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**63 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
