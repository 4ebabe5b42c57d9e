"""Complaint errors (stable codes)."""

from backroom.errors import Conflict, InvalidInput


class ComplaintStateError(Conflict):
    code = "complaint_state"


class AttachmentRejected(InvalidInput):
    code = "attachment_rejected"
