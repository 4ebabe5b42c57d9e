"""Abandoned-cart refusals."""

from __future__ import annotations

from backroom.errors import InvalidInput


class LinkInvalid(InvalidInput):
    """A restore or unsubscribe link that was altered, cut short or is too old."""

    code, title = "link_invalid", "This link does not work"
