"""Firearms alert on inspector consoles: a declaration anywhere in the virtual room raises a window
that stays until acknowledged (not modal, so the console keeps working), with a repeating beep."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from controlroom.errors import ControlRoomError
from controlroom.services.views import parse_ts

from . import palette
from .ops import run_op

if TYPE_CHECKING:
    from .context import ConsoleContext

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
        self.body.setTextFormat(Qt.RichText)
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

    def on_event(self, ev: Any) -> None:
        if ev.kind != "command.firearms_declared" or ev.console_id == self.ctx.session.console_id:
            return
        p = ev.payload if isinstance(ev.payload, dict) else {}
        if any(x.get("id") == p.get("id") for x in self.pending):
            return
        self.pending.append(p)
        QApplication.beep()
        self.timer.start()
        self._render()
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
        self.body.setText(
            f"<p style='font-size:14pt'><b>{p.get('urn', '')}</b> — {p.get('incident_type', '')} "
            f"({p.get('grade') or 'ungraded'})</p><p>{p.get('summary', '')}</p>"
            f"<p>{p.get('address') or ''} · area {p.get('area_code', '')} · <b>{room} room</b></p>"
            f"<p>Declared by {p.get('declared_by', '')} at {when}.</p>"
            + ("<p><b>Your room owns this incident: take initial tactical firearms command.</b></p>"
               if own else f"<p>Owned by the {room} room; its inspector takes command.</p>"))
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
