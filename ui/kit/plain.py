"""Text a person typed is shown as plain text, never interpreted as HTML (issue 19).

A QLabel's default text format is AutoText: any text that *looks* like HTML is rendered as rich
text, so a summary typed as `<span style='color:green'>HOAX CALL – STAND DOWN</span>` became a
fake green banner in the inspector's firearms alert. Every console module takes `QLabel` from
here: a label that is plain text unless its owner deliberately switches it to rich text (and then
escapes every typed segment itself, e.g. reference_view.snippet_html).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel as _QtLabel


class QLabel(_QtLabel):  # noqa: N801 - a drop-in for PySide6's QLabel
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.setTextFormat(Qt.PlainText)


__all__ = ["QLabel"]
