"""'Also open at N-07 (despatch.north), typing…' in the incident form and the incident list.

The session's PresenceTracker (controlroom.services.rooms.presence) is fed on the listener thread; these
widgets only read it, on a 1 s timer and when a console.presence event arrives. Publishing what
this console has open (and typing) runs off the GUI thread through ui.kit.ops.run_op.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QToolTip, QWidget)
from .plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.services.rooms.presence import describe_others

from controlroom.kernel import palette
from .ops import run_op

if TYPE_CHECKING:
    from .context import ConsoleContext

TYPING_IDLE_MS = 3000  # no keystroke for this long: no longer typing


def presence_text(ctx: "ConsoleContext", incident_id: Optional[int]) -> str:
    if incident_id is None:
        return ""
    try:
        return describe_others(ctx.session.presence.others_on(int(incident_id)))
    except Exception:  # a console without presence support (e.g. a test double) shows nothing
        return ""


class PresenceLabel(QLabel):
    """Shows who else has `incident_id` open; hidden when nobody does."""

    def __init__(self, ctx: "ConsoleContext", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.incident_id: Optional[int] = None
        self.setObjectName("presenceLabel")
        self.setWordWrap(True)
        # One f-string: the second literal was not one, so its `}}` reached Qt and every console
        # logged "Could not parse stylesheet of object PresenceLabel" (issue 18).
        self.setStyleSheet(f"QLabel {{ background: {palette.COUNTDOWN_WARN}; "
                           f"color: {palette.ink_on(palette.COUNTDOWN_WARN)}; padding: 2px 6px; border-radius: 3px; }}")
        self.hide()
        self._timer = QTimer(self, interval=1000, timeout=self.refresh)  # expiry needs a clock tick
        self._timer.start()
        ctx.bridge.event.connect(self._on_event)

    def set_incident(self, incident_id: Optional[int]) -> None:
        self.incident_id = incident_id
        self.refresh()

    def _on_event(self, ev: Any) -> None:
        if ev.kind == "console.presence":
            QTimer.singleShot(0, self.refresh)  # after the tracker (listener thread) has it

    def refresh(self) -> None:
        text = presence_text(self.ctx, self.incident_id)
        if text != self.text():
            self.setText(text)
        self.setVisible(bool(text))


class PresencePublisher(QObject):
    """Tells the room which incident this console shows and whether the operator is typing."""

    def __init__(self, ctx: "ConsoleContext", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.incident_id: Optional[int] = None
        self.typing = False
        self._idle = QTimer(self, singleShot=True, interval=TYPING_IDLE_MS, timeout=self._stopped_typing)

    def opened(self, incident_id: Optional[int]) -> None:
        self.incident_id, self.typing = incident_id, False
        self._send()

    def keystroke(self) -> None:
        if self.incident_id is None:
            return
        self._idle.start()
        if not self.typing:
            self.typing = True
            self._send()

    def _stopped_typing(self) -> None:
        if self.typing:
            self.typing = False
            self._send()

    def _send(self) -> None:
        presence, iid, typing = self.ctx.session.presence, self.incident_id, self.typing
        run_op(self, lambda: presence.open_incident(iid, typing=typing), on_error=lambda err: None)


def attach_to_form(form: Any) -> PresenceLabel:
    """Add the presence line under the form's header; publish what the form shows and typing."""
    label = PresenceLabel(form.ctx, form)
    form.layout().insertWidget(1, label)
    publisher = PresencePublisher(form.ctx, form)
    form.presence_label, form.presence_publisher = label, publisher

    def opened(incident_id: Optional[int]) -> None:
        label.set_incident(incident_id)
        publisher.opened(incident_id)

    form.ctx.selection.incidentSelected.connect(opened)
    for name in ("summary", "rationale", "location", "address", "caller_name", "caller_phone"):
        w = getattr(form, name, None)
        signal = getattr(w, "textChanged", None) if w is not None else None
        if signal is not None:
            signal.connect(publisher.keystroke)
    return label


class _ListTooltips(QObject):
    """Tooltip over an incident row: who else has it open (read from the tracker on hover)."""

    def __init__(self, ctx: "ConsoleContext", view: QAbstractItemView, id_of: Callable[[Any], Any]) -> None:
        super().__init__(view)
        self.ctx, self.view, self.id_of = ctx, view, id_of
        view.viewport().installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.ToolTip:
            index = self.view.indexAt(event.pos())
            text = presence_text(self.ctx, self.id_of(index)) if index.isValid() else ""
            if text:
                QToolTip.showText(event.globalPos(), text, self.view)
                return True
        return False


def attach_to_list(panel: Any, id_role: int) -> _ListTooltips:
    """Hovering an incident row in the list shows 'Also open at …'."""
    return _ListTooltips(panel.ctx, panel.view, lambda index: index.data(id_role))
