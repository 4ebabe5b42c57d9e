"""RFM scores: recency, frequency and monetary quintiles (5 = best) within each home branch,
recomputed nightly in ONE set-based statement per branch (NTILE window functions; SQLite has had
them since 3.25), so memory stays flat however many customers there are: the database
streams the rows, Python never holds them.

Recency counts days since the last spent order; customers who never ordered are not scored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.branches.models import Branch
from backroom.db.session import is_postgres

_SCORE = """
INSERT INTO customer_rfm (customer_id, branch_id, recency_days, frequency, monetary_minor, r, f, m, computed_at)
SELECT customer_id, :branch_id, recency_days, frequency, monetary_minor,
       NTILE(5) OVER (ORDER BY recency_days DESC, customer_id),
       NTILE(5) OVER (ORDER BY frequency, customer_id),
       NTILE(5) OVER (ORDER BY monetary_minor, customer_id),
       :now
FROM (
    SELECT o.customer_id AS customer_id,
           {days} AS recency_days,
           COUNT(*) AS frequency,
           SUM(o.total_minor) AS monetary_minor
    FROM orders o JOIN customers c ON c.id = o.customer_id
    WHERE c.home_branch_id = :branch_id AND c.status = 'active'
      AND o.status NOT IN ('cancelled', 'payment_failed', 'refunded')
    GROUP BY o.customer_id
) s
"""
_PG_DAYS = "CAST(EXTRACT(EPOCH FROM (CAST(:now AS timestamptz) - MAX(o.placed_at))) / 86400 AS INTEGER)"
_SQLITE_DAYS = "CAST(julianday(:now) - julianday(MAX(o.placed_at)) AS INTEGER)"


async def recompute_branch(session: AsyncSession, *, branch_id: int, now: datetime) -> int:
    """Replace one branch's scores. Idempotent (delete and insert in the caller's transaction)."""
    await session.execute(text("DELETE FROM customer_rfm WHERE branch_id = :b"), {"b": branch_id})
    sql = _SCORE.format(days=_PG_DAYS if is_postgres(session) else _SQLITE_DAYS)
    params = {"branch_id": branch_id, "now": now if is_postgres(session) else now.isoformat(sep=" ")}
    stmt = text(sql).bindparams(bindparam("now"), bindparam("branch_id"))
    result = await session.execute(stmt, params)
    return result.rowcount or 0


async def branch_ids(session: AsyncSession) -> list[int]:
    return list((await session.scalars(select(Branch.id).order_by(Branch.id))).all())
