"""The console's side of the alert queue (issue 20): what is open for this console, kept live
from the event log, the timer that observes escalations and welfare checks falling due, sound.

`AlertStore` loads the open alerts once at sign-in (so a console that was down shows everything
raised meanwhile) and then follows `alert.*` events row by row; it never polls. `AlertWatch`
keeps the due times in memory and asks the database (which re-checks with its own clock) to
escalate or to raise a welfare check, off the GUI thread.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QObject, QTimer, QUrl, Signal

from controlroom.kernel.config import resource_path
from controlroom.errors import ControlRoomError
from controlroom.services.alerts import AlertView, alert_view
from controlroom.services.views import parse_ts

from ..kit.ops import run_op

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext

log = logging.getLogger(__name__)
SOUNDS = resource_path("sounds")
ALERT_KINDS = ("alert.raised", "alert.acknowledged", "alert.escalated", "alert.cleared")
WELFARE_RETRY = timedelta(seconds=60)


class AlertStore(QObject):
    """Open alerts this console is to show, oldest first; `changed(alert)` per change."""

    changed = Signal(object)   # AlertView (its new state)
    loaded = Signal()

    def __init__(self, ctx: "ConsoleContext", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.alerts: dict[int, AlertView] = {}
        ctx.bridge.event.connect(self.on_event)
        self.reload()

    @property
    def role(self) -> str:
        return self.ctx.session.user.role

    @property
    def room(self) -> str | None:
        return self.ctx.session.room.code or None

    def reload(self) -> None:
        """Everything open for this console (sign-in, restart, reconnect)."""
        run_op(self, lambda: self.ctx.session.alerts.open(), on_done=self._loaded,
               on_error=lambda e: log.warning("alerts not loaded: %s", e))

    def _loaded(self, alerts: list[AlertView]) -> None:
        self.alerts = {a.id: a for a in alerts if a.reaches(self.role, self.room)}
        self.loaded.emit()
        for a in self.alerts.values():
            self.changed.emit(a)

    def on_event(self, ev: Any) -> None:
        if ev.kind not in ALERT_KINDS or not isinstance(ev.payload, dict):
            return
        try:
            alert = alert_view(ev.payload)
        except (TypeError, ValueError):
            log.warning("alert event #%s not understood", ev.seq)
            return
        if alert.is_open and alert.reaches(self.role, self.room):
            self.alerts[alert.id] = alert
        else:
            self.alerts.pop(alert.id, None)
        self.changed.emit(alert)

    def open_alerts(self) -> list[AlertView]:
        return sorted(self.alerts.values(), key=lambda a: (not a.safety, a.raised_at, a.id))

    def unacknowledged(self) -> list[AlertView]:
        return [a for a in self.open_alerts() if a.needs_acknowledgement]


class AlertWatch(QObject):
    """Observes time passing for the open alerts and the units, and asks the database to act."""

    def __init__(self, ctx: "ConsoleContext", store: AlertStore, *, interval_ms: int = 1000,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.store = store
        self.clock: Callable[[], datetime] = ctx.clock
        self._busy: set[tuple[str, object]] = set()
        self._welfare_next: dict[str, datetime] = {}
        self.units: dict[str, dict[str, Any]] = {}
        self.min_welfare = timedelta(minutes=10)
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        ctx.bridge.event.connect(self._on_event)
        run_op(self, self._load_units, on_done=self._units_loaded, on_error=lambda e: None)

    def _load_units(self) -> tuple[list[Any], int]:
        s = self.ctx.session
        return s.units.list(), s.alerts.welfare_min_minutes()

    def _units_loaded(self, result: tuple[list[Any], int]) -> None:
        units, minutes = result
        self.min_welfare = timedelta(minutes=minutes)
        for u in units:
            self.units[u.callsign] = {"status": u.status, "status_at": getattr(u, "status_at", None)}

    def _on_event(self, ev: Any) -> None:
        if ev.kind == "unit.status" and isinstance(ev.payload, dict) and ev.entity_id:
            self.units[ev.entity_id] = {"status": ev.payload.get("status"),
                                        "status_at": parse_ts(ev.payload.get("status_at")) or ev.at}
            self._welfare_next.pop(ev.entity_id, None)

    def tick(self) -> None:
        now = self.clock()
        for alert in list(self.store.alerts.values()):
            due = alert.next_escalation_at
            if alert.state == "raised" and due is not None and due <= now:
                self._ask(("escalate", alert.id), lambda a=alert: self.ctx.session.alerts.escalate_due(now=now))
        for cs, u in self.units.items():
            at = u.get("status_at")
            if u.get("status") != "at_scene" or not isinstance(at, datetime):
                continue
            if now - at < self.min_welfare or self._welfare_next.get(cs, now) > now:
                continue
            self._welfare_next[cs] = now + WELFARE_RETRY  # the database says whether it is due
            self._ask(("welfare", cs), lambda: self.ctx.session.alerts.raise_welfare_due(now=now))

    def _ask(self, key: tuple[str, object], fn: Callable[[], Any]) -> None:
        if key in self._busy:
            return
        self._busy.add(key)
        run_op(self, fn, on_done=lambda _r: self._busy.discard(key),
               on_error=lambda e: (self._busy.discard(key), log.info("alert tick: %s", e)))


class Sounder(QObject):
    """Alarm tones through Qt Multimedia (silent, with a log line, where there is no audio)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.muted_until: datetime | None = None
        self.effects: dict[str, Any] = {}
        self.played: list[str] = []  # what was sounded (tests, and the operator's "what was that")
        try:
            from PySide6.QtMultimedia import QSoundEffect
        except ImportError as exc:  # no audio libraries on this machine
            log.info("alarm sounds unavailable: %s", exc)
            return
        for name in ("g1", "emergency"):
            eff = QSoundEffect(self)
            eff.setSource(QUrl.fromLocalFile(str(SOUNDS / f"{name}.wav")))
            eff.setVolume(0.9)
            self.effects[name] = eff

    def muted(self, now: datetime) -> bool:
        return self.muted_until is not None and now < self.muted_until

    def play(self, name: str, *, now: datetime, override_mute: bool = False) -> None:
        if self.muted(now) and not override_mute:
            return
        self.played.append(name)
        eff = self.effects.get(name)
        if eff is not None:
            eff.play()


def describe(alert: AlertView) -> str:
    """One line for the band and the panel (plain text: titles carry typed content)."""
    bits = [alert.title]
    if alert.talk_group:
        bits.append(f"talk group {alert.talk_group}")
    if alert.acknowledged_by:
        bits.append(f"taken by {alert.acknowledged_by}")
    elif alert.level:
        bits.append(f"escalated to {alert.audience[-1] if alert.audience else 'supervisor'}")
    bits.append(f"raised {alert.raised_at.astimezone().strftime('%H:%M:%S')}")
    return " · ".join(bits)


def acknowledge(ctx: "ConsoleContext", parent: QObject, alert: AlertView,
                on_error: Callable[[ControlRoomError], None]) -> None:
    run_op(parent, lambda: ctx.session.alerts.acknowledge(alert.id), on_error=on_error)
