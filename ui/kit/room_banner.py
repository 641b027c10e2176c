"""Room awareness on every console: areas-changed-hands / database banner, rooms indicator, scope.

- `RoomBanner`: a strip above the map; shows when areas change hands (room.* events) and, in red,
  while the database is unreachable; hides itself again.
- `RoomsIndicator`: keeps the status bar's rooms text (staffed / unstaffed, owned areas) current
  from console.presence and room.* events plus a slow refresh, and runs this console's heartbeat.
- `scope(ctx)` / `ScopeToggle`: the shared "my room / virtual room" switch every list uses:
  `scope(ctx).changed.connect(...)`, `scope(ctx).accepts(incident.room_code)`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (QButtonGroup, QFrame, QHBoxLayout, QPushButton, QToolButton,
                               QWidget)
from .plain import QLabel  # plain text unless made rich on purpose (issue 19)

from .ops import run_op
from controlroom.kernel.palette import COUNTDOWN_BREACH, ROOM_LABELS, room_colour

if TYPE_CHECKING:
    from controlroom.services.events import Event

    from .context import ConsoleContext

MINE, VIRTUAL = "mine", "virtual"
ROOM_EVENTS = ("room.area_transferred", "room.take_over", "room.hand_back")
REFRESH_MS = 15_000   # notices a room going unstaffed even if no console announces it
BANNER_MS = 60_000    # an areas-changed banner stays a minute (or until dismissed)


class Scope(QObject):
    """One per console: lists show my room's incidents or the whole virtual room."""

    changed = Signal(str)

    def __init__(self, my_room: str | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.my_room = my_room
        self.value = VIRTUAL

    def set(self, value: str) -> None:
        if value in (MINE, VIRTUAL) and value != self.value:
            self.value = value
            self.changed.emit(value)

    def accepts(self, room_code: str | None) -> bool:
        return self.value == VIRTUAL or room_code == self.my_room


def scope(ctx: "ConsoleContext") -> Scope:
    """The console's shared scope (created on first use)."""
    s = ctx.extras.get("scope")
    if s is None:
        s = ctx.extras["scope"] = Scope(ctx.session.room.code or None)
    return s


class ScopeToggle(QWidget):
    """Two linked buttons, "My room" / "Virtual room"; every list's toggle moves together."""

    def __init__(self, ctx: "ConsoleContext", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scope = scope(ctx)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QToolButton] = {}
        for value, text in ((MINE, "My room"), (VIRTUAL, "Virtual room")):
            b = QToolButton(text=text, checkable=True)
            b.setToolTip("Show only incidents my room handles now" if value == MINE
                         else "Show every incident in both rooms")
            self.group.addButton(b)
            self.buttons[value] = b
            lay.addWidget(b)
            b.clicked.connect(lambda _=False, v=value: self.scope.set(v))
        self._show(self.scope.value)
        self.scope.changed.connect(self._show)

    def _show(self, value: str) -> None:
        self.buttons[value].setChecked(True)


def room_name(code: str | None) -> str:
    return ROOM_LABELS.get(code or "", code or "?")


def describe(ev: "Event") -> str:
    """One line for the banner, in the users' words."""
    p: dict[str, Any] = ev.payload
    moved = p.get("moved", {})
    who = p.get("by_name") or p.get("by") or ev.username or "?"
    reason = f" — {p['reason']}" if p.get("reason") else ""
    n = sum(m.get("incidents", 0) for m in moved.values())
    incidents = f" ({n} open incident{'s' if n != 1 else ''} moved)" if n else ""
    if ev.kind == "room.area_transferred":
        return (f"Area {p.get('area_code')} transferred from {room_name(p.get('from_room'))} to "
                f"{room_name(p.get('to_room'))} by {who}{incidents}{reason}")
    if ev.kind == "room.take_over":
        return (f"{room_name(p.get('to_room'))} has TAKEN OVER all areas ({', '.join(moved)}) — "
                f"by {who}{incidents}{reason}")
    return f"Areas handed back to their normal rooms ({', '.join(moved)}) by {who}{incidents}{reason}"


class RoomBanner(QFrame):
    """A strip above the map for things every operator must notice at once."""

    def __init__(self, ctx: "ConsoleContext", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("roomBanner")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.close_btn = QPushButton("Dismiss")
        self.close_btn.clicked.connect(self.hide)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.close_btn)
        self.db_down = False
        self._timer = QTimer(self, singleShot=True, interval=BANNER_MS, timeout=self._expire)
        self.hide()
        ctx.bridge.event.connect(self.on_event)
        ctx.bridge.connectionChanged.connect(self.on_connection)

    def on_event(self, ev: "Event") -> None:
        if ev.kind in ROOM_EVENTS and not self.db_down:
            colour = room_colour((ev.payload or {}).get("to_room") or ev.room_code)
            self._show("⇄ " + describe(ev), colour)
            self._timer.start()

    def on_connection(self, connected: bool) -> None:
        self.db_down = not connected
        if not connected:
            self._timer.stop()
            self._show("✖ DATABASE UNREACHABLE — nothing can be saved just now. What you type is kept; "
                       "the console reconnects and catches up by itself.", COUNTDOWN_BREACH)
            self.close_btn.hide()
        elif self.isVisible():
            self._show("✔ Database connection restored — the console has caught up.", "#2e7d32")
            self._timer.start(5000)

    def _show(self, text: str, colour: str) -> None:
        self.label.setText(text)
        self.setStyleSheet(f"#roomBanner {{ background: {colour}; }} #roomBanner QLabel "
                           "{ color: white; font-weight: bold; }")
        self.close_btn.setVisible(not self.db_down)
        self.show()

    def _expire(self) -> None:
        if not self.db_down:
            self.hide()


class RoomsIndicator(QObject):
    """Feeds the status bar's rooms text; starts this console's presence heartbeat."""

    updated = Signal(list)

    def __init__(self, ctx: "ConsoleContext", status_bar: Any, *, heartbeat: bool = True) -> None:
        super().__init__(status_bar)
        self.ctx = ctx
        self.status_bar = status_bar
        self.rooms: list[Any] = []
        if heartbeat:
            ctx.session.rooms.start_heartbeat()  # stopped by Session.close()
        ctx.bridge.event.connect(self.on_event)
        ctx.bridge.connectionChanged.connect(lambda up: up and self.refresh())
        self._timer = QTimer(self, interval=REFRESH_MS, timeout=self.refresh)
        self._timer.start()
        self.refresh()

    def on_event(self, ev: "Event") -> None:
        if ev.kind in ROOM_EVENTS or ev.kind in ("console.presence", "console.signed_in"):
            self.refresh()

    def refresh(self) -> None:
        run_op(self, self.ctx.session.rooms.status, on_done=self._show, on_error=lambda err: None)

    def _show(self, rooms: list[Any]) -> None:
        self.rooms = rooms
        self.status_bar.set_rooms_text(rooms_text(rooms, self.ctx.session.room.code))
        self.status_bar.rooms.setToolTip("\n".join(
            f"{room_name(r.code)}: {'staffed' if r.staffed else 'UNSTAFFED'}, {r.live_consoles} console(s) "
            f"live; handles {', '.join(r.areas) or 'no areas'}" for r in rooms))
        self.updated.emit(rooms)


def rooms_text(rooms: list[Any], mine: str | None) -> str:
    parts = []
    for r in rooms:
        name = r.code.title() + (" (you)" if r.code == mine else "")
        state = f"● staffed {r.live_consoles}" if r.staffed else "○ UNSTAFFED"
        areas = ", ".join(r.areas) if r.areas else "no areas"
        extra = " ⇄" if set(r.areas) != set(r.home_areas) else ""
        parts.append(f"{name}: {state} · {areas}{extra}")
    return "   |   ".join(parts)
