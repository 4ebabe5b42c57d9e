"""Who is acting: carried from the edge (request or activity) into services."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The author of a write: a signed-in user, a workflow (through an activity), or the system."""

    type: str  # user | workflow | system
    id: str
    name: str | None = None
    user_id: int | None = None
    request_id: str | None = None
    workflow_id: str | None = None
    shift_id: int | None = None

    @classmethod
    def user(
        cls, user_id: int, name: str, *, request_id: str | None = None, shift_id: int | None = None
    ) -> Actor:
        return cls("user", str(user_id), name, user_id=user_id, request_id=request_id, shift_id=shift_id)

    @classmethod
    def workflow(cls, workflow_id: str, *, on_behalf_of: int | None = None, name: str | None = None) -> Actor:
        return cls(
            "workflow",
            workflow_id,
            name or automatic(workflow_id),
            user_id=on_behalf_of,
            workflow_id=workflow_id,
        )

    @classmethod
    def system(cls, what: str = "system") -> Actor:
        return cls("system", what, what)


def automatic(workflow_id: str) -> str:
    """A workflow's own step as people read it: "order-1038" -> "Automatic (order)" (the id stays
    in the event's actor_id and workflow_id)."""
    process = workflow_id.rstrip("0123456789").rstrip("-").replace("-", " ")
    return f"Automatic ({process})" if process else "Automatic"
