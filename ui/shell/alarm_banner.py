"""The alarm band across the console (issue 20): an officer's emergency, an overdue welfare check,
a new or breaching G1 — impossible to miss (red, flashing, sound, screen-reader announcement),
taken by a named operator with one button, cleared only with a result.
"""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QHBoxLayout, QInputDialog, QLabel, QMessageBox, QPushButton, QSizePolicy,
                               QWidget)

from controlroom.errors import ControlRoomError
from controlroom.services.alerts import AlertView

from controlroom.kernel import palette
from ..alerts.queue import AlertStore, Sounder, describe
from ..kit.ops import run_op

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext

BAND_KINDS = ("emergency", "welfare_overdue", "welfare", "g1_breach", "g1_new")
FLASH_MS = 500
REPEAT_MS = {"emergency": 3000, "welfare_overdue": 3000}  # the tone repeats until someone takes it
MUTE_MINUTES = 5


def _announce(widget: QWidget, message: str) -> None:
    """Tell a screen reader (Qt 6.8+ QAccessibleAnnouncementEvent), where Qt has it."""
    try:
        from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
    except ImportError:
        return
    try:
        ev = QAccessibleAnnouncementEvent(widget, message)
        ev.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive)
        QAccessible.updateAccessibility(ev)
    except (AttributeError, TypeError, RuntimeError):
        pass


