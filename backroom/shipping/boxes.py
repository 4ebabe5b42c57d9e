"""The box a parcel ships in, from the products packed in it. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable

# The standard box: used when no product in the parcel has its dimensions recorded, and as the
# least box when some do not (what they measure is unknown).
STANDARD_MM = (300, 200, 150)


def box_for(items: Iterable[tuple[int, int, int, int]]) -> tuple[int, int, int]:
    """(length, width, height) in mm for `items` = (qty, length, width, height) each: units are
    laid flat on their largest face and stacked, so the box is as long and wide as the largest
    unit and as high as the stack. Pure."""
    length = width = height = 0
    unknown = False
    for qty, *dims in items:
        if qty <= 0:
            continue
        if not all(dims):
            unknown = True
            continue
        a, b, c = sorted(dims, reverse=True)
        length, width, height = max(length, a), max(width, b), height + qty * c
    if not height:
        return STANDARD_MM
    if unknown:
        return tuple(max(x, s) for x, s in zip((length, width, height), STANDARD_MM, strict=True))
    return length, width, height
