"""Status bar: user · role · room · database state · rooms · clock (DESIGN §4)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (QFrame, QStatusBar)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.kernel.roles import ROLE_LABELS

from controlroom.kernel.palette import COUNTDOWN_BREACH, ROOM_LABELS
from ..kit.room_banner import RoomsIndicator

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext


class ElidedLabel(QLabel):
    """A status-bar fact that shortens with '…' on a small screen instead of pushing the clock off.

    text() stays the whole text (the rooms fact also has a tooltip with the detail).
    """

    MIN_CHARS = 6

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self.fontMetrics().averageCharWidth() * self.MIN_CHARS + 24), hint.height())

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        QFrame.paintEvent(self, event)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.ElideRight, rect.width())
        painter = QPainter(self)
        self.style().drawItemText(painter, rect, int(Qt.AlignLeft | Qt.AlignVCenter), self.palette(),
                                  self.isEnabled(), text, self.foregroundRole())
        painter.end()


class ConsoleStatusBar(QStatusBar):
    def __init__(self, ctx: "ConsoleContext") -> None:
        super().__init__()
        self.ctx = ctx
        s = ctx.session
        self.user = ElidedLabel(f"{s.user.display_name or s.user.username} ({s.user.username})")
        self.role = ElidedLabel(ROLE_LABELS.get(s.user.role, s.user.role))
        self.room = ElidedLabel(ROOM_LABELS.get(s.room.code, s.room.name or "no room"))
        self.db = ElidedLabel()
        self.db.setObjectName("dbState")
        self.rooms = ElidedLabel("")
        self.rooms.setObjectName("roomsState")
        self.clock = QLabel()
        self.clock.setObjectName("clock")
        for w, stretch in ((self.user, 0), (self.role, 0), (self.room, 0), (self.db, 0), (self.rooms, 1)):
            self.addWidget(w, stretch)
        self.addPermanentWidget(self.clock)
        self.set_db_state(ctx.bridge.connected)
        ctx.bridge.connectionChanged.connect(self.set_db_state)
        self._timer = QTimer(self, interval=1000, timeout=self._tick)
        self._timer.start()
        self._tick()
        # Rooms staffed / owned areas, kept live; also runs this console's presence heartbeat.
        self.rooms_indicator = RoomsIndicator(ctx, self)

    def set_db_state(self, connected: bool) -> None:
        where = "training DB" if self.ctx.training else "live DB"
        cluster = bool(getattr(self.ctx.session, "multi_host", False))  # a multi-host URL or conninfo
        server = getattr(self.ctx.session.events, "server", None) if cluster else None
        if connected:
            self.db.setText(f"● {where} connected" + (f" · {server}" if server else ""))
        else:
            self.db.setText("✖ DATABASE UNREACHABLE — failing over, entries are kept" if cluster
                            else "✖ DATABASE UNREACHABLE — entries are kept")
        self.db.setProperty("state", "ok" if connected else "down")
        # Red (with words, never colour alone) the moment the listener loses the database.
        self.db.setStyleSheet("" if connected else
                              f"background: {COUNTDOWN_BREACH}; color: white; font-weight: bold; padding: 0 6px;")
        self.db.style().polish(self.db)

    def set_rooms_text(self, text: str) -> None:
        self.rooms.setText(text)

    def _tick(self) -> None:
        self.clock.setText(self.ctx.clock().astimezone().strftime("%a %d %b  %H:%M:%S"))
        self._watchdog()

    def _watchdog(self) -> None:
        """Red if the event listener thread stopped or hangs, whatever it last reported: a
        console that no longer hears the room must never look connected."""
        events = self.ctx.session.events
        listening = bool(getattr(events, "alive", True))
        if not listening and self.db.property("state") != "deaf":
            self.db.setText("✖ NOT RECEIVING UPDATES — restart the console")
            self.db.setProperty("state", "deaf")
            self.db.setStyleSheet(f"background: {COUNTDOWN_BREACH}; color: white; font-weight: bold; padding: 0 6px;")
            self.db.style().polish(self.db)
        elif listening and self.db.property("state") == "deaf":
            self.set_db_state(self.ctx.bridge.connected)
