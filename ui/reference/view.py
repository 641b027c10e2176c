"""Showing guidance documents safely: the document itself, its history, and search snippets.

Document text is something a person typed: it is shown as plain text. The one place we build
markup (a search snippet with its matches in bold) escapes every segment first.
"""
from __future__ import annotations

import html
from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QListWidget, QPlainTextEdit, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.services.reference import RefDocumentView, RefVersionView

from controlroom.kernel import palette


def snippet_html(segments: tuple[tuple[str, bool], ...]) -> str:
    """(text, is_match) segments -> markup with the matches in bold, every segment escaped."""
    return "".join(f"<b>{html.escape(t)}</b>" if m else html.escape(t) for t, m in segments)


def doc_heading(doc: RefDocumentView, *, today: date | None = None) -> str:
    marks = []
    if doc.overdue:
        marks.append(f"REVIEW OVERDUE since {doc.review_due:%d %b %Y}")
    else:
        marks.append(f"review due {doc.review_due:%d %b %Y}")
    if doc.demo:
        marks.append("DEMO CONTENT")
    return (f"{doc.title}\n{doc.kind_label} · version {doc.version} · owner {doc.owner} · "
            + " · ".join(marks))


class DocumentView(QWidget):
    """Title line, the body (plain text, read-only) and the version history."""

    def __init__(self, parent: QWidget | None = None, *, history: bool = True) -> None:
        super().__init__(parent)
        self.heading = QLabel("No document selected")
        self.heading.setTextFormat(Qt.PlainText)
        self.heading.setWordWrap(True)
        self.heading.setObjectName("refHeading")
        self.body = QPlainTextEdit(readOnly=True)
        self.body.setObjectName("refBody")
        self.history = QListWidget() if history else None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.heading)
        lay.addWidget(self.body, 3)
        if self.history is not None:
            lay.addWidget(QLabel("Version history"))
            lay.addWidget(self.history, 1)
        self.doc: RefDocumentView | None = None

    def show_document(self, doc: RefDocumentView | None, versions: list[RefVersionView] | None = None) -> None:
        self.doc = doc
        if doc is None:
            self.heading.setText("No guidance linked to this")
            self.body.clear()
        else:
            self.heading.setText(doc_heading(doc))
            self.heading.setStyleSheet(f"color: {palette.theme_text('error')}; font-weight: bold" if doc.overdue else "font-weight: bold")
            self.body.setPlainText(doc.body)
        if self.history is not None:
            self.history.clear()
            for v in versions or []:
                self.history.addItem(f"v{v.version}  {v.changed_at:%d %b %Y %H:%M}  {v.changed_by}:  {v.change_note}")
