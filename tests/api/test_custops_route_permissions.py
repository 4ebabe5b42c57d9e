"""Every customer-operations route declares its permission (require(...)), none is public."""

from fastapi.routing import APIRoute

from api.app import create_app
from backroom.settings import Settings

MODULES = (
    "api.routes.complaints",
    "api.routes.crm",
    "api.routes.credit_accounts",
    "api.routes.customer_ops",
    "api.routes.mailbox",
    "api.ui.complaints",
    "api.ui.crm",
    "api.ui.credit_accounts",
)


def _permissions(dependant) -> list:
    found = []
    for dep in dependant.dependencies:
        if hasattr(dep.call, "permission"):
            found.append(dep.call.permission)
        if getattr(dep.call, "is_public", False):
            found.append("PUBLIC")
        found.extend(_permissions(dep))
    return found


def _routes(app):
    stack = list(app.router.routes)
    while stack:
        r = stack.pop()
        if isinstance(r, APIRoute):
            yield r
        stack.extend(getattr(getattr(r, "original_router", None), "routes", []))


def test_each_route_requires_a_permission(tmp_path):
    app = create_app(Settings(BACKROOM_VAR=tmp_path, SECRET_KEY="x"))
    mine = [r for r in _routes(app) if r.endpoint.__module__ in MODULES]
    assert len(mine) >= 40
    missing = [
        f"{sorted(r.methods)} {r.path}"
        for r in mine
        if not [p for p in _permissions(r.dependant) if p != "PUBLIC"]
    ]
    assert missing == []
