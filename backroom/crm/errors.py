"""CRM errors (stable codes)."""

from backroom.errors import Conflict


class TaskAlreadyDone(Conflict):
    code = "task_already_done"
