"""The despatch tab's "units on this incident" table and the Clear… result dialog."""
from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLineEdit, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.services.views import parse_ts

from controlroom.kernel import palette

ASSIGNED_COLUMNS = ("Callsign", "Status", "Assigned", "At scene", "By")


def _hhmm(value: Any) -> str:
    at = parse_ts(value)
    return "" if at is None else at.astimezone().strftime("%H:%M:%S")


class AssignedModel(QAbstractTableModel):
    """The units on the incident now (open assignments); one row per event, never a reset."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []

    def row_of(self, callsign: str) -> Optional[int]:
        return next((i for i, r in enumerate(self.rows) if r["callsign"] == callsign), None)

    def clear_rows(self) -> None:
        if self.rows:
            self.beginRemoveRows(QModelIndex(), 0, len(self.rows) - 1)
            self.rows = []
            self.endRemoveRows()

    def load(self, rows: list[dict[str, Any]]) -> None:
        """Fill for a newly shown incident (remove the old incident's rows, insert the new)."""
        self.clear_rows()
        if rows:
            self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
            self.rows = [dict(r) for r in rows]
            self.endInsertRows()

    def upsert(self, row: dict[str, Any]) -> None:
        i = self.row_of(row["callsign"])
        if i is None:
            n = len(self.rows)
            self.beginInsertRows(QModelIndex(), n, n)
            self.rows.append(dict(row))
            self.endInsertRows()
        else:
            self.rows[i].update(row)
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(ASSIGNED_COLUMNS) - 1))

    def remove(self, callsign: str) -> None:
        i = self.row_of(callsign)
        if i is not None:
            self.beginRemoveRows(QModelIndex(), i, i)
            del self.rows[i]
            self.endRemoveRows()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(ASSIGNED_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return ASSIGNED_COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, col = self.rows[index.row()], index.column()
        status = r.get("status") or ""
        if role == Qt.DisplayRole:
            return (r["callsign"], palette.UNIT_STATUS_LABELS.get(status, status), _hhmm(r.get("assigned_at")),
                    _hhmm(r.get("arrived_at")) or "—", r.get("assigned_by") or "")[col]
        if role == Qt.BackgroundRole and col == 1:
            return QBrush(QColor(palette.unit_status_colour(status)))
        if role == Qt.ForegroundRole and col == 1:
            return QBrush(QColor(palette.ink_on(palette.unit_status_colour(status))))
        return None


class ClearDialog(QDialog):
    """Asks for the result a unit leaves the incident with (required by the service)."""

    def __init__(self, callsign: str, urn: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.callsign = callsign
        self.setWindowTitle(f"Clear {callsign}")
        self.result_edit = QLineEdit(placeholderText="Result, e.g. words of advice given, no offences")
        self.result_edit.setMaxLength(500)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.Ok)
        self.ok.setText("Clear unit")
        self.ok.setEnabled(False)
        self.result_edit.textChanged.connect(lambda t: self.ok.setEnabled(bool(t.strip())))
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"Clear {callsign} from {urn} — result:"))
        lay.addWidget(self.result_edit)
        lay.addWidget(buttons)

    def result_text(self) -> str:
        return self.result_edit.text().strip()


def id_of(inc: Any) -> Optional[int]:
    return int(inc["id"]) if isinstance(inc, dict) and inc.get("id") is not None else None


def assigned_row(unit: dict[str, Any], asg: dict[str, Any]) -> dict[str, Any]:
    return {"callsign": unit["callsign"], "status": unit.get("status"), "assigned_at": asg.get("assigned_at"),
            "arrived_at": asg.get("arrived_at"), "assigned_by": asg.get("assigned_by")}
