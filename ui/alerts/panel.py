"""Alerts panel (issue 20): every open alert for this console's role and room, live, with who
took it and when; acknowledge and clear from here too."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from controlroom.errors import ControlRoomError
from controlroom.services.alerts import AlertView

from controlroom.kernel import palette
from .queue import AlertStore
from ..kit.ops import run_op
from ..kit.table_model import RowTableModel

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext

STATE_LABELS = {"raised": "RAISED", "acknowledged": "Taken", "cleared": "Cleared"}


class AlertsModel(RowTableModel):
    columns = ("Raised", "Alert", "Subject", "Room", "State", "Taken by", "Level")

    def __init__(self, store: AlertStore, parent: Any = None) -> None:
        super().__init__(parent)
        self.store = store
        self.rows: list[AlertView] = []
        store.changed.connect(self.on_change)
        store.loaded.connect(self.reload)

    def reload(self) -> None:
        self.beginResetModel()  # only at sign-in / reconnect, never per event
        self.rows = self.store.open_alerts()
        self.endResetModel()

    def on_change(self, alert: AlertView) -> None:
        idx = next((i for i, r in enumerate(self.rows) if r.id == alert.id), None)
        keep = alert.id in self.store.alerts
        if idx is None and keep:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows))
            self.rows.append(self.store.alerts[alert.id])
            self.endInsertRows()
        elif idx is not None and not keep:
            self.beginRemoveRows(QModelIndex(), idx, idx)
            del self.rows[idx]
            self.endRemoveRows()
        elif idx is not None:
            self.rows[idx] = self.store.alerts[alert.id]
            self.dataChanged.emit(self.index(idx, 0), self.index(idx, len(self.columns) - 1))

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        a = self.rows[index.row()]
        col = index.column()
        if role == Qt.DisplayRole:
            return (a.raised_at.astimezone().strftime("%H:%M:%S"), a.label,
                    a.title, (a.room_code or "").title(), STATE_LABELS.get(a.state, a.state),
                    a.acknowledged_by or "", ("escalated ×%d" % a.level) if a.level else "")[col]
        if role == Qt.BackgroundRole and col == 4 and a.state == "raised":
            return QBrush(QColor(palette.COUNTDOWN_BREACH))
        if role == Qt.ForegroundRole and col == 4 and a.state == "raised":
            return QBrush(QColor(palette.ink_on(palette.COUNTDOWN_BREACH)))
        if role == Qt.ToolTipRole:
            return a.title
        if role == Qt.UserRole:
            return a.id
        return None


class AlertsPanel(QWidget):
    def __init__(self, ctx: "ConsoleContext", store: AlertStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.store = store
        self.model = AlertsModel(store, self)
        self.table = QTableView()
        self.table.setObjectName("alertsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.ack = QPushButton("Acknowledge")
        self.ack.setObjectName("alertsAcknowledge")
        self.ack.clicked.connect(self.acknowledge_selected)
        self.status = QLabel()
        self.status.setTextFormat(Qt.PlainText)
        self.status.setWordWrap(True)
        self.unmute = QPushButton("Unmute room")
        self.unmute.setObjectName("alertsUnmuteRoom")
        self.unmute.setToolTip("End every console's G1 alarm mute in this room")
        self.unmute.setVisible(ctx.session.user.role in ("supervisor", "inspector", "trainer"))
        self.unmute.clicked.connect(self.unmute_room)
        row = QHBoxLayout()
        row.addWidget(self.ack)
        row.addWidget(self.unmute)
        row.addWidget(self.status, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.table, 1)
        lay.addLayout(row)
        self.model.reload()

    def selected(self) -> AlertView | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()] if rows else None

    def acknowledge_selected(self) -> None:
        a = self.selected()
        if a is None:
            self.status.setText("Select an alert first.")
            return
        banner = self.ctx.extras.get("alarm_banner")
        if banner is not None and banner.is_locked():
            self.status.setText("The console is locked: unlock it to act.")
            return
        run_op(self, lambda: self.ctx.session.alerts.acknowledge(a.id),
               on_done=lambda v: self.status.setText(f"Taken: {v.title}"), on_error=self._failed)

    def unmute_room(self) -> None:
        run_op(self, lambda: self.ctx.session.alerts.unmute_room(),
               on_done=lambda _r: self.status.setText("Alarm sounds back on for every console of the room."),
               on_error=self._failed)

    def _failed(self, err: ControlRoomError) -> None:
        self.status.setText(str(err))


def make_panel(ctx: "ConsoleContext") -> QWidget:
    return AlertsPanel(ctx, alert_store(ctx))


def alert_store(ctx: "ConsoleContext") -> AlertStore:
    """One store per console, shared by the band and the panel."""
    store = ctx.extras.get("alert_store")
    if store is None:
        store = ctx.extras["alert_store"] = AlertStore(ctx)
    return store
