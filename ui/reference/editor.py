"""Create a guidance document or publish its next version (supervisors; the database checks too)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDateEdit, QDialog, QDialogButtonBox, QFormLayout,
                               QLineEdit, QPlainTextEdit, QVBoxLayout)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.services.incidents import FLAG_NAMES
from controlroom.services.reference import KINDS

from ..kit.context import ConsoleContext
from ..kit.ops import run_op


class ReferenceEditor(QDialog):
    saved = Signal(object)

    def __init__(self, ctx: ConsoleContext, doc: Any = None, parent: Any = None) -> None:
        super().__init__(parent)
        self.ctx, self.doc = ctx, doc
        self.setWindowTitle("Publish a new version" if doc else "New guidance document")
        self.kind = QComboBox()
        for code, label in KINDS.items():
            self.kind.addItem(label, code)
        self.title = QLineEdit()
        self.owner = QLineEdit()
        self.review = QDateEdit(calendarPopup=True)
        self.body = QPlainTextEdit()
        self.types = QLineEdit(placeholderText="Incident types, e.g. FIREARMS, DOMESTIC")
        self.flags = QLineEdit(placeholderText="Flags: " + ", ".join(FLAG_NAMES))
        self.note = QLineEdit(placeholderText="What changed and why (kept in the history)")
        self.message = QLabel("")
        self.message.setTextFormat(Qt.PlainText)
        self.message.setWordWrap(True)
        form = QFormLayout()
        for label, w in (("Kind", self.kind), ("Title", self.title), ("Owner", self.owner),
                         ("Review by", self.review), ("Incident types", self.types), ("Flags", self.flags),
                         ("Change note", self.note)):
            form.addRow(label, w)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.body, 1)
        lay.addWidget(self.message)
        lay.addWidget(buttons)
        self.resize(640, 560)
        due = doc.review_due if doc else date.today() + timedelta(days=365)
        self.review.setDate(QDate(due.year, due.month, due.day))
        if doc:
            self.kind.setCurrentIndex(max(0, self.kind.findData(doc.kind)))
            self.title.setText(doc.title)
            self.owner.setText(doc.owner)
            self.body.setPlainText(doc.body)
            self.types.setText(", ".join(doc.incident_types))
            self.flags.setText(", ".join(doc.flags))

    def save(self) -> None:
        doc = self.doc
        qd = self.review.date()
        args = dict(kind=self.kind.currentData(), title=self.title.text(), owner=self.owner.text(),
                    body=self.body.toPlainText(), review_due=date(qd.year(), qd.month(), qd.day()),
                    change_note=self.note.text(), incident_types=_codes(self.types.text(), upper=True),
                    flags=_codes(self.flags.text(), upper=False))
        if doc:
            args.update(document_id=doc.id, expected_version=doc.version)
        svc = self.ctx.session.reference
        run_op(self, lambda: svc.save(**args), on_done=self._done, on_error=lambda e: self.message.setText(str(e)))

    def _done(self, doc: Any) -> None:
        self.saved.emit(doc)
        self.accept()


def _codes(text: str, *, upper: bool) -> list[str]:
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    return [p.upper() if upper else p.lower() for p in parts]


