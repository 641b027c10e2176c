"""The incident form's Procedure tab: the guidance for what is in front of the operator.

Follows the form as it is typed (incident type and flags), so a new firearms call shows the
firearms procedure before it is even saved; a domestic flag brings the DA risk procedure.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from ..kit.context import ConsoleContext
from ..kit.ops import run_op
from .view import DocumentView


class ProcedureTab(QWidget):
    def __init__(self, ctx: ConsoleContext, form: Any) -> None:
        super().__init__()
        self.ctx, self.form = ctx, form
        self.docs: list[Any] = []
        self.summary = QLabel("Pick an incident type to see its procedure.")
        self.summary.setTextFormat(Qt.PlainText)
        self.summary.setWordWrap(True)
        self.picker = QComboBox()
        self.picker.currentIndexChanged.connect(self._pick)
        self.view = DocumentView(history=False)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.picker)
        lay.addWidget(self.view, 1)
        self._soon = QTimer(self, singleShot=True, interval=120, timeout=self.refresh)
        form.type.currentIndexChanged.connect(lambda _: self._soon.start())
        for cb in form.flags.values():
            cb.toggled.connect(lambda _: self._soon.start())
        ctx.bridge.event.connect(lambda ev: self._soon.start() if ev.kind == "reference.saved" else None)
        self._soon.start()

    def refresh(self) -> None:
        t = self.form.type.currentData()
        flags = [f for f, cb in self.form.flags.items() if cb.isChecked()]
        svc = self.ctx.session.reference
        run_op(self, lambda: svc.for_incident(incident_type=t, flags=flags), on_done=self._show,
               on_error=lambda e: self.summary.setText(str(e)))

    def _show(self, docs: list[Any]) -> None:
        self.docs = docs
        self.picker.blockSignals(True)
        self.picker.clear()
        for d in docs:
            self.picker.addItem(f"{d.kind_label}: {d.title}" + (" (REVIEW OVERDUE)" if d.overdue else ""))
        self.picker.blockSignals(False)
        self.picker.setVisible(len(docs) > 1)
        if docs:
            why = ", ".join(docs[0].matched_by)
            self.summary.setText(f"{len(docs)} guidance document{'s' if len(docs) > 1 else ''} for this incident"
                                 f" ({why}).")
            self._pick(0)
        else:
            self.summary.setText("No guidance is linked to this incident type or its flags.")
            self.view.show_document(None)
        tabs = self.form.tabs
        tabs.setTabText(tabs.indexOf(self), f"Procedure ({len(docs)})" if docs else "Procedure")

    def _pick(self, i: int) -> None:
        if 0 <= i < len(self.docs):
            self.view.show_document(self.docs[i])


def make_procedure_tab(ctx: ConsoleContext, form: Any) -> QWidget:
    return ProcedureTab(ctx, form)
