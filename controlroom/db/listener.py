"""One listener per console: LISTEN on its own connection, deliver events in seq order, catch up."""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import psycopg

from .engine import CONNECT_KW, first_value, secure_conninfo

log = logging.getLogger(__name__)

CHANNEL = "controlroom"
# What cr_event_row sends: json_build_object('seq', n)::text. Anything else was not sent by the
# database's own event path (anyone with a login can NOTIFY): logged, never read.
_WAKE = re.compile(r'\{"seq" ?: ?(\d{1,19})\}')
ABSURD_JUMP = 10_000_000
MAX_SEQ_SQL = "SELECT coalesce(max(seq), 0) FROM events"
CATCH_UP_SQL = ("SELECT seq, kind, entity_id, room_code, payload, at, console_id, username FROM events "
                "WHERE seq > %s ORDER BY seq LIMIT 5000")


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    entity_id: str | None
    room_code: str | None
    payload: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None
    console_id: str | None = None
    username: str | None = None


Callback = Callable[[Event], None]
StateCallback = Callable[[bool], None]


class EventListener:
    """Background thread: wakes on NOTIFY, delivers events strictly in seq order, none skipped.

    cr_emit() allocates seq under a row lock held to COMMIT (table `event_head`), so commit order
    is seq order with no gaps. A NOTIFY only wakes the listener, which then reads every committed
    event after the last one it delivered (one batched read), whatever the notification said.
    """

    def __init__(self, url: str, *, last_seen: int | None = None, heartbeat_s: float = 1.0) -> None:
        self.url = secure_conninfo(url)
        self.last_seen = last_seen
        self.heartbeat_s = heartbeat_s
        self._callbacks: list[Callback] = []
        self._state_callbacks: list[StateCallback] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = False
        self.backend_pid: int | None = None
        self.server: str | None = None
        self.reconnects = 0
        self.beat = time.monotonic()  # last sign of life of the loop (the console's watchdog)
        self.ignored_notifications = 0

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        with self._lock:
            self._callbacks.append(callback)
        return lambda: self._remove(self._callbacks, callback)

    def on_state(self, callback: StateCallback) -> Callable[[], None]:
        with self._lock:
            self._state_callbacks.append(callback)
        return lambda: self._remove(self._state_callbacks, callback)

    def _remove(self, lst: list[Any], cb: object) -> None:
        with self._lock:
            if cb in lst:
                lst.remove(cb)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="controlroom-events", daemon=True)
            self._thread.start()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.connected

    @property
    def alive(self) -> bool:
        """The watchdog's question: is the listener thread running and its loop turning? (A
        thread that died or hangs leaves `connected` as it was; this says so.)"""
        t = self._thread
        return (t is not None and t.is_alive()
                and time.monotonic() - self.beat < max(10.0, 5 * self.heartbeat_s))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- the loop ------------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, **CONNECT_KW) as conn:
                    self._serve(conn)
                    backoff = 0.2
            except (psycopg.Error, OSError) as exc:
                log.info("event listener disconnected: %s", str(exc).splitlines()[0] if str(exc) else exc)
            except Exception:  # never die: anything unexpected costs a reconnect, not the listener
                log.exception("event listener failed; reconnecting")
            self._set_state(False)
            if self._stop.wait(backoff):
                break
            backoff = min(backoff * 2, 2.0)
            self.reconnects += 1

    def _serve(self, conn: psycopg.Connection) -> None:
        conn.execute(f"LISTEN {CHANNEL}")
        self.backend_pid = conn.info.backend_pid
        self.server = f"{conn.info.host}:{conn.info.port}"  # which member (after a failover: the new leader)
        if self.last_seen is None:  # a new console starts from now, not from the dawn of time
            self.last_seen = first_value(conn.execute("SELECT coalesce(max(seq), 0) FROM events"))
        else:
            self._catch_up(conn)
        self._set_state(True)
        while not self._stop.is_set():
            # Take the notifications out of the generator before acting on them: psycopg holds
            # the connection lock while notifies() yields, so a gap-filling query inside its
            # loop would deadlock the listener (seen after a failover, whose sequence jumps).
            # A notification is only a wake-up: anyone with a login can NOTIFY this channel, so
            # its content is never read. The authoritative rows come from `events` (seq > last
            # seen, batched); seq is allocated under a row lock held to COMMIT, so it has no gaps
            # and commit order is seq order.
            woken = False
            self.beat = time.monotonic()
            for note in conn.notifies(timeout=self.heartbeat_s, stop_after=1):
                woken = True
                self._check_notification(note.payload)
            if woken:
                self._catch_up(conn)
                continue
            # idle: prove the connection is alive so an outage shows within seconds, and catch
            # up should a NOTIFY ever go missing - one index probe.
            top = first_value(conn.execute(MAX_SEQ_SQL))
            if self.last_seen is not None and top > self.last_seen:
                log.info("event listener: no NOTIFY for events after #%s; catching up", self.last_seen)
                self._catch_up(conn)

    def _check_notification(self, payload: str) -> None:
        """Log (rate-limited) a notification the database's event path did not send: malformed,
        or claiming a seq absurdly far ahead. It still only wakes us; its content is never used."""
        m = _WAKE.fullmatch(payload or "")
        if m and (self.last_seen is None or int(m.group(1)) <= self.last_seen + ABSURD_JUMP):
            return
        self.ignored_notifications += 1
        n = self.ignored_notifications
        if n <= 5 or n % 1000 == 0:
            log.warning("ignored a forged or malformed notification on %r (%d so far): %.80r",
                        CHANNEL, n, payload)

    def _catch_up(self, conn: psycopg.Connection) -> None:
        while True:
            rows = conn.execute(CATCH_UP_SQL, (self.last_seen,)).fetchall()
            for r in rows:
                self._deliver(_event_from_row(r))
            if len(rows) < 5000:
                return

    def _deliver(self, ev: Event) -> None:
        self.last_seen = ev.seq
        self.beat = time.monotonic()
        with self._lock:
            callbacks = list(self._callbacks)
        for cb in callbacks:
            try:
                cb(ev)
            except Exception:  # one bad subscriber must not stop the console's event path
                log.exception("event subscriber failed on %s #%s", ev.kind, ev.seq)

    def _set_state(self, connected: bool) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        with self._lock:
            callbacks = list(self._state_callbacks)
        for cb in callbacks:
            try:
                cb(connected)
            except Exception:
                log.exception("connection-state subscriber failed")


def _event_from_row(r: tuple[Any, ...]) -> Event:
    return Event(seq=r[0], kind=r[1], entity_id=r[2], room_code=r[3], payload=r[4] or {}, at=r[5],
                 console_id=r[6], username=r[7])
