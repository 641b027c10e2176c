"""The grey label a console shows where a panel could not be built (or is not for this console)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from .plain import QLabel  # plain text unless made rich on purpose (issue 19)


def placeholder(text: str) -> QWidget:
    label = QLabel(text)
    label.setAlignment(Qt.AlignCenter)
    label.setObjectName("placeholder")
    label.setWordWrap(True)
    return label
