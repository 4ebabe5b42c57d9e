from __future__ import annotations

from backroom.errors import Conflict


class SegmentNameTaken(Conflict):
    code, title = "segment_name_taken", "A segment with this name exists"
