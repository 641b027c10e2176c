"""Rooms: RoomService (service.py: areas changing hands, which rooms are staffed, the console
heartbeat), presence (presence.py: who has which incident open) and handoff integrity (handoff.py:
work held by a console that died goes back to the queue; the reconciliation list)."""
from .handoff import HandoffService
from .presence import PresenceService
from .service import RoomService

__all__ = ["HandoffService", "PresenceService", "RoomService"]
