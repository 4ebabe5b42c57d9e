"""Analytics as a PDF: the page's HTML (with its inline SVG charts) through WeasyPrint, and the
audit event of the export."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit import service as audit
from backroom.audit.context import Actor


def render(html: str) -> bytes:
    """A4 PDF of the HTML. Blocks for tens of milliseconds: call it through asyncio.to_thread."""
    from weasyprint import HTML  # late: WeasyPrint loads Pango and fonts at import

    return HTML(string=html).write_pdf()


async def record_export(
    session: AsyncSession, *, actor: Actor, module: str, measure: str, query: str
) -> None:
    """Who exported which analytics, with the filters (not idempotent: one event per download)."""
    await audit.record(
        session,
        actor=actor,
        action="analytics.export",
        entity_type="analytics",
        entity_id=f"{module}:{measure}",
        after={"format": "pdf", "query": query[:500]},
    )
