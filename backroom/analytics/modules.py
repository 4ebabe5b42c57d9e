"""The two modules' dashboards and analytics packs: which catalog functions and measures each
shows. Everything else is read from the catalog."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kpi:
    function: str
    measure: str
    link: str  # the records behind the number (a list page of the function)


@dataclass(frozen=True)
class Module:
    key: str
    label: str
    functions: tuple[str, ...]
    kpis: tuple[Kpi, ...]
    roles: tuple[str, ...]  # roles whose home page opens this dashboard
    default_measure: tuple[str, str]


MODULES = {
    m.key: m
    for m in (
        Module(
            "custops",
            "Customer Operations",
            ("customers", "credit", "complaints", "crm"),
            (
                Kpi("complaints", "logged", "/complaints"),
                Kpi("complaints", "resolved", "/complaints"),
                Kpi("crm", "interactions", "/customers"),
                Kpi("credit", "sales", "/customers"),
                Kpi("customers", "created", "/customers"),
            ),
            ("agent", "supervisor", "finance"),
            ("complaints", "logged"),
        ),
        Module(
            "commerce",
            "E-commerce",
            ("orders", "payments", "shipping", "carts"),
            (
                Kpi("orders", "placed", "/orders"),
                Kpi("orders", "value", "/orders"),
                Kpi("payments", "captured", "/orders"),
                Kpi("shipping", "shipped", "/warehouse"),
                Kpi("carts", "conversion", "/orders"),
            ),
            ("clerk", "warehouse", "vendor", "manager", "admin", "auditor"),
            ("orders", "placed"),
        ),
    )
}
# URL slugs of the dashboards (/dashboard/customer-ops, /dashboard/commerce).
SLUGS = {"customer-ops": "custops", "commerce": "commerce"}
PATHS = {v: k for k, v in SLUGS.items()}


def module(key: str) -> Module:
    from backroom.errors import NotFound

    key = SLUGS.get(key, key)
    if key not in MODULES:
        raise NotFound(f"There is no module {key!r}; choose customer-ops or commerce.")
    return MODULES[key]


def module_for_roles(roles: set[str]) -> Module:
    """The dashboard a user's home page opens: customer operations for agents, supervisors and
    finance staff (unless they also hold a commerce role), e-commerce otherwise."""
    custops = MODULES["custops"]
    if roles & set(custops.roles) and not roles & {"clerk", "warehouse", "vendor"}:
        return custops
    return MODULES["commerce"]
