"""Presence: which incident each console has open, and whether its operator is typing in it.

Published through the one event path as `console.presence` (not audited: telemetry, not a
record) on every change and re-published every PUBLISH_EVERY_S while an incident is open, so a
console that dies simply stops refreshing and every tracker drops it after EXPIRE_AFTER_S. The
same kind carries issue 9's room-staffing beats ({"changed", "signed_out"}); a signed-out console
is dropped at once. Each publish also stamps `consoles.last_seen`, so an operator working an
incident keeps the room staffed between the rooms service's own heartbeats.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ...kernel.errors import ControlRoomError
from ..base import ServiceContext
from ..validate import int_id

log = logging.getLogger(__name__)

PUBLISH_EVERY_S = 2.0   # refresh while an incident is open (and the throttle for repeats)
EXPIRE_AFTER_S = 6.0    # three missed refreshes: the console is gone


@dataclass(frozen=True)
class PresenceEntry:
    console_id: str
    username: str
    display_name: str
    room: Optional[str]
    incident_id: int
    typing: bool
    last_seen: float  # tracker clock (monotonic), when the last refresh arrived

    def describe(self) -> str:
        """'N-07 (despatch.north), typing…'"""
        return f"{self.console_id} ({self.username})" + (", typing…" if self.typing else "")


def describe_others(entries: list[PresenceEntry]) -> str:
    """'Also open at N-07 (despatch.north), typing…; S-03 (despatch.south)' or ''."""
    return ("Also open at " + "; ".join(e.describe() for e in entries)) if entries else ""


class PresenceTracker:
    """console -> (incident, typing, last seen), fed from events; pure Python, thread-safe."""

    def __init__(self, *, own_console: str | None = None, expire_after_s: float = EXPIRE_AFTER_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.own_console = own_console
        self.expire_after_s = expire_after_s
        self.clock = clock
        self._entries: dict[str, PresenceEntry] = {}
        self._lock = threading.Lock()

    def on_event(self, ev: Any) -> None:
        if ev.kind != "console.presence" or not isinstance(ev.payload, dict):
            return
        p = ev.payload
        cid = p.get("console_id") or ev.console_id
        if not cid:
            return
        with self._lock:
            if p.get("signed_out") or ("incident_id" in p and p["incident_id"] is None):
                self._entries.pop(cid, None)
            elif "incident_id" in p:
                self._entries[cid] = PresenceEntry(
                    console_id=cid, username=p.get("username") or ev.username or "",
                    display_name=p.get("display_name") or "", room=p.get("room"),
                    incident_id=int(p["incident_id"]), typing=bool(p.get("typing")), last_seen=self.clock())

    def entries(self) -> list[PresenceEntry]:
        """Every console with an incident open now (expired ones dropped)."""
        now = self.clock()
        with self._lock:
            for cid in [c for c, e in self._entries.items() if now - e.last_seen > self.expire_after_s]:
                del self._entries[cid]
            return sorted(self._entries.values(), key=lambda e: e.console_id)

    def others_on(self, incident_id: int) -> list[PresenceEntry]:
        """Other consoles that have this incident open."""
        return [e for e in self.entries() if e.incident_id == incident_id and e.console_id != self.own_console]

    def by_incident(self) -> dict[int, list[PresenceEntry]]:
        out: dict[int, list[PresenceEntry]] = {}
        for e in self.entries():
            if e.console_id != self.own_console:
                out.setdefault(e.incident_id, []).append(e)
        return out


class PresenceService:
    """`session.presence`: publish what this console has open; `tracker` knows the others."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.tracker = PresenceTracker(own_console=ctx.actor.console_id)
        self.publish_every_s = PUBLISH_EVERY_S
        self._state: tuple[Optional[int], bool] = (None, False)
        self._last_publish = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def on_event(self, ev: Any) -> None:
        """Subscribed by the session: every console.presence event feeds the tracker."""
        self.tracker.on_event(ev)

    def others_on(self, incident_id: int) -> list[PresenceEntry]:
        return self.tracker.others_on(incident_id)

    @property
    def current(self) -> tuple[Optional[int], bool]:
        return self._state

    def open_incident(self, incident_id: int | None, *, typing: bool = False) -> bool:
        """Say which incident this console shows (None: none) and whether the operator types in
        it. Published on change, otherwise at most every ~2 s; returns whether it was sent."""
        new = (None if incident_id is None else int_id(incident_id), bool(typing) and incident_id is not None)
        with self._lock:
            due = time.monotonic() - self._last_publish >= self.publish_every_s
            if new == self._state and not due:
                return False
            self._state = new
        sent = self._publish()
        if new[0] is not None:
            self._start()
        return sent

    def _publish(self) -> bool:
        incident_id, typing = self._state
        try:
            with self.ctx.single() as tx:  # one call: stamps last_seen and publishes (not audited)
                tx.call("api.console_presence", incident_id=incident_id, typing=typing)
        except ControlRoomError as exc:  # presence is best effort: the DB being down shows elsewhere
            log.debug("presence not published: %s", exc)
            return False
        with self._lock:
            self._last_publish = time.monotonic()
        return True

    def _start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="controlroom-presence", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.publish_every_s / 2):
            with self._lock:
                due = (self._state[0] is not None
                       and time.monotonic() - self._last_publish >= self.publish_every_s)
            if due:
                self._publish()

    def shutdown(self) -> None:
        """Stop refreshing and withdraw at once (Session.close calls this)."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout=5)
        if self._state[0] is not None:
            self._state = (None, False)
            self._publish()
