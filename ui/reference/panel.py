"""Reference panel (strategy §6.5): search the guidance, read it, see who changed what.

Follows the selected incident (its type and flags bring up the linked procedures) until the
operator searches. Supervisors create and publish new versions (ui/reference/editor.py).
"""
from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLineEdit, QListWidget, QListWidgetItem,
                               QPushButton, QSplitter, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.kernel.roles import allowed

from controlroom.kernel import palette
from ..kit.context import ConsoleContext
from ..kit.ops import run_op
from .view import DocumentView, snippet_html


class ReferencePanel(QWidget):
    def __init__(self, ctx: ConsoleContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        s = ctx.session
        self.editor_allowed = allowed(s.user.role, "reference.edit", training=s.training)
        self.query = QLineEdit(placeholderText="Search guidance (e.g. firearms authorisation, DASH)")
        self.query.returnPressed.connect(self.search)
        self.overdue = QCheckBox("Overdue reviews only")
        self.overdue.toggled.connect(lambda _: self.search())
        self.results = QListWidget()
        self.results.setObjectName("refResults")
        self.results.setWordWrap(True)
        self.results.currentItemChanged.connect(lambda it, _prev: self._open(it))
        self.doc_view = DocumentView()
        self.status = QLabel("")
        self.status.setTextFormat(Qt.PlainText)
        top = QHBoxLayout()
        top.addWidget(self.query, 1)
        top.addWidget(self.overdue)
        if self.editor_allowed:
            new_btn, edit_btn = QPushButton("New document…"), QPushButton("Edit / publish version…")
            new_btn.clicked.connect(lambda: self._edit(None))
            edit_btn.clicked.connect(lambda: self._edit(self.doc_view.doc))
            top.addWidget(new_btn)
            top.addWidget(edit_btn)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.results)
        split.addWidget(self.doc_view)
        split.setSizes([320, 520])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)
        self._following: tuple[str | None, tuple[str, ...]] | None = None
        self._gen = 0
        self._refresh_soon = QTimer(self, singleShot=True, interval=200, timeout=self.refresh)
        ctx.selection.incidentSelected.connect(self.follow_incident)
        ctx.bridge.event.connect(self._on_event)
        self.search()

    # ---- what the list shows ----------------------------------------------------------------
    def _latest(self, show: Any) -> Any:
        """Only the newest request's answer is shown (an older one may come back later)."""
        self._gen += 1
        gen = self._gen
        return lambda result: show(result) if gen == self._gen else None

    def search(self) -> None:
        self._following = None
        q = self.query.text().strip()
        svc = self.ctx.session.reference
        if q:
            run_op(self, lambda: svc.search(q), on_done=self._latest(self._show_hits), on_error=self._error)
        else:
            only = self.overdue.isChecked()
            run_op(self, lambda: svc.list(overdue_only=only), on_done=self._latest(self._show_docs),
                   on_error=self._error)

    def follow_incident(self, incident_id: int) -> None:
        s = self.ctx.session

        def load() -> Any:
            inc = s.incidents.get(incident_id)
            return inc, s.reference.for_incident(incident_type=inc.incident_type, flags=inc.flags)

        def shown(result: Any) -> None:
            inc, docs = result
            self._following = (inc.incident_type, tuple(inc.flags))
            self._show_docs(docs)
            self.status.setText(f"Guidance for {inc.urn} ({inc.incident_type}"
                                + (", " + ", ".join(inc.flags) if inc.flags else "") + ")")
        run_op(self, load, on_done=self._latest(shown), on_error=self._error)

    def refresh(self) -> None:
        if self._following is not None:
            t, flags = self._following
            svc = self.ctx.session.reference
            run_op(self, lambda: svc.for_incident(incident_type=t, flags=flags),
                   on_done=self._latest(self._show_docs), on_error=self._error)
        else:
            self.search()

    def _show_hits(self, hits: list[Any]) -> None:
        self.results.clear()
        for h in hits:
            item = QListWidgetItem()
            item.setData(Qt.UserRole, h.id)
            label = QLabel(f"<b>{_esc(h.title)}</b>{' · <i>REVIEW OVERDUE</i>' if h.overdue else ''}"
                           f"{' · demo' if h.demo else ''}<br>{snippet_html(h.snippet)}")
            label.setTextFormat(Qt.RichText)  # built from escaped segments only (reference_view)
            label.setWordWrap(True)
            label.setContentsMargins(4, 3, 4, 3)
            item.setToolTip(h.snippet_text)
            self.results.addItem(item)
            self.results.setItemWidget(item, label)
            item.setSizeHint(QSize(0, label.heightForWidth(max(200, self.results.viewport().width() - 8)) + 6))
        self.status.setText(f"{len(hits)} match{'es' if len(hits) != 1 else ''} for '{self.query.text().strip()}'")
        if hits:
            self.results.setCurrentRow(0)

    def _show_docs(self, docs: list[Any]) -> None:
        self.results.clear()
        for d in docs:
            marks = (" — REVIEW OVERDUE" if d.overdue else "") + (" — demo" if d.demo else "")
            item = QListWidgetItem(f"{d.title}\n{d.kind_label} · v{d.version}{marks}")
            item.setData(Qt.UserRole, d.id)
            if d.overdue:
                item.setForeground(QColor(palette.theme_text("error")))
            self.results.addItem(item)
        self.status.setText(f"{len(docs)} document{'s' if len(docs) != 1 else ''}")
        if docs:
            self.results.setCurrentRow(0)
        else:
            self.doc_view.show_document(None)

    def _open(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        doc_id = item.data(Qt.UserRole)
        svc = self.ctx.session.reference
        run_op(self, lambda: (svc.get(doc_id), svc.history(doc_id)),
               on_done=lambda r: self.doc_view.show_document(*r), on_error=self._error)

    # ---- editing ----------------------------------------------------------------------------
    def _edit(self, doc: Any) -> None:
        from .editor import ReferenceEditor
        dlg = ReferenceEditor(self.ctx, doc, parent=self)
        dlg.saved.connect(lambda d: self.status.setText(f"Published '{d.title}' version {d.version}"))
        dlg.open()

    def _on_event(self, ev: Any) -> None:
        if ev.kind == "reference.saved":
            self._refresh_soon.start()  # one re-read however many documents were published

    def _error(self, err: Exception) -> None:
        self.status.setText(str(err))


def _esc(text: str) -> str:
    return html.escape(text)


def make_panel(ctx: ConsoleContext) -> QWidget:
    return ReferencePanel(ctx)
