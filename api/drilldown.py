"""The drilldown filters every dashboard widget and analytics view takes (branch, user/cashier,
shift, category), parsed once for API routes and pages alike and kept in the URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query


@dataclass
class Drill:
    branch: list[int] | None
    user: int | None
    shift: int | None
    category: str | None

    def query(self, **extra) -> str:
        """The filters (and `extra`) as a query string, for links that keep them."""
        params = {
            "branch": self.branch or [],
            "user": self.user,
            "shift": self.shift,
            "category": self.category,
            **extra,
        }
        return urlencode({k: v for k, v in params.items() if v not in (None, "", [])}, doseq=True)

    @property
    def shift_ids(self) -> list[int] | None:
        return [self.shift] if self.shift else None


def drill(
    branch: Annotated[list[int] | None, Query(description="Branch id(s); none: all yours")] = None,
    user: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Staff member (cashier)")] = None,
    shift: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="Shift / session")] = None,
    category: Annotated[str | None, Query(max_length=100, description="Product category")] = None,
) -> Drill:
    return Drill([b for b in branch or [] if b > 0] or None, user, shift, (category or "").strip() or None)
