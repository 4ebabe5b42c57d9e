import os
from pathlib import Path

import pytest

from tests.commerce_support import commerce_settings, localstripe  # noqa: F401  (fixtures)

HISTORIES = Path(__file__).parent / "histories"


@pytest.fixture
def save_history():
    """`await save_history(handle, "name")` writes histories/name.json, replayed by test_replay.py,
    when BACKROOM_SAVE_HISTORIES=1 (refresh the fixtures on purpose only); otherwise does nothing."""

    async def save(handle, name: str) -> None:
        if os.environ.get("BACKROOM_SAVE_HISTORIES") == "1":
            (HISTORIES / f"{name}.json").write_text((await handle.fetch_history()).to_json())

    return save
