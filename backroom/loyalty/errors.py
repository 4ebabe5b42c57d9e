from __future__ import annotations

from backroom.errors import Conflict, Refused


class NotEnoughPoints(Refused):
    code, title = "not_enough_points", "Not enough points"


class NotAMember(Conflict):
    code, title = "not_a_member", "Not a loyalty member"


class ProgramNotActive(Conflict):
    code, title = "program_not_active", "The loyalty program is not active"


class ReasonRequired(Refused):
    code, title = "reason_required", "A reason is required"
