"""Reconciliation view for supervisors: anything whose state and age disagree (issue 14).

Rows come from session.handoff.reconciliation() (one SQL query), refreshed off the GUI thread on a
timer and soon after any contact/incident event; the model applies the difference row by row
(insert / remove / dataChanged), never a reset. Ages tick from the console's injectable clock.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QPushButton, QTableView, QVBoxLayout,
                               QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.services.rooms.handoff import ReconItem

from ..kit.proxy_models import SourceDataProxy
from controlroom.kernel import palette
from ..kit.context import ConsoleContext
from ..kit.ops import run_op

COLUMNS = ("What", "State", "Problem", "Age", "Holder / console", "Room", "Grade")
SEVERE = {"held_by_gone_console", "awaiting_despatch_past_target", "reclaimed_waiting"}


def fmt_age(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h {s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


def _key(item: ReconItem) -> tuple[str, int, str]:
    return (item.entity, item.id, item.problem)


class ReconModel(QAbstractTableModel):
    def __init__(self, clock: Any, parent: Any = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.items: list[ReconItem] = []

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        it = self.items[index.row()]
        col = index.column()
        if role == Qt.DisplayRole:
            return (f"{it.entity.title()} {it.ref if it.entity == 'incident' else it.id}",
                    it.state.replace("_", " "), it.problem_text, fmt_age(it.age_s(self.clock())),
                    " / ".join(x for x in (it.holder, it.console) if x) or "—",
                    palette.ROOM_LABELS.get(it.room_code or "", it.room_code or "—"), it.grade or "—")[col]
        if role == Qt.UserRole:  # sort key
            return it.age_s(self.clock()) if col == 3 else self.data(index, Qt.DisplayRole)
        if role == Qt.ForegroundRole and col == 2:
            return QColor(palette.readable(palette.COUNTDOWN_BREACH if it.problem in SEVERE else palette.COUNTDOWN_WARN))
        if role == Qt.ForegroundRole and col == 6 and it.grade:
            return QColor(palette.readable(palette.grade_colour(it.grade)))
        return None

    def apply(self, new: list[ReconItem]) -> None:
        """Bring the rows to `new` with per-row inserts, removals and changes."""
        wanted = {_key(i): i for i in new}
        for row in range(len(self.items) - 1, -1, -1):
            if _key(self.items[row]) not in wanted:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self.items[row]
                self.endRemoveRows()
        have = {_key(i): r for r, i in enumerate(self.items)}
        for k, item in wanted.items():
            row = have.get(k)
            if row is None:
                n = len(self.items)
                self.beginInsertRows(QModelIndex(), n, n)
                self.items.append(item)
                self.endInsertRows()
            elif self.items[row] != item:
                self.items[row] = item
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def tick(self) -> None:
        if self.items:
            self.dataChanged.emit(self.index(0, 3), self.index(len(self.items) - 1, 3), [Qt.DisplayRole])


class ReconciliationPanel(QWidget):
    def __init__(self, ctx: ConsoleContext, *, refresh_ms: int = 5000, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.model = ReconModel(ctx.clock, self)
        proxy = SourceDataProxy(self)
        proxy.setSourceModel(self.model)
        proxy.setSortRole(Qt.UserRole)
        self.table = QTableView()
        self.table.setModel(proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(3, Qt.DescendingOrder)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QTableView.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        self.table.doubleClicked.connect(self._open)
        self.summary = QLabel("Checking…")
        self.reclaim_btn = QPushButton("Return orphaned work to the queue")
        self.reclaim_btn.clicked.connect(self.reclaim)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.reclaim_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table)
        self._busy = False
        self._timer = QTimer(self, interval=refresh_ms, timeout=self.refresh)
        self._timer.start()
        self._ticker = QTimer(self, interval=1000, timeout=self.model.tick)
        self._ticker.start()
        self._soon = QTimer(self, singleShot=True, interval=300, timeout=self.refresh)
        ctx.bridge.event.connect(self._on_event)
        self.refresh()

    def _on_event(self, ev: Any) -> None:
        if ev.kind.split(".")[0] in ("contact", "incident", "despatch"):
            self._soon.start()  # coalesce bursts into one query

    def refresh(self) -> None:
        if self._busy:
            return
        self._busy = True
        run_op(self, self.ctx.session.handoff.reconciliation, on_done=self._show, on_error=self._failed)

    def _show(self, items: list[ReconItem]) -> None:
        self._busy = False
        self.model.apply(items)
        gone = sum(1 for i in items if i.problem == "held_by_gone_console")
        late = sum(1 for i in items if i.entity == "incident")
        self.summary.setText(f"{len(items)} item(s) need a look: {late} incident(s) past target or ungraded, "
                             f"{gone} contact(s) held by a console that is gone." if items
                             else "Nothing out of step: every contact and incident is where its age says.")

    def _failed(self, err: Exception) -> None:
        self._busy = False
        self.summary.setText(f"Could not check: {err}")

    def reclaim(self) -> None:
        run_op(self, self.ctx.session.handoff.reclaim_orphans,
               on_done=lambda rows: (self.summary.setText(f"{len(rows)} contact(s) returned to the queue."),
                                     self.refresh()),
               on_error=self._failed)

    def _open(self, index: QModelIndex) -> None:
        src = self.table.model().mapToSource(index)
        item = self.model.items[src.row()]
        if item.entity == "incident":
            self.ctx.selection.incidentSelected.emit(item.id)


def make_panel(ctx: ConsoleContext) -> QWidget:
    return ReconciliationPanel(ctx)
