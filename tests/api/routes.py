"""Walk every route create_app() registers, with the permission each declares."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI

# FastAPI's own pages (the API docs) and the static mount are not Backroom routes.
# A value each converter takes, for a route's example URL (ids take the dummy).
CONVERTED = {"promotion_action": "activate"}

FRAMEWORK_PATHS = {
    "/api/docs",
    "/api/redoc",
    "/api/docs-assets",
    "/api/openapi.json",
    "/docs/oauth2-redirect",
    "/static",
}


@dataclass
class RouteInfo:
    path: str
    method: str
    permissions: set[tuple[str, str]]
    public: bool
    route: object
    raw: str = ""  # the path as routed, with its converters ("{action:promotion_action}")

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    def url(self, dummy: str = "1") -> str:
        """The path with `dummy` for each parameter (a word its converter takes where it has one,
        e.g. a promotion's action)."""
        return re.sub(
            r"\{[^}/:]+(?::(\w+))?\}", lambda m: CONVERTED.get(m.group(1) or "", dummy), self.raw or self.path
        )

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _walk(dependant, perms: set, public: list) -> None:
    for dep in dependant.dependencies:
        call = getattr(dep, "call", None)
        if getattr(call, "permission", None):
            perms.add(call.permission)
        if getattr(call, "is_public", False):
            public.append(True)
        _walk(dep, perms, public)


def _flat_routes(app: FastAPI) -> list:
    try:  # FastAPI >= 0.16x keeps included routers nested; this flattens them.
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def app_routes(app: FastAPI) -> list[RouteInfo]:
    """Every (method, path) of the app that is not a framework route."""
    out = []
    for route in _flat_routes(app):
        path = getattr(route, "path", None)
        if path in FRAMEWORK_PATHS:
            continue
        # "{customer_id:id}" (a parameter the router converts) is "{customer_id}" to the tests
        raw, path = path, re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
        dependant = getattr(route, "dependant", None)
        assert dependant is not None, f"unexpected non-FastAPI route {path!r}: {route!r}"
        perms: set = set()
        public: list = []
        _walk(dependant, perms, public)
        for method in sorted(set(route.methods) - {"HEAD", "OPTIONS"}):
            out.append(RouteInfo(path, method, perms, bool(public), route, raw))
    return out
