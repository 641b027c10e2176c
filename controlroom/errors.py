"""Errors every service call may raise. Messages are written for the operator, not the developer."""
from __future__ import annotations


class ControlRoomError(Exception):
    """Base of every error a service call raises on purpose; `str(err)` is shown to the operator."""

    def __init__(self, message: str, **details: object) -> None:
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
