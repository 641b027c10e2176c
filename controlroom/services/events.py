"""`session.events`: subscribe to the virtual room's event stream (one listener per console)."""
from __future__ import annotations

from typing import Callable

from ..db.listener import Callback, Event, EventListener, StateCallback

__all__ = ["Event", "EventService"]


class EventService:
    def __init__(self, url: str, *, last_seen: int) -> None:
        self.listener = EventListener(url, last_seen=last_seen)

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call `callback(Event)` for every event from now on, in commit order, on the listener
        thread (the UI bridges to its own thread). Returns an unsubscribe function."""
        unsubscribe = self.listener.subscribe(callback)
        self.listener.start()
        return unsubscribe

    def on_connection_state(self, callback: StateCallback) -> Callable[[], None]:
        return self.listener.on_state(callback)

    def start(self) -> None:
        self.listener.start()

    @property
    def connected(self) -> bool:
        return self.listener.connected

    @property
    def server(self) -> str | None:
        """host:port of the database member the listener is connected to."""
        return self.listener.server

    @property
    def alive(self) -> bool:
        """Watchdog: the listener thread is running and its loop is turning."""
        return self.listener.alive

    @property
    def last_seen(self) -> int | None:
        return self.listener.last_seen

    def close(self) -> None:
        self.listener.stop()
