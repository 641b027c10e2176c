"""The part every list/board model shares: rows in a Python list, named columns."""
from __future__ import annotations

import functools
from typing import Any, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont


class RowTableModel(QAbstractTableModel):
    """Subclasses set `columns` and keep `self.rows`; they add data() and incremental updates."""

    columns: Sequence[str] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole and 0 <= section < len(self.columns):
            return self.columns[section]
        return None


@functools.cache
def bold_font() -> QFont:
    """One bold font for every model's FontRole: built per call, its void setBold() cost None a
    reference each paint on PySide6 6.12.0/CPython 3.11 (ui/kit/qt_workarounds.py)."""
    font = QFont()
    font.setBold(True)
    return font
