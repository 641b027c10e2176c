"""Sort/filter proxies whose data path stays in Python (no binding call that returns None).

PySide6 6.12.0 on CPython 3.11 returns None from `QSortFilterProxyModel.data()`/`headerData()`
(an invalid QVariant) without a reference; a view asks for a dozen roles per cell per repaint,
most of them None, so a proxy calling `super().data()` drained None and aborted the console
(issue 18; see ui/kit/qt_workarounds.py). Our source models are Python, so the proxy maps the index
and asks the source directly: one binding call (`mapToSource`) that returns an index, not None.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt


class SourceDataProxy(QSortFilterProxyModel):
    """A QSortFilterProxyModel that reads data and headers from its Python source model."""

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole) -> Any:
        source = self.sourceModel()
        if source is None or not index.isValid():
            return None
        return source.data(self.mapToSource(index), role)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.DisplayRole) -> Any:
        source = self.sourceModel()
        if source is None or section < 0:
            return None
        if orientation == Qt.Vertical:  # rows are sorted/filtered: the source row's header
            if section >= self.rowCount():
                return None
            section = self.mapToSource(self.index(section, 0)).row()
        elif self.rowCount() and section < self.columnCount():
            section = self.mapToSource(self.index(0, section)).column()
        return source.headerData(section, orientation, role)
