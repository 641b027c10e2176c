"""Replay incident table: rows follow the replayed state with row inserts/removes/dataChanged."""
from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from controlroom.kernel import palette

COLUMNS = ("URN", "Grade", "Status", "Room", "Type", "Units", "Summary")
IdRole = Qt.UserRole + 2


def _cells(d: dict[str, Any]) -> tuple[str, ...]:
    return (d["urn"], d.get("grade") or "—", (d.get("status") or "").replace("_", " "), d.get("room_code") or "",
            d.get("incident_type") or "", ", ".join(d.get("units") or ()), d.get("summary") or "")


class ReplayIncidentModel(QAbstractTableModel):
    """Open incidents of the replayed moment; `show(rows)` diffs against what is shown."""

    def __init__(self) -> None:
        super().__init__()
        self._ids: list[int] = []
        self._rows: dict[int, dict[str, Any]] = {}

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        d = self._rows[self._ids[index.row()]]
        if role == Qt.DisplayRole:
            return _cells(d)[index.column()]
        if role == IdRole:
            return d["id"]
        if role == Qt.BackgroundRole and index.column() == 1 and d.get("grade"):
            return QBrush(QColor(palette.GRADE_COLOURS.get(d["grade"], palette.UNGRADED_COLOUR)))
        if role == Qt.ForegroundRole and index.column() == 1 and d.get("grade"):
            return QBrush(QColor(palette.ink_on(palette.GRADE_COLOURS.get(d["grade"], palette.UNGRADED_COLOUR))))
        return None

    def incident(self, row: int) -> Optional[dict[str, Any]]:
        return self._rows.get(self._ids[row]) if 0 <= row < len(self._ids) else None

    def row_of(self, incident_id: int) -> int:
        return self._ids.index(incident_id) if incident_id in self._rows else -1

    def show(self, rows: list[dict[str, Any]]) -> None:
        """Make the table show `rows` (oldest first) with the fewest row changes."""
        new = {d["id"]: d for d in rows}
        for i in range(len(self._ids) - 1, -1, -1):
            if self._ids[i] not in new:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self._rows[self._ids.pop(i)]
                self.endRemoveRows()
        for d in rows:
            iid = d["id"]
            if iid in self._rows:
                if _cells(self._rows[iid]) != _cells(d):
                    self._rows[iid] = d
                    r = self._ids.index(iid)
                    self.dataChanged.emit(self.index(r, 0), self.index(r, len(COLUMNS) - 1))
                else:
                    self._rows[iid] = d
            else:
                r = len(self._ids)
                self.beginInsertRows(QModelIndex(), r, r)
                self._ids.append(iid)
                self._rows[iid] = d
                self.endInsertRows()
