"""Cells for files people open in a spreadsheet (CSV, XLSX): text a spreadsheet would run as a
formula (=, +, -, @ and the tab/return tricks, OWASP "CSV injection") is made plain text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """Neutralise text a spreadsheet would evaluate: a leading ' makes it plain text."""
    return "'" + value if value.startswith(FORMULA_START) else value


def safe_cell(value: Any) -> Any:
    """A cell value with text neutralised; numbers and empty cells unchanged."""
    return safe_text(value) if isinstance(value, str) else value


def csv_line(cells: Iterable[Any]) -> str:
    """One CSV line (with its line end) of neutralised cells."""
    buf = io.StringIO()
    csv.writer(buf).writerow([safe_cell(c) for c in cells])
    return buf.getvalue()
