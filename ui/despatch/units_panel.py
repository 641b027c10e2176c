"""Units board: every unit by room and area, status in colour *and* words, live from events.

Filter by capability or room; double-click a unit for its timeline (statuses, incidents, AVL).
Each event updates one row (dataChanged) or inserts one; the model is never reset on an event.
Rows are grouped by room and area: the first column names the group on its first row only, and a
line separates groups (while sorted by group or callsign).
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Optional

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QHBoxLayout, QHeaderView,
                               QStyledItemDelegate, QStyleOptionViewItem, QTableWidget,
                               QTableWidgetItem, QTableView, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.models.resources import CAPABILITIES
from controlroom.services.views import parse_ts

from ..kit.table_model import RowTableModel, bold_font
from controlroom.kernel import palette
from ..kit.ops import run_op
from ..kit.proxy_models import SourceDataProxy
from ..kit.unit_drag import UnitDragSource, make_drag_source

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext

COLUMNS = ("Room / area", "Callsign", "Status", "Capabilities", "Room", "Area", "Incident", "AVL")
GROUP, CALLSIGN, STATUS, CAPS, ROOM, AREA, INCIDENT, AVL = range(8)
STALE_S = 60  # DESIGN: a position older than 60 s is shown as stale
SORT_ROLE = Qt.UserRole + 1
ROOM_LABEL = {"north": "North", "south": "South"}


class UnitsModel(UnitDragSource, RowTableModel):
    """One row per unit (dicts shaped like the unit row of the event payloads)."""
    columns = COLUMNS

    def __init__(self, area_rooms: dict[str, str], clock: Callable[[], datetime],
                 area_names: Optional[dict[str, str]] = None) -> None:
        super().__init__()
        self.area_rooms, self.clock = area_rooms, clock
        self.area_names = area_names or {}
        self.rows: list[dict[str, Any]] = []
        self._row_of: dict[str, int] = {}
        self.urns: dict[int, str] = {}

    def load(self, units: list[dict[str, Any]], urns: dict[int, str]) -> None:
        self.urns.update(urns)
        if self.rows:
            self.beginRemoveRows(QModelIndex(), 0, len(self.rows) - 1)
            self.rows, self._row_of = [], {}
            self.endRemoveRows()
        if units:
            self.beginInsertRows(QModelIndex(), 0, len(units) - 1)
            self.rows = [dict(u) for u in units]
            self._row_of = {u["callsign"]: i for i, u in enumerate(self.rows)}
            self.endInsertRows()

    def upsert(self, unit: dict[str, Any]) -> None:
        cs = unit.get("callsign")
        if not cs:
            return
        row = self._row_of.get(cs)
        if row is None:
            if "capabilities" not in unit:
                return  # a position for a unit we have not loaded yet
            n = len(self.rows)
            self.beginInsertRows(QModelIndex(), n, n)
            self.rows.append(dict(unit))
            self._row_of[cs] = n
            self.endInsertRows()
            return
        self.rows[row].update(unit)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def on_event(self, ev: Any) -> None:
        p = ev.payload if isinstance(ev.payload, dict) else {}
        if ev.kind == "unit.position":
            u = {k: p[k] for k in ("callsign", "lat", "lon", "area_code", "status") if k in p}
            u["position_at"] = p.get("at")
            self.upsert(u)
        elif ev.kind.startswith("unit.") and p.get("callsign"):
            self.upsert(p)
        elif ev.kind.startswith("despatch.") and isinstance(p.get("unit"), dict):
            inc = p.get("incident") or {}
            if inc.get("id"):
                self.urns[int(inc["id"])] = inc.get("urn", str(inc["id"]))
            self.upsert(p["unit"])
        elif isinstance(p.get("area_rooms"), dict) and self.rows:  # area transfer: rooms column
            self.dataChanged.emit(self.index(0, ROOM), self.index(len(self.rows) - 1, ROOM))

    def unit(self, callsign: str) -> Optional[dict[str, Any]]:
        row = self._row_of.get(callsign)
        return None if row is None else self.rows[row]

    def refresh_ages(self) -> None:
        if self.rows:
            self.dataChanged.emit(self.index(0, AVL), self.index(len(self.rows) - 1, AVL),
                                  [Qt.DisplayRole, Qt.ForegroundRole])

    # -- Qt model ------------------------------------------------------------------------------
    def room_of(self, u: dict[str, Any]) -> str:
        return self.area_rooms.get(u.get("area_code") or u.get("home_area_code") or "", "")

    def group_key(self, u: dict[str, Any]) -> tuple[str, str]:
        return self.room_of(u), u.get("area_code") or "~"  # units outside the force last

    def group_label(self, u: dict[str, Any]) -> str:
        room, area = self.group_key(u)
        area_text = "Outside the force" if area == "~" else self.area_names.get(area, area)
        return f"{ROOM_LABEL.get(room, room or '?')} · {area_text}"

    def age_s(self, u: dict[str, Any]) -> Optional[float]:
        at = parse_ts(u.get("position_at"))
        return None if at is None else max(0.0, (self.clock() - at).total_seconds())

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        u, col = self.rows[index.row()], index.column()
        status = u.get("status", "")
        if role in (Qt.DisplayRole, SORT_ROLE):
            if col == GROUP:
                return self.group_label(u)
            if col == CALLSIGN:
                return u["callsign"]
            if col == STATUS:
                return palette.UNIT_STATUS_LABELS.get(status, status)
            if col == CAPS:
                return " ".join(u.get("capabilities") or ())
            if col == ROOM:
                room = self.room_of(u)
                return room if role == SORT_ROLE else ROOM_LABEL.get(room, room)
            if col == AREA:
                return u.get("area_code") or "outside"
            if col == INCIDENT:
                iid = u.get("incident_id")
                return "" if iid is None else self.urns.get(int(iid), f"#{iid}")
            if col == AVL:
                age = self.age_s(u)
                if role == SORT_ROLE:
                    return -1.0 if age is None else age
                if age is None:
                    return "no fix"
                text = f"{age:.0f} s" if age < 120 else f"{age / 60:.0f} min"
                return f"stale {text}" if age > STALE_S else text
        if role == Qt.FontRole and col == GROUP:
            return bold_font()
        if role == Qt.BackgroundRole:
            if col == STATUS:
                return QBrush(QColor(palette.unit_status_colour(status)))
            if col == ROOM:
                return QBrush(QColor(palette.room_colour(self.room_of(u))))
        if role == Qt.ForegroundRole:
            if col in (STATUS, ROOM):
                bg = palette.unit_status_colour(status) if col == STATUS else palette.room_colour(self.room_of(u))
                return QBrush(QColor(palette.ink_on(bg)))
            if col == AVL:
                age = self.age_s(u)
                if age is None or age > STALE_S:
                    return QBrush(QColor(palette.theme_text("stale")))
        if role == Qt.ToolTipRole and col == GROUP:
            return self.group_label(u)
        if role == Qt.ToolTipRole and col == STATUS:
            return f"{u['callsign']}: {palette.UNIT_STATUS_LABELS.get(status, status)}"
        return None


class UnitsFilter(SourceDataProxy):
    """Grouped by room then area (then callsign); filter by capability and room."""

    def __init__(self) -> None:
        super().__init__()
        self.capability: Optional[str] = None
        self.room: Optional[str] = None
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
        self._touching = False
        self.dataChanged.connect(self._touch_next)

    def grouped(self) -> bool:
        """Sorted by the group (or callsign, which sorts by group first): groups are contiguous."""
        return self.sortColumn() in (GROUP, CALLSIGN)

    def group_starts(self, row: int) -> bool:
        if row <= 0:
            return True
        m = self.sourceModel()
        here, above = (m.rows[self.mapToSource(self.index(r, 0)).row()] for r in (row, row - 1))
        return m.group_key(here) != m.group_key(above)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if (index.isValid() and index.column() == GROUP and role == Qt.DisplayRole and self.grouped()
                and not self.group_starts(index.row())):
            return ""  # the group's name shows on its first row only
        return super().data(index, role)

    def _touch_next(self, top_left: QModelIndex, bottom_right: QModelIndex, *_: Any) -> None:
        """The row below shows or hides its group name (and separator) depending on this row."""
        nxt = bottom_right.row() + 1
        if self._touching or nxt >= self.rowCount():
            return
        self._touching = True
        try:
            self.dataChanged.emit(self.index(nxt, 0), self.index(nxt, len(COLUMNS) - 1))
        finally:
            self._touching = False

    def set_capability(self, cap: Optional[str]) -> None:
        self._refilter(lambda: setattr(self, "capability", cap or None))

    def set_room(self, room: Optional[str]) -> None:
        self._refilter(lambda: setattr(self, "room", room or None))

    def _refilter(self, change: Callable[[], None]) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9: invalidateFilter() is deprecated
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            change()
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802
        u = self.sourceModel().rows[row]
        if self.capability and self.capability not in (u.get("capabilities") or ()):
            return False
        return not self.room or self.sourceModel().room_of(u) == self.room

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:  # noqa: N802
        m = self.sourceModel()
        a, b = m.rows[left.row()], m.rows[right.row()]
        if left.column() in (GROUP, CALLSIGN):  # the default grouping: room, area, callsign
            return (*m.group_key(a), a["callsign"]) < (*m.group_key(b), b["callsign"])
        return super().lessThan(left, right)


class GroupSeparatorDelegate(QStyledItemDelegate):
    """Draws a line above the first row of each room/area group."""

    def __init__(self, proxy: UnitsFilter) -> None:
        super().__init__()
        self.proxy = proxy

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().paint(painter, option, index)
        if index.row() > 0 and self.proxy.grouped() and self.proxy.group_starts(index.row()):
            painter.save()
            painter.setPen(QPen(QColor(palette.UNGRADED_COLOUR), 2))
            painter.drawLine(option.rect.topLeft(), option.rect.topRight())
            painter.restore()


class TimelineDialog(QDialog):
    """A unit's timeline: statuses, incidents and recent AVL fixes, oldest first."""

    def __init__(self, ctx: "ConsoleContext", callsign: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Timeline — {callsign}")
        self.resize(640, 420)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Time", "What", "Detail"])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.status = QLabel("Loading…")
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(self.status)
        run_op(self, lambda: ctx.session.units.timeline(callsign), on_done=self.show_entries,
               on_error=lambda e: self.status.setText(str(e)))

    def show_entries(self, entries: list) -> None:
        self.table.setRowCount(len(entries))
        for r, e in enumerate(entries):
            when = e.at.astimezone().strftime("%d %b %H:%M:%S")
            what = palette.UNIT_STATUS_LABELS.get(e.status, e.kind) if e.kind == "status" else e.kind.title()
            for c, value in enumerate((when, what, e.text)):
                self.table.setItem(r, c, QTableWidgetItem(value))
            if e.kind == "status" and e.status:
                item = self.table.item(r, 1)
                item.setBackground(QColor(palette.unit_status_colour(e.status)))
                item.setForeground(QColor(palette.ink_on(palette.unit_status_colour(e.status))))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        self.status.setText(f"{len(entries)} entries")
        if entries:
            self.table.scrollToBottom()


class UnitsPanel(QWidget):
    def __init__(self, ctx: "ConsoleContext", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.session
        names = {a.code: a.name for a in ctx.session.areas.areas}
        self.model = UnitsModel(ctx.session.area_rooms, ctx.clock, names)
        self.proxy = UnitsFilter()
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.separators = GroupSeparatorDelegate(self.proxy)
        self.view.setItemDelegate(self.separators)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(CALLSIGN, Qt.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().resizeSection(GROUP, 210)  # group names are long; Room/Area columns stay
        self.view.doubleClicked.connect(self._open_timeline)
        make_drag_source(self.view)  # drag a unit onto an incident in the incident list to assign it
        self.view.selectionModel().currentRowChanged.connect(self._selected)
        self.capability = QComboBox()
        self.capability.addItem("All capabilities", "")
        for c in CAPABILITIES:
            self.capability.addItem(c, c)
        self.capability.currentIndexChanged.connect(
            lambda: self.proxy.set_capability(self.capability.currentData()))
        self.room = QComboBox()
        self.room.addItem("Both rooms", "")
        for code, label in palette.ROOM_LABELS.items():
            self.room.addItem(label, code)
        self.room.currentIndexChanged.connect(lambda: self.proxy.set_room(self.room.currentData()))
        self.summary = QLabel()
        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.capability)
        top.addWidget(self.room)
        top.addStretch(1)
        top.addWidget(self.summary)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.view)
        self.dialogs: list[TimelineDialog] = []
        ctx.bridge.event.connect(self._on_event)
        self.model.rowsInserted.connect(self._update_summary)
        self.model.dataChanged.connect(self._update_summary)
        self._ages = QTimer(self)
        self._ages.timeout.connect(self.model.refresh_ages)
        self._ages.start(5000)
        self.reload()

    def reload(self) -> None:
        def fetch() -> tuple[list[dict], dict[int, str]]:
            units = [asdict(u) for u in self.session.units.list()]
            urns = {i.id: i.urn for i in self.session.incidents.list_open()}
            return units, urns
        run_op(self, fetch, on_done=lambda r: self.model.load(*r))

    def _on_event(self, ev: Any) -> None:
        self.model.on_event(ev)

    def _update_summary(self, *args: Any) -> None:
        avail = sum(1 for u in self.model.rows if u.get("status") == "available")
        self.summary.setText(f"{avail} available of {len(self.model.rows)}")

    def _callsign_at(self, proxy_index: QModelIndex) -> Optional[str]:
        if not proxy_index.isValid():
            return None
        return self.model.rows[self.proxy.mapToSource(proxy_index).row()]["callsign"]

    def _selected(self, current: QModelIndex, _prev: QModelIndex) -> None:
        cs = self._callsign_at(current)
        if cs:
            self.ctx.selection.unitSelected.emit(cs)

    def _open_timeline(self, index: QModelIndex) -> None:
        cs = self._callsign_at(index)
        if cs:
            self.open_timeline(cs)

    def open_timeline(self, callsign: str) -> TimelineDialog:
        dlg = TimelineDialog(self.ctx, callsign, self)
        self.dialogs.append(dlg)
        dlg.finished.connect(lambda *_: self.dialogs.remove(dlg) if dlg in self.dialogs else None)
        dlg.show()
        return dlg


def make_panel(ctx: "ConsoleContext") -> QWidget:
    return UnitsPanel(ctx)
