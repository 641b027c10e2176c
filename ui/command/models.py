"""Qt models for the command panel: incidents under command and the NDM decision log.

Both update one row at a time from command.* events (no model resets on events)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor

from controlroom.services.command.views import (CommandView, DecisionView, command_view, current_roles,
    row_view)
from controlroom.services.views import parse_ts

from controlroom.kernel import palette

CHAIN_EVENTS = ("command.firearms_accepted", "command.role_assigned", "command.major_declared")


def local_time(ts: Any) -> str:
    return ts.astimezone().strftime("%H:%M:%S") if ts is not None else ""


def kind_label(c: CommandView) -> str:
    parts = []
    if c.major_kind:
        parts.append(c.major_kind.upper())
    if c.firearms:
        parts.append("FIREARMS")
    return " + ".join(parts)


class UnderCommandModel(QAbstractTableModel):
    """Open firearms / major / critical incidents with who commands them and the ARV state."""

    HEADERS = ("URN", "Kind", "In command", "Armed deployment")
    ViewRole = Qt.UserRole + 1

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[CommandView] = []

    # -- Qt model ---------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        c, col = self.rows[index.row()], index.column()
        if role == self.ViewRole:
            return c
        if role == Qt.DisplayRole:
            if col == 0:
                return c.urn
            if col == 1:
                return kind_label(c)
            if col == 2:
                r = c.in_command
                return f"{r.role} {r.holder}" if r else "nobody — awaiting inspector"
            if col == 3:
                if not c.firearms:
                    return "—"
                return (f"AUTHORISED {local_time(c.armed_authorised_at)}" if c.armed_authorised
                        else "NOT AUTHORISED")
        if role == Qt.ForegroundRole and col == 3 and c.firearms:
            return QColor(palette.readable(palette.COUNTDOWN_OK if c.armed_authorised else palette.COUNTDOWN_BREACH))
        if role == Qt.ToolTipRole:
            return c.summary
        return None

    # -- updates ----------------------------------------------------------------------------------
    def load(self, views: list[CommandView]) -> None:
        """Initial fill (not on events)."""
        self.beginResetModel()
        self.rows = list(views)
        self.endResetModel()

    def row_of(self, incident_id: int) -> int:
        for i, c in enumerate(self.rows):
            if c.incident_id == incident_id:
                return i
        return -1

    def upsert(self, view: CommandView) -> None:
        i = self.row_of(view.incident_id)
        if i < 0:
            self.beginInsertRows(QModelIndex(), 0, 0)  # newest first
            self.rows.insert(0, view)
            self.endInsertRows()
        else:
            self.rows[i] = view
            self.dataChanged.emit(self.index(i, 0), self.index(i, self.columnCount() - 1))

    def remove(self, incident_id: int) -> None:
        i = self.row_of(incident_id)
        if i >= 0:
            self.beginRemoveRows(QModelIndex(), i, i)
            del self.rows[i]
            self.endRemoveRows()

    def get(self, incident_id: int) -> CommandView | None:
        i = self.row_of(incident_id)
        return self.rows[i] if i >= 0 else None

    def apply_event(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Apply one event; returns the incident id it changed (or None)."""
        if kind == "command.firearms_declared":
            old = self.get(payload["id"])
            self.upsert(command_view(payload, []).replace(roles=old.roles) if old else command_view(payload, []))
            return payload["id"]
        if kind == "command.armed_authorised":
            inc = payload["incident"]
            self.upsert(command_view(inc, []).replace(roles=_chain(payload)))
            return inc["id"]
        if kind == "command.major_declared" or kind in CHAIN_EVENTS:
            iid = payload["incident_id"]
            old = self.get(iid)
            if old is None and kind == "command.major_declared":
                old = command_view(payload["incident"], []) if "incident" in payload else None
            if old is None:
                return None
            self.upsert(old.replace(roles=_chain(payload), firearms=payload.get("firearms", old.firearms),
                                    major_kind=payload.get("major_kind", old.major_kind),
                                    armed_authorised_at=parse_ts(payload.get("armed_authorised_at")),
                                    armed_authorised_by=payload.get("armed_authorised_by")))
            return iid
        if kind == "incident.closed":
            iid = int(payload.get("id", 0))
            self.remove(iid)
            return iid
        return None


def _chain(payload: dict[str, Any]) -> tuple:
    return current_roles(payload.get("chain") or [])


class DecisionModel(QAbstractTableModel):
    """One incident's decision log, oldest first; new decisions append (the log is append-only)."""

    HEADERS = ("Time", "NDM stage", "Decision", "Rationale", "By")

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[DecisionView] = []
        self.incident_id: int | None = None

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        d = self.rows[index.row()]
        if role == Qt.DisplayRole:
            return (local_time(d.at), f"{d.stage} {d.stage_name}", d.decision, d.rationale,
                    d.by)[index.column()]
        if role == Qt.ToolTipRole:
            return f"Options considered: {d.options_considered}" if d.options_considered else d.rationale
        return None

    def show(self, incident_id: int | None, rows: list[DecisionView]) -> None:
        """Switch to another incident (a selection change, not an event)."""
        self.beginResetModel()
        self.incident_id, self.rows = incident_id, list(rows)
        self.endResetModel()

    def append_payload(self, payload: dict[str, Any]) -> None:
        if payload.get("incident_id") != self.incident_id or any(r.id == payload["id"] for r in self.rows):
            return
        n = len(self.rows)
        self.beginInsertRows(QModelIndex(), n, n)
        self.rows.append(row_view(DecisionView, payload))
        self.endInsertRows()

