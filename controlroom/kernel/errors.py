"""Errors every service call may raise. Messages are written for the operator, not the developer."""
from __future__ import annotations

import re

# Messages often quote what the operator (or a caller) gave; what they gave may be a NUL, a
# right-to-left override, a 100 kB paste or a Python object. None of that belongs in a dialog.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_OBJECT_REPR = re.compile(r"<([\w.]+) object at 0x[0-9a-fA-F]+>")
MAX_MESSAGE = 1000


def readable(message: object) -> str:
    """The message with control characters, object reprs and runaway length removed."""
    text = _OBJECT_REPR.sub(lambda m: f"({m.group(1).rsplit('.', 1)[-1]})", str(message))
    text = _UNPRINTABLE.sub("?", text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"


class ControlRoomError(Exception):
    """Base of every error a service call raises on purpose; `str(err)` is shown to the operator."""

    def __init__(self, message: str, **details: object) -> None:
        message = readable(message)
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class NotPermitted(ControlRoomError):
    """The signed-in user's role may not do this (the refusal itself is audited)."""


class Conflict(ControlRoomError):
    """Someone else got there first: stale version, unit already assigned, talk group taken."""


class InvalidInput(ControlRoomError):
    """The operator's input is not acceptable; nothing was written."""

    def __init__(self, message: str, *, field: str | None = None, **details: object) -> None:
        super().__init__(message, **details)
        self.field = field


class Unavailable(ControlRoomError):
    """The database cannot be reached; nothing was written and the operator's input is kept."""


class WrongDatabase(ControlRoomError):
    """A live console pointed at a training database, or the other way round."""
