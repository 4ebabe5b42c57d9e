"""The role × function × action matrix of policy.csv as a Markdown table, for the README.

`python -m policies.matrix` prints it; `--write` replaces the table in README.md between its
markers (a test fails when the two differ, so the README cannot drift from the policy).
Idempotent."""

from __future__ import annotations

import sys
from pathlib import Path

import policies

README = Path(policies.HERE).parent / "README.md"
START, END = "<!-- policy-matrix:start -->", "<!-- policy-matrix:end -->"
LETTERS = {
    "list": "l",
    "read": "r",
    "create": "c",
    "update": "u",
    "submit": "s",
    "post": "p",
    "approve": "a",
    "export": "e",
}


def table() -> str:
    """One row per function, one column per role; a cell lists the actions, one letter each."""
    perms = policies.role_permissions()
    lines = [
        "| function | " + " | ".join(policies.ROLES) + " |",
        "| --- |" + " --- |" * len(policies.ROLES),
    ]
    for function in policies.FUNCTIONS:
        cells = [
            "".join(LETTERS[a] for a in policies.ACTIONS if (function, a) in perms.get(role, ())) or "·"
            for role in policies.ROLES
        ]
        lines.append(f"| {function} | " + " | ".join(cells) + " |")
    legend = ", ".join(f"{letter} {action}" for action, letter in LETTERS.items())
    return "\n".join(lines) + f"\n\nActions: {legend}; · none."


def readme_table(text: str) -> str:
    """The table as the README has it now."""
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def write(path: Path = README) -> bool:
    """Put the current table into the README; True if it changed."""
    text = path.read_text()
    head, rest = text.split(START, 1)
    new = f"{head}{START}\n{table()}\n{END}{rest.split(END, 1)[1]}"
    if new != text:
        path.write_text(new)
    return new != text


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        print("README.md updated" if write() else "README.md already current")
    else:
        print(table())
