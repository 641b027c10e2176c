"""Hands the session's listener-thread events to the GUI thread as Qt signals."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from controlroom.session import Session


class EventBridge(QObject):
    """`event(Event)` and `connectionChanged(bool)` fire on the GUI thread (queued connections)."""

    event = Signal(object)
    connectionChanged = Signal(bool)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.connected = session.events.connected
        # Emitting from the listener thread: Qt queues the call to receivers in the GUI thread.
        self._unsubscribe = session.events.subscribe(self.event.emit)
        self._unstate = session.events.on_connection_state(self._on_state)

    def _on_state(self, connected: bool) -> None:
        self.connected = connected
        self.connectionChanged.emit(connected)

    def close(self) -> None:
        self._unsubscribe()
        self._unstate()
