"""Keyboard-first building blocks for the incident form (issue 18, item 7).

- FormTabs: Ctrl+Tab never switches tabs while the operator is typing in a field.
- multiline(): a QPlainTextEdit where Tab / Shift+Tab move focus instead of typing a tab.
- SuggestionKeys: Up/Down walk the place suggestions from the location field, Enter picks the
  highlighted one (and only that one: nothing is highlighted until the operator moves to it).
- FieldErrors: an error line under each field plus one banner at the top that is always in view.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QListWidget,
                               QPlainTextEdit, QSizePolicy, QTabWidget, QTextEdit, QWidget)
from .plain import QLabel  # plain text unless made rich on purpose (issue 19)

TYPING_WIDGETS = (QLineEdit, QPlainTextEdit, QTextEdit, QComboBox, QAbstractSpinBox)


def is_typing() -> bool:
    """True when keyboard focus is in a field the operator types into."""
    return isinstance(QApplication.focusWidget(), TYPING_WIDGETS)


class FormTabs(QTabWidget):
    """A tab widget that leaves Ctrl+Tab alone while a field has focus (no tab switch mid-typing)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key_Tab, Qt.Key_Backtab) and event.modifiers() & Qt.ControlModifier and is_typing():
            event.accept()
            return
        super().keyPressEvent(event)


def multiline(max_height: int | None = None, *, placeholder: str = "") -> QPlainTextEdit:
    """Multi-line text where Tab moves to the next field (control rooms tab through forms)."""
    edit = QPlainTextEdit()
    edit.setTabChangesFocus(True)
    edit.setPlaceholderText(placeholder)
    if max_height:
        edit.setMaximumHeight(max_height)
    return edit


def shrinkable_combo(min_chars: int = 14) -> QComboBox:
    """A combo box whose long item texts never force the panel to scroll sideways."""
    box = QComboBox()
    box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(min_chars)
    box.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
    return box


class SuggestionKeys(QObject):
    """Up/Down + Enter in a line edit drive a suggestion list that never takes focus itself."""

    def __init__(self, edit: QLineEdit, listing: QListWidget, pick: Callable[[int], None]) -> None:
        super().__init__(edit)
        self.edit, self.listing, self.pick = edit, listing, pick
        listing.setFocusPolicy(Qt.NoFocus)  # Tab skips it; the keys below reach it from the field
        edit.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() != QEvent.KeyPress or not self.listing.count():
            return False
        key, n = event.key(), self.listing.count()
        row = self.listing.currentRow()
        if key == Qt.Key_Down:
            self.listing.setCurrentRow(min(row + 1, n - 1))
            return True
        if key == Qt.Key_Up:
            self.listing.setCurrentRow(max(row - 1, 0) if row >= 0 else 0)
            return True
        if key in (Qt.Key_Return, Qt.Key_Enter) and row >= 0 and self.listing.currentItem().isSelected():
            self.pick(row)
            return True
        return False


class FieldErrors:
    """Errors next to their fields and in a banner; the first invalid field gets the focus."""

    def __init__(self, banner: QLabel) -> None:
        self.banner = banner
        self.fields: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.focus_hooks: dict[str, Callable[[], None]] = {}  # e.g. switch to the field's tab first

    def add(self, name: str, widget: QWidget, *, before_focus: Callable[[], None] | None = None) -> QLabel:
        label = QLabel("")
        label.setObjectName("fieldError")
        label.setWordWrap(True)
        label.setTextFormat(Qt.PlainText)
        label.hide()
        self.fields[name], self.labels[name] = widget, label
        if before_focus is not None:
            self.focus_hooks[name] = before_focus
        return label

    def clear(self) -> None:
        for name, widget in self.fields.items():
            self._mark(widget, False)
            self.labels[name].hide()
        self.say("")

    def show(self, problems: list[tuple[str | None, str]]) -> None:
        """problems: (field name or None, message) in the form's order; the first one gets focus."""
        self.clear()
        for name, text in problems:
            if name in self.fields:
                self._mark(self.fields[name], True)
                self.labels[name].setText(text)
                self.labels[name].show()
        if len(problems) == 1:
            self.say(problems[0][1], error=True)
        elif problems:
            self.say(f"{len(problems)} things to fix before saving: " + " ".join(t for _n, t in problems),
                     error=True)
        first = next((n for n, _t in problems if n in self.fields), None)
        if first is not None:
            hook = self.focus_hooks.get(first)
            if hook is not None:
                hook()
            self.fields[first].setFocus(Qt.OtherFocusReason)

    def say(self, text: str, *, error: bool = False) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        self.banner.setProperty("error", error)
        self.banner.style().polish(self.banner)

    @staticmethod
    def _mark(widget: QWidget, invalid: bool) -> None:
        widget.setProperty("invalid", invalid)
        widget.style().polish(widget)
