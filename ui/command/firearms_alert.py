"""Firearms alert on inspector consoles: a declaration anywhere in the virtual room raises a window
that stays until acknowledged (not modal, so the console keeps working), with a repeating beep."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QPushButton, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.errors import ControlRoomError
from controlroom.services.views import parse_ts

from controlroom.kernel import palette
from ..kit.ops import run_op

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext

REMIND_MS = 10_000  # beep again while an alert is unacknowledged


class FirearmsAlert(QWidget):
    """Queue of unacknowledged firearms declarations; shows the oldest first."""

    alerted = Signal(int)       # incident id
    acknowledged = Signal(int)  # incident id

    def __init__(self, ctx: "ConsoleContext", parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.Window | Qt.WindowStaysOnTopHint)
        self.ctx = ctx
        self.setObjectName("firearmsAlert")
        self.setWindowTitle("FIREARMS INCIDENT DECLARED")
        self.setWindowModality(Qt.NonModal)
        self.pending: list[dict[str, Any]] = []
        self.header = QLabel("⚠ FIREARMS INCIDENT DECLARED ⚠")
        self.header.setAlignment(Qt.AlignCenter)
        self.header.setStyleSheet(f"background: {palette.COUNTDOWN_BREACH}; color: white; font-size: 18pt; "
                                  "font-weight: bold; padding: 10px;")
        self.body = QLabel()
        self.body.setObjectName("firearmsAlertBody")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.PlainText)  # the summary and address were typed by a person
        self.more = QLabel()
        self.error = QLabel()
        self.error.setStyleSheet(f"color: {palette.theme_text('error')};")
        self.ack = QPushButton("Acknowledge")
        self.ack.setObjectName("acknowledgeButton")
        self.ack.clicked.connect(lambda: self.acknowledge(take_command=False))
        self.take = QPushButton("Acknowledge and take command (ITFC)")
        self.take.setObjectName("takeCommandButton")
        self.take.clicked.connect(lambda: self.acknowledge(take_command=True))
        buttons = QHBoxLayout()
        buttons.addWidget(self.ack)
        buttons.addWidget(self.take)
        lay = QVBoxLayout(self)
        for w in (self.header, self.body, self.more, self.error):
            lay.addWidget(w)
        lay.addLayout(buttons)
        self.resize(520, 260)
        self.timer = QTimer(self, interval=REMIND_MS)
        self.timer.timeout.connect(QApplication.beep)
        ctx.bridge.event.connect(self.on_event)
        self.load_waiting()

    def load_waiting(self) -> None:
        """Declarations still waiting for an inspector are shown at sign-in and after a restart:
        they are alerts in the database, not windows of whichever console was running."""
        role = self.ctx.session.user.role
        if role not in ("inspector", "trainer"):
            return
        run_op(self, lambda: self.ctx.session.alerts.open(for_me=True), on_done=self._waiting,
               on_error=lambda _e: None)

    def _waiting(self, alerts: list[Any]) -> None:
        for a in alerts:
            declaration = (a.details or {}).get("declaration")
            if a.kind == "firearms_itfc" and a.needs_acknowledgement and isinstance(declaration, dict):
                self._add(declaration)

    def on_event(self, ev: Any) -> None:
        p = ev.payload if isinstance(ev.payload, dict) else {}
        if ev.kind == "alert.cleared" and p.get("kind") == "firearms_itfc":
            self._forget(p.get("incident_id"))  # an inspector took command (or it was closed)
            return
        if ev.kind != "command.firearms_declared" or ev.console_id == self.ctx.session.console_id:
            return
        self._add(p)

    def _forget(self, incident_id: Any) -> None:
        before = len(self.pending)
        self.pending = [x for x in self.pending if str(x.get("id")) != str(incident_id)]
        if len(self.pending) != before:
            if self.pending:
                self._render()
            else:
                self.timer.stop()
                self.hide()

    def _add(self, p: dict[str, Any]) -> None:
        if not p.get("id") or any(str(x.get("id")) == str(p.get("id")) for x in self.pending):
            return
        self.pending.append(p)
        QApplication.beep()
        self.timer.start()
        self._render()
        from ..kit.idle_lock import hold_while_locked
        if hold_while_locked(self):  # nothing of an incident shows on a locked console
            self.alerted.emit(int(p["id"]))
            return
        self.show()
        self.raise_()
        self.alerted.emit(int(p["id"]))

    def _render(self) -> None:
        if not self.pending:
            return
        p = self.pending[0]
        at = parse_ts(p.get("firearms_declared_at"))
        when = at.astimezone().strftime("%H:%M:%S") if isinstance(at, datetime) else ""
        room = p.get("room_code", "")
        own = room == self.ctx.session.room.code
        self.body.setText("\n\n".join([
            f"{p.get('urn', '')} — {p.get('incident_type', '')} ({p.get('grade') or 'ungraded'})",
            str(p.get("summary", "")),
            f"{p.get('address') or ''} · area {p.get('area_code', '')} · {room} room",
            f"Declared by {p.get('declared_by', '')} at {when}.",
            "Your room owns this incident: take initial tactical firearms command." if own
            else f"Owned by the {room} room; its inspector takes command."]))
        self.take.setVisible(own)
        n = len(self.pending) - 1
        self.more.setText(f"{n} more firearms declaration(s) waiting" if n else "")
        self.error.clear()

    def acknowledge(self, *, take_command: bool = False) -> None:
        """Acknowledge the alert shown (recorded in the incident log and audit)."""
        if not self.pending:
            return
        iid = int(self.pending[0]["id"])
        svc = self.ctx.session.command

        def call() -> None:
            svc.acknowledge_firearms_alert(iid)
            if take_command:
                svc.accept_firearms_command(iid)

        self.ack.setEnabled(False)
        self.take.setEnabled(False)
        run_op(self, call, on_done=lambda _r: self._done(iid), on_error=self._failed)

    def _done(self, iid: int) -> None:
        self.pending = [p for p in self.pending if int(p["id"]) != iid]
        self.ack.setEnabled(True)
        self.take.setEnabled(True)
        self.acknowledged.emit(iid)
        self.ctx.selection.incidentSelected.emit(iid)
        if self.pending:
            self._render()
        else:
            self.timer.stop()
            self.hide()

    def _failed(self, err: ControlRoomError) -> None:
        self.ack.setEnabled(True)
        self.take.setEnabled(True)
        self.error.setText(str(err))

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        # Closing the window is not acknowledging it: it stays until someone presses Acknowledge.
        if self.pending:
            event.ignore()
        else:
            super().closeEvent(event)
