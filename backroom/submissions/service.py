"""One-time submission keys of forms (double click, back + resubmit): the first arrival claims
the key in its own short transaction; a repeat finds the first one's result page."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from backroom.db.base import utcnow
from backroom.db.session import Sessionmaker
from backroom.submissions.models import FormSubmission

KEEP = timedelta(days=2)  # longer than anyone keeps a form open and then presses Back
# Back on a page that is never cached (Cache-Control: no-store) loads the form anew, with a new
# key; the same person sending the same fields to the same place this soon is the same form.
SAME_CONTENT = timedelta(minutes=2)
CONTENT = "same:"  # prefix of the keys that stand for a submission's content


async def claim(sessionmaker: Sessionmaker, *keys: str) -> str | None:
    """Claim every one of `keys` (the form's key, its content's) for this submission. Returns
    None for the first arrival, or the key a repeat collided with. Committed at once, so a
    concurrent repeat sees it. Forgets claims older than KEEP (content claims: SAME_CONTENT)."""
    now = utcnow()
    async with sessionmaker.begin() as session:
        await session.execute(delete(FormSubmission).where(FormSubmission.claimed_at < now - KEEP))
        await session.execute(
            delete(FormSubmission).where(
                FormSubmission.key.startswith(CONTENT), FormSubmission.claimed_at < now - SAME_CONTENT
            )
        )
    for i, key in enumerate(keys):
        try:
            async with sessionmaker.begin() as session:
                await session.execute(insert(FormSubmission).values(key=key, claimed_at=now))
        except IntegrityError:
            for taken in keys[:i]:
                await release(sessionmaker, taken)
            return key
    return None


async def finish(sessionmaker: Sessionmaker, keys: tuple[str, ...], result_url: str) -> None:
    """Record where the first submission led. Idempotent."""
    async with sessionmaker.begin() as session:
        await session.execute(
            update(FormSubmission).where(FormSubmission.key.in_(keys)).values(result_url=result_url)
        )


async def release(sessionmaker: Sessionmaker, *keys: str) -> None:
    """The submission did not go through (refused, invalid): the keys may be used again. Idempotent."""
    async with sessionmaker.begin() as session:
        await session.execute(delete(FormSubmission).where(FormSubmission.key.in_(keys)))


async def first_result(sessionmaker: Sessionmaker, key: str, *, wait_seconds: float = 30) -> str | None:
    """The first submission's result page, waiting while it is still being processed (a double
    click arrives while the first is at work). None if it did not go through. Read-only."""
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        async with sessionmaker() as session:
            row = (
                await session.execute(select(FormSubmission.result_url).where(FormSubmission.key == key))
            ).first()
        if row is None or row[0] is not None or asyncio.get_running_loop().time() >= deadline:
            return row[0] if row else None
        await asyncio.sleep(0.05)