class AlarmBanner(QWidget):
    """Shows the most urgent unacknowledged alarm for this console; hidden when there is none."""

    alarm = Signal(object)  # AlertView: a new safety alarm (the main window centres the map on it)
    shown_changed = Signal()

    def __init__(self, ctx: "ConsoleContext", store: AlertStore, *, sounder: Sounder | None = None,
                 is_locked: Callable[[], bool] = lambda: False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.store = store
        self.sounder = sounder or Sounder(self)
        self.is_locked = is_locked
        self.current: AlertView | None = None
        self._announced: set[tuple[int, str, int]] = set()
        self.setObjectName("alarmBanner")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.text = QLabel()
        self.text.setObjectName("alarmText")
        self.text.setTextFormat(Qt.PlainText)  # titles carry what operators typed
        self.text.setWordWrap(True)
        self.take = QPushButton("Take it (acknowledge)")
        self.take.setObjectName("alarmTake")
        self.take.setAccessibleName("Acknowledge the alarm")
        self.clear_btn = QPushButton("Clear with result…")
        self.clear_btn.setObjectName("alarmClear")
        self.clear_btn.setAccessibleName("Clear the emergency with its result")
        self.mute = QPushButton(f"Mute {MUTE_MINUTES} min")
        self.mute.setObjectName("alarmMute")
        self.mute.setAccessibleName(f"Mute G1 alarm sounds on this console for {MUTE_MINUTES} minutes")
        self.more = QLabel()
        self.more.setObjectName("alarmMore")
        self.error = QLabel()
        self.error.setTextFormat(Qt.PlainText)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.addWidget(self.text, 1)
        for w in (self.more, self.error, self.take, self.clear_btn, self.mute):
            lay.addWidget(w)
        self.take.clicked.connect(self.acknowledge)
        self.clear_btn.clicked.connect(self.clear_dialog)
        self.mute.clicked.connect(self.mute_sounds)
        self._flash_on = True
        self.flash = QTimer(self, interval=FLASH_MS)
        self.flash.timeout.connect(self._toggle)
        self.repeat = QTimer(self)
        self.repeat.timeout.connect(self._repeat_tone)
        store.changed.connect(self._on_change)
        store.loaded.connect(self.refresh)
        ctx.bridge.event.connect(self._on_event)
        self.hide()

    # -- what to show ------------------------------------------------------------------------
    def _candidates(self) -> list[AlertView]:
        rank = {k: i for i, k in enumerate(BAND_KINDS)}
        items = [a for a in self.store.open_alerts() if a.kind in rank
                 and (a.needs_acknowledgement or (a.safety and a.state == "acknowledged"))]
        return sorted(items, key=lambda a: (not a.needs_acknowledgement, rank[a.kind], a.raised_at))

    def _on_change(self, alert: AlertView) -> None:
        key = (alert.id, alert.state, alert.level)
        if alert.is_open and alert.kind in BAND_KINDS and alert.reaches(self.store.role, self.store.room) \
                and alert.state == "raised" and key not in self._announced:
            self._announced.add(key)
            now = self.ctx.clock()
            if alert.safety:
                self.sounder.play("emergency", now=now, override_mute=True)  # never muted
                self.alarm.emit(alert)
            else:
                self.sounder.play("g1", now=now)
            _announce(self, f"{alert.label}: {alert.title}")
        self.refresh()

    def refresh(self) -> None:
        items = self._candidates()
        if not items:
            self.current = None
            self.flash.stop()
            self.repeat.stop()
            self.hide()
            self.shown_changed.emit()
            return
        a = self.current = items[0]
        self.text.setText(f"⚠ {describe(a)}")
        n = len(items) - 1
        self.more.setText(f"+{n} more" if n else "")
        self.take.setVisible(a.needs_acknowledgement)
        self.clear_btn.setVisible(a.safety)
        self.mute.setVisible(not a.safety)
        self.error.clear()
        if a.needs_acknowledgement:
            self.flash.start()
            interval = REPEAT_MS.get(a.kind)
            if interval and not self.repeat.isActive():
                self.repeat.start(interval)
        else:
            self.flash.stop()
            self.repeat.stop()
            self._flash_on = True
        self._paint()
        self.show()
        self.shown_changed.emit()

    def _toggle(self) -> None:
        self._flash_on = not self._flash_on
        self._paint()

    def _paint(self) -> None:
        a = self.current
        if a is None:
            return
        red = a.safety or a.kind == "g1_breach"
        bg = palette.COUNTDOWN_BREACH if red else palette.GRADE_COLOURS.get("G1", palette.COUNTDOWN_BREACH)
        if not self._flash_on:
            bg = "#5a0000" if red else "#7a1f1f"
        if a.state == "acknowledged":
            bg = "#8a4b00"
        self.setStyleSheet(f"#alarmBanner {{ background: {bg}; }} #alarmBanner QLabel {{ color: white; "
                           "background: transparent; font-weight: bold; font-size: 13pt; }")  # not an f-string

    def _repeat_tone(self) -> None:
        if self.current is not None and self.current.needs_acknowledgement:
            self.sounder.play("emergency", now=self.ctx.clock(), override_mute=True)

    # -- actions -----------------------------------------------------------------------------
    def _refuse_if_locked(self) -> bool:
        if self.is_locked():
            self.error.setText("The console is locked: unlock it to act.")
            return True
        return False

    def acknowledge(self) -> None:
        a = self.current
        if a is None or self._refuse_if_locked():
            return
        self.take.setEnabled(False)
        run_op(self, lambda: self.ctx.session.alerts.acknowledge(a.id),
               on_done=self._acted, on_error=self._failed)

    def clear_dialog(self) -> None:
        a = self.current
        if a is None or self._refuse_if_locked():
            return
        choice, ok = QInputDialog.getItem(self, "Clear emergency", f"Result for {a.callsign or a.title}:",
                                          ["Officer safe", "Assistance sent"], 0, False)
        if not ok:
            return
        units: list[str] = []
        if choice == "Assistance sent":
            text, ok = QInputDialog.getText(self, "Assistance sent", "Callsigns of the units sent (comma-separated):")
            if not ok:
                return
            units = [u.strip().upper() for u in text.split(",") if u.strip()]
        self.clear(a, "officer_safe" if choice == "Officer safe" else "assistance_sent", units)

    def clear(self, alert: AlertView, result: str, units: list[str]) -> None:
        if self._refuse_if_locked():
            return
        run_op(self, lambda: self.ctx.session.alerts.clear(alert.id, result=result, units=units),
               on_done=self._acted, on_error=self._failed)

    def mute_sounds(self) -> None:
        """Mute G1 tones here for a while (recorded; a supervisor can end it; never emergencies)."""
        def done(until: Any) -> None:
            self.sounder.muted_until = until or self.ctx.clock() + timedelta(minutes=MUTE_MINUTES)
            self.mute.setText("Muted")

        run_op(self, lambda: self.ctx.session.alerts.mute(MUTE_MINUTES), on_done=done, on_error=self._failed)

    def _on_event(self, ev: Any) -> None:
        if ev.kind == "alarm.unmuted" and isinstance(ev.payload, dict) \
                and ev.payload.get("room") == self.store.room:
            self.sounder.muted_until = None
            self.mute.setText(f"Mute {MUTE_MINUTES} min")

    def _acted(self, _result: Any) -> None:
        self.take.setEnabled(True)

    def _failed(self, err: ControlRoomError) -> None:
        self.take.setEnabled(True)
        self.error.setText(str(err))
        if not isinstance(err, ControlRoomError):
            QMessageBox.warning(self, "Alarm", str(err))


def install_alarm_band(window: Any, ctx: "ConsoleContext") -> AlarmBanner:
    """Put the band across the whole window (a top toolbar above every dock, shown only while
    there is an alarm), start the alert timer, and centre the map on an emergency."""
    from PySide6.QtWidgets import QToolBar

    from ..alerts.queue import AlertWatch
    from ..alerts.panel import alert_store

    store = alert_store(ctx)
    banner = AlarmBanner(ctx, store, is_locked=lambda: _window_locked(window))
    bar = QToolBar("Alarms", window)
    bar.setObjectName("alarmBar")
    bar.setMovable(False)
    bar.setFloatable(False)
    bar.toggleViewAction().setEnabled(False)  # an alarm cannot be hidden away
    action = bar.addWidget(banner)  # inside a toolbar, visibility goes through the action
    window.addToolBar(Qt.TopToolBarArea, bar)
    window.insertToolBarBreak(bar)

    def follow() -> None:
        showing = banner.current is not None
        action.setVisible(showing)
        bar.setVisible(showing)

    banner.shown_changed.connect(follow)
    follow()
    ctx.extras["alarm_banner"] = banner
    ctx.extras["alert_watch"] = AlertWatch(ctx, store, parent=banner)
    map_panel = getattr(window, "panels", {}).get("map")
    alarm_unit = getattr(map_panel, "alarm_unit", None)
    if callable(alarm_unit):
        banner.alarm.connect(lambda a: alarm_unit(a.callsign, a.lat, a.lon) if a.callsign else None)
    return banner


def _window_locked(window: Any) -> bool:
    from ..kit.idle_lock import IdleLock

    lock = window.findChild(IdleLock)
    overlay = getattr(lock, "overlay", None)
    return bool(overlay is not None and overlay.isVisible())
