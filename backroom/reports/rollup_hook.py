"""Installs the flush and commit hooks that mark rollup days dirty in the writing transaction itself
(backroom/reports/rollups.py). Imported with the models, so every process that writes has it."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session


@event.listens_for(Session, "after_flush")
def _mark_rollup_days(session: Session, flush_context) -> None:
    from backroom.reports import rollups

    rollups.on_flush(session)


@event.listens_for(Session, "before_commit")
def _write_rollup_marks(session: Session) -> None:
    from backroom.reports import rollups

    rollups.on_commit(session)


@event.listens_for(Session, "after_commit")
def _keep_zones(session: Session) -> None:
    from backroom.reports import rollups

    rollups.keep_zones(session)


# Only the outer transaction's end forgets the marks: a savepoint's rollback leaves the marks of
# writes before it (and a mark for a write rolled back only costs the refresher a day's
# rebuild). Any rollback forgets the branch zones read (one may be a branch rolled back).
@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous) -> None:
    from backroom.reports import rollups

    rollups.forget_zones(session)
    if previous.parent is None:
        _forget(session)


@event.listens_for(Session, "after_begin")
def _forget_before_start(session: Session, transaction, connection) -> None:
    if transaction.parent is None:
        _forget(session)


def _forget(session: Session) -> None:
    from backroom.reports import rollups

    rollups.forget(session)
    rollups.forget_zones(session)
