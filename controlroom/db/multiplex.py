"""One LISTEN connection per process, fanned out to many console subscriptions.

A console normally owns one `EventListener` (one connection, one thread). Where many consoles
live in one process - a wallboard server, a gateway for thin clients, the scale benchmark's 400
consoles in 4 processes - that would be one database backend per console. `SharedListener`
keeps ONE listener per database URL per process and hands every event to every subscriber, in
seq order, with the same catch-up guarantees (it is the same EventListener underneath).
Subscribers run on the listener thread, so they must be quick (queue work elsewhere).
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

from .listener import Callback, Event, EventListener

__all__ = ["SharedListener", "Event"]

log = logging.getLogger(__name__)

_registry: dict[str, "SharedListener"] = {}
_registry_lock = threading.Lock()


class SharedListener:
    """Reference-counted per URL: `SharedListener.acquire(url)` ... `release()`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.listener = EventListener(url)
        self._refs = 0
        self._subs: dict[int, Callback] = {}
        self._lock = threading.Lock()
        self._next_id = 0
        self.listener.subscribe(self._fan_out)

    @classmethod
    def acquire(cls, url: str) -> "SharedListener":
        with _registry_lock:
            shared = _registry.get(url)
            if shared is None:
                shared = _registry[url] = cls(url)
                shared.listener.start()
            shared._refs += 1
            return shared

    def release(self) -> None:
        """Drop one reference; the connection closes with the last one."""
        with _registry_lock:
            self._refs -= 1
            if self._refs > 0:
                return
            _registry.pop(self.url, None)
        self.listener.stop()

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Deliver every event from now on to `callback`; returns an unsubscribe function."""
        with self._lock:
            key = self._next_id
            self._next_id += 1
            self._subs[key] = callback
        return lambda: self._drop(key)

    def _drop(self, key: int) -> None:
        with self._lock:
            self._subs.pop(key, None)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self.listener.wait_connected(timeout)

    def _fan_out(self, ev: Event) -> None:
        with self._lock:
            subs = list(self._subs.values())
        for cb in subs:
            try:
                cb(ev)
            except Exception:  # one console's bug must not starve the other consoles
                log.exception("shared-listener subscriber failed on #%s", ev.seq)
