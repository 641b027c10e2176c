"""Amber band on every live console while a room works from its training suite (fallback mode, issue 10).

The switch lives in the live database (meta `fallback.<room>`, `session.exercise.fallback`); changes
arrive as `room.fallback` events ({on, room_code, by, reason, at}). The band reads the state once off
the GUI thread, then follows the events.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QHBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.kernel import palette
from ..kit.ops import run_op

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext

EVENT = "room.fallback"


def since(at: Any) -> str:
    """'HH:MM' local time of the switch (the DB stores now()::text), or '' if unreadable."""
    try:
        when = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    except (TypeError, ValueError):
        return ""
    return when.astimezone().strftime("%H:%M")


def describe(state: dict[str, Any]) -> str:
    room = palette.ROOM_LABELS.get(state.get("room_code") or "", state.get("room_code") or "?")
    details = ", ".join(x for x in (f"since {since(state.get('at'))}" if since(state.get("at")) else "",
                                    f"by {state['by']}" if state.get("by") else "") if x)
    reason = f" — {state['reason']}" if state.get("reason") else ""
    return f"FALLBACK ROOM ACTIVE — {room} working from the training room" + (f" ({details})" if details else "") + reason


class FallbackBanner(QWidget):
    """Shown while any room's fallback switch is on; one line per room."""

    def __init__(self, ctx: "ConsoleContext", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("fallbackBanner")
        self.setAttribute(Qt.WA_StyledBackground, True)
        # Its own stylesheet: the band must stay amber whatever theme the operator picks.
        self.setStyleSheet(f"#fallbackBanner {{ background: {palette.COUNTDOWN_WARN}; }}"
                           "#fallbackBanner QLabel { color: black; font-weight: bold; }")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 4, 12, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        lay.addWidget(self.label, 1)
        self.states: dict[str, dict[str, Any]] = {}
        self._heard: set[str] = set()  # rooms an event has already told us about (newer than our read)
        self.hide()
        if ctx.training:  # the training console has its own red band; fallback is a live-side notice
            return
        ctx.bridge.event.connect(self.on_event)
        ctx.bridge.connectionChanged.connect(lambda up: up and self.refresh())
        self.refresh()

    def rooms(self) -> list[str]:
        s = self.ctx.session
        return sorted(set(palette.ROOM_LABELS) | set(s.ctx.area_rooms.values()) | {s.room.code} - {None, ""})

    def refresh(self) -> None:
        svc, rooms = self.ctx.session.exercise, self.rooms()
        self._heard.clear()
        run_op(self, lambda: [svc.fallback(r) for r in rooms], on_done=self._loaded, on_error=lambda err: None)

    def _loaded(self, states: list[Any]) -> None:
        for st in states:
            if st.room_code not in self._heard:
                self.states[st.room_code] = {"on": st.on, "room_code": st.room_code, "by": st.by,
                                             "at": st.at, "reason": st.reason}
        self._render()

    def on_event(self, ev: Any) -> None:
        if ev.kind != EVENT or not isinstance(ev.payload, dict):
            return
        room = ev.payload.get("room_code") or ev.room_code
        if room:
            self._heard.add(room)
            self.states[room] = dict(ev.payload, room_code=room)
            self._render()

    def _render(self) -> None:
        on = [s for _, s in sorted(self.states.items()) if s.get("on")]
        self.label.setText("\n".join("⚠ " + describe(s) for s in on))
        self.setAccessibleName(self.label.text())
        self.setVisible(bool(on))


def make_fallback_banner(ctx: "ConsoleContext") -> FallbackBanner:
    return FallbackBanner(ctx)
