"""Status bar: user · role · room · database state · rooms · clock (DESIGN §4)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar

from controlroom.roles import ROLE_LABELS

from .palette import COUNTDOWN_BREACH, ROOM_LABELS
from .room_banner import RoomsIndicator

if TYPE_CHECKING:
    from .context import ConsoleContext


class ConsoleStatusBar(QStatusBar):
    def __init__(self, ctx: "ConsoleContext") -> None:
        super().__init__()
        self.ctx = ctx
        s = ctx.session
        self.user = QLabel(f"{s.user.display_name or s.user.username} ({s.user.username})")
        self.role = QLabel(ROLE_LABELS.get(s.user.role, s.user.role))
        self.room = QLabel(ROOM_LABELS.get(s.room.code, s.room.name or "no room"))
        self.db = QLabel()
        self.db.setObjectName("dbState")
        self.rooms = QLabel("")
        self.rooms.setObjectName("roomsState")
        self.clock = QLabel()
        self.clock.setObjectName("clock")
        for w in (self.user, self.role, self.room, self.db, self.rooms):
            self.addWidget(w)
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
        self.db.setText(f"● {where} connected" if connected else "✖ DATABASE UNREACHABLE — entries are kept")
        self.db.setProperty("state", "ok" if connected else "down")
        # Red (with words, never colour alone) the moment the listener loses the database.
        self.db.setStyleSheet("" if connected else
                              f"background: {COUNTDOWN_BREACH}; color: white; font-weight: bold; padding: 0 6px;")
        self.db.style().polish(self.db)

    def set_rooms_text(self, text: str) -> None:
        self.rooms.setText(text)

    def _tick(self) -> None:
        self.clock.setText(self.ctx.clock().astimezone().strftime("%a %d %b  %H:%M:%S"))
