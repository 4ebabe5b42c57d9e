"""Complaint errors (stable codes)."""

from backroom.errors import Conflict, Refused


class ComplaintStateError(Conflict):
    code = "complaint_state"


class AttachmentRejected(Refused):
    """An upload the rules refuse (empty, not PNG/JPEG/PDF/text, content not its type): 409."""

    code = "attachment_rejected"


class AttachmentTooLarge(AttachmentRejected):
    status = 413
