"""Path and query parameter types shared by routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Path

# A record id: positive and inside a 64-bit column, so a wild value is a 422, never a
# database overflow.
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]

# A retried change carries the same key and is applied once (carts: the workflow de-duplicates).
# Typed `str` (default None at the route): the document then says "a string of 8-128", not
# "a string or null", which a header cannot carry.
ChangeKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        description="Send the same key when retrying a change; it is applied once.",
    ),
]
