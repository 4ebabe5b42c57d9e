"""Installs the flush hook that marks rollup days dirty in the writing transaction itself
(backroom/reports/rollups.py). Imported with the models, so every process that writes has it."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session


@event.listens_for(Session, "after_flush")
def _mark_rollup_days(session: Session, flush_context) -> None:
    from backroom.reports import rollups

    rollups.on_flush(session)
