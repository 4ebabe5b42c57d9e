"""Path and query parameter types shared by routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Path
from pydantic import Field
from starlette.convertors import Convertor, register_url_convertor

# A record id: positive and inside a 64-bit column, so a wild value is a 422, never a
# database overflow.
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


class _IdConvertor(Convertor[int]):
    """`{customer_id:id}` in a route's path: only a whole number (signed, so -1 and 0 reach the
    `Id` check and are refused in words) takes the place of an id. A fixed path beside it
    (`/customers/duplicates`, `/vendor-payouts/runs`) then never matches the id route, so
    another method there is a 405 with the right `Allow`, not the id route's 422."""

    regex = "-?[0-9]+"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


register_url_convertor("id", _IdConvertor())

# A record id inside a list (query `?branch=1&branch=2`): bounded the same way.
ItemId = Annotated[int, Field(ge=1, le=2**63 - 1)]

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
