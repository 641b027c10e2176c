"""Prompts for the room (issue 14): ageing, victim update due, THRIVE reassessment — plus, for
supervisors, downgrades waiting for sign-off. Sweeps `prompts.check()` on a timer (any console may;
the database raises each prompt once) and lists what is still active for this console's room."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QHBoxLayout, QInputDialog, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.kernel.roles import allowed

from controlroom.kernel import palette
from ..kit.context import ConsoleContext
from ..kit.ops import run_op

KIND_WORDS = {"ageing": "AGEING", "victim_update": "VICTIM UPDATE", "reassess": "REASSESS THRIVE"}


class PromptsPanel(QWidget):
    def __init__(self, ctx: ConsoleContext, *, sweep_ms: int = 30_000, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        s = ctx.session
        self.supervisor = allowed(s.user.role, "incident.signoff_downgrade", training=s.training)
        self.prompts = QListWidget()
        self.signoffs = QListWidget()
        self.status = QLabel("")
        ack, upd = QPushButton("Acknowledge"), QPushButton("Record victim update…")
        ack.clicked.connect(self.acknowledge)
        upd.clicked.connect(self.victim_update)
        row = QHBoxLayout()
        row.addWidget(ack)
        row.addWidget(upd)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Prompts for this room"))
        lay.addWidget(self.prompts)
        lay.addLayout(row)
        if self.supervisor:
            ok, no = QPushButton("Approve downgrade"), QPushButton("Refuse…")
            ok.clicked.connect(self.approve)
            no.clicked.connect(self.reject)
            lay.addWidget(QLabel("Downgrades waiting for your sign-off"))
            lay.addWidget(self.signoffs)
            r2 = QHBoxLayout()
            r2.addWidget(ok)
            r2.addWidget(no)
            lay.addLayout(r2)
        lay.addWidget(self.status)
        self.prompts.itemDoubleClicked.connect(
            lambda it: ctx.selection.incidentSelected.emit(it.data(Qt.UserRole).incident_id))
        self._timer = QTimer(self, interval=sweep_ms, timeout=self.sweep)
        self._timer.start()
        self._soon = QTimer(self, singleShot=True, interval=300, timeout=self.refresh)
        ctx.bridge.event.connect(self._on_event)
        self.sweep()

    def _on_event(self, ev: Any) -> None:
        if ev.kind.startswith(("prompt.", "signoff.", "incident.thrive", "incident.graded", "incident.closed",
                               "despatch.", "incident.logged")):
            self._soon.start()

    def sweep(self) -> None:
        run_op(self, self.ctx.session.prompts.check, on_done=lambda _r: self.refresh(), on_error=self._err)

    def refresh(self) -> None:
        s = self.ctx.session
        room = s.user.home_room

        def load() -> tuple[list, list]:
            return s.prompts.active(room=room), (s.signoff.pending() if self.supervisor else [])
        run_op(self, load, on_done=self._show, on_error=self._err)

    def _show(self, result: tuple[list, list]) -> None:
        prompts, pending = result
        self.prompts.clear()
        for p in prompts:
            seen = f" (seen by {p.acknowledged_by})" if p.acknowledged_by else ""
            item = QListWidgetItem(f"{KIND_WORDS.get(p.kind, p.kind)} · {p.message}{seen}")
            item.setData(Qt.UserRole, p)
            item.setForeground(QColor(palette.readable(palette.grade_colour(p.grade))))
            self.prompts.addItem(item)
        self.signoffs.clear()
        for r in pending:
            item = QListWidgetItem(f"{r.urn}: {r.from_grade} → {r.to_grade} asked by {r.requested_by} — {r.reason}")
            item.setData(Qt.UserRole, r)
            self.signoffs.addItem(item)
        self.status.setText(f"{len(prompts)} prompt(s)" + (f", {len(pending)} sign-off(s) waiting" if self.supervisor else ""))

    def _err(self, err: Exception) -> None:
        self.status.setText(str(err))

    def _current(self, lst: QListWidget) -> Any:
        it = lst.currentItem()
        return None if it is None else it.data(Qt.UserRole)

    def acknowledge(self) -> None:
        p = self._current(self.prompts)
        if p is not None:
            run_op(self, lambda: self.ctx.session.prompts.acknowledge(p.id), on_done=lambda _v: self.refresh(),
                   on_error=self._err)

    def victim_update(self) -> None:
        p = self._current(self.prompts)
        if p is None:
            return
        text, ok = QInputDialog.getMultiLineText(self, "Victim update", f"Update given to the caller on {p.urn}:")
        if ok and text.strip():
            run_op(self, lambda: self.ctx.session.prompts.record_victim_update(p.incident_id, text=text),
                   on_done=lambda _v: self.refresh(), on_error=self._err)

    def approve(self) -> None:
        r = self._current(self.signoffs)
        if r is not None:
            run_op(self, lambda: self.ctx.session.signoff.approve(r.id), on_done=lambda _v: self.refresh(),
                   on_error=self._err)

    def reject(self) -> None:
        r = self._current(self.signoffs)
        if r is None:
            return
        why, ok = QInputDialog.getText(self, "Refuse downgrade", f"Why keep {r.urn} at {r.from_grade}?")
        if ok and why.strip():
            run_op(self, lambda: self.ctx.session.signoff.reject(r.id, reason=why),
                   on_done=lambda _v: self.refresh(), on_error=self._err)


def make_panel(ctx: ConsoleContext) -> QWidget:
    return PromptsPanel(ctx)
