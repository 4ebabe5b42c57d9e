"""Single activities under temporalio's ActivityEnvironment (no worker, no server), on a real
SQLite database. A domain refusal surfaces here as the AppError itself: the worker interceptor
(worker/errors.py, tested in test_error_rule.py) is what turns it into a final failure."""

from __future__ import annotations

import dataclasses

import pytest
from temporalio.testing import ActivityEnvironment

from activities.deps import Deps
from tests.commerce_support import commerce_settings, localstripe  # noqa: F401  (fixtures)
from tests.helpers import uniq


@pytest.fixture
def act_env() -> ActivityEnvironment:
    """An activity context whose workflow id is fresh (activities key their writes on it)."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=uniq("wf-"), activity_type="test")
    return env


@pytest.fixture
def deps(sqlite_db, settings) -> Deps:
    return Deps(settings=settings, sessionmaker=sqlite_db.sessionmaker)
