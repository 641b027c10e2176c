"""Talk-group panel: every group's state, units and owning room, live from the event bridge.

Allocate to the selected incident with Ctrl+T (works from the incident form too), release the
selected group, drag units from the list below onto another group's row, or type TG / TGR <URN>.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Optional

from PySide6.QtCore import (QAbstractTableModel, QByteArray, QMimeData, QModelIndex, QPersistentModelIndex,
                            Qt, QTimer, Signal)
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QListWidget,
                               QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.errors import ControlRoomError
from controlroom.services.talkgroups.service import (PoolStatus, TalkGroupView, armed_warning, owning_room,
    pool_warning, view_of)

from ..kit.proxy_models import SourceDataProxy
from controlroom.kernel import palette
from ..kit.ops import run_op

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext

MIME = "application/x-controlroom-callsigns"  # units panels may drag the same type onto groups
COLUMNS = ("Talk group", "Kind", "State", "Units", "Room", "Allocated")
NAME, KIND, STATE, UNITS, ROOM, ALLOCATED = range(6)
STATE_COLOURS = {"free": palette.UNIT_STATUS_COLOURS["available"],
                 "allocated": palette.UNIT_STATUS_COLOURS["en_route"],
                 "patched": palette.UNIT_STATUS_COLOURS["at_scene"],
                 "standing": palette.UNGRADED_COLOUR}
MEMBERSHIP_KINDS = ("talkgroup.allocated", "talkgroup.released", "talkgroup.units_moved", "talkgroup.patched")
WARNING_TRIGGERS = ("despatch.", "talkgroup.", "incident.closed", "incident.updated", "command.")
UNIT_KEYS = ("talk_group", "area_code", "status")  # what decides the group a unit is on


class TalkGroupModel(QAbstractTableModel):
    """One row per talk group; events update one row (dataChanged), never a reset."""

    def __init__(self, area_rooms: dict[str, str], clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.area_rooms, self.clock = area_rooms, clock
        self.rows: list[TalkGroupView] = []
        self._raw: list[dict[str, Any]] = []
        self._row_of: dict[str, int] = {}
        self.unit_state: dict[str, dict[str, Any]] = {}  # callsign -> talk_group, area_code, status

    # -- loading and updating ----------------------------------------------------------------
    def load(self, views: list[TalkGroupView]) -> None:
        """Initial fill (once, at start-up or after reconnect) as one insert."""
        if self.rows:
            self.beginRemoveRows(QModelIndex(), 0, len(self.rows) - 1)
            self.rows, self._raw, self._row_of = [], [], {}
            self.endRemoveRows()
        if views:
            self.beginInsertRows(QModelIndex(), 0, len(views) - 1)
            self.rows = list(views)
            self._raw = [dict(v.__dict__) for v in views]
            self._row_of = {v.name: i for i, v in enumerate(views)}
            self.endInsertRows()

    def upsert(self, d: dict[str, Any]) -> None:
        """Apply a group's full state from an event payload."""
        d = dict(d)
        d["room_code"] = owning_room(d, self.area_rooms)
        view = view_of(d)
        row = self._row_of.get(view.name)
        if row is None:
            row = len(self.rows)
            self.beginInsertRows(QModelIndex(), row, row)
            self.rows.append(view)
            self._raw.append(d)
            self._row_of[view.name] = row
            self.endInsertRows()
            return
        self.rows[row], self._raw[row] = view, d
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def move_unit(self, callsign: str, src: Optional[str], dst: Optional[str]) -> None:
        """A unit left `src` for `dst` (either may be unknown): adjust both rows' unit lists."""
        for name, add in ((src, False), (dst, True)):
            row = self._row_of.get(name or "")
            if row is None:
                continue
            units = set(self._raw[row].get("units") or ())
            units.add(callsign) if add else units.discard(callsign)
            self.upsert({**self._raw[row], "units": sorted(units)})

    def set_units(self, units: list[dict[str, Any]]) -> None:
        """What decides each unit's group (loaded with the groups; then kept from events)."""
        self.unit_state = {u["callsign"]: {k: u.get(k) for k in UNIT_KEYS} for u in units}

    def effective_group(self, u: dict[str, Any]) -> Optional[str]:
        """As the database's _UNITS_ON: the group moved to, else the area's primary; off duty: none."""
        if u.get("status") == "off_duty":
            return None
        if u.get("talk_group"):
            return u["talk_group"]
        return next((v.name for v in self.rows if v.kind == "primary" and v.area_code
                     and v.area_code == u.get("area_code")), None)

    def shown_group(self, callsign: str) -> Optional[str]:
        return next((d["name"] for d in self._raw if callsign in (d.get("units") or ())), None)

    def unit_changed(self, unit: dict[str, Any]) -> bool:
        """A unit's status/area/talk group changed: move it between the (at most two) affected rows."""
        cs = unit.get("callsign")
        known = self.unit_state.get(cs or "")
        if not cs or (known is None and "talk_group" not in unit):
            return False  # a unit we never loaded and cannot place
        state = {**(known or {}), **{k: unit[k] for k in UNIT_KEYS if k in unit}}
        self.unit_state[cs] = state
        old, new = self.shown_group(cs), self.effective_group(state)
        if old == new:
            return False
        self.move_unit(cs, old, new)
        return True

    def set_talk_group(self, callsign: str, name: Optional[str]) -> None:
        """Membership events moved a unit explicitly (rows are updated from the event itself)."""
        if callsign in self.unit_state:
            self.unit_state[callsign]["talk_group"] = name

    def rooms_changed(self) -> None:
        """Area ownership moved: owning room is re-derived for every row."""
        for row, d in enumerate(self._raw):
            d["room_code"] = owning_room(d, self.area_rooms)
            self.rows[row] = view_of(d)
        if self.rows:
            self.dataChanged.emit(self.index(0, ROOM), self.index(len(self.rows) - 1, ROOM))

    def view(self, name: str) -> Optional[TalkGroupView]:
        row = self._row_of.get(name)
        return None if row is None else self.rows[row]

    def pool(self, kind: str) -> PoolStatus:
        groups = [v for v in self.rows if v.kind == kind]
        return PoolStatus(kind, sum(1 for v in groups if v.incident_id is None), len(groups))

    # -- Qt model API --------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        v, col = self.rows[index.row()], index.column()
        if role == Qt.DisplayRole:
            return self._text(v, col)
        if role == Qt.UserRole:  # sort keys
            return (v.allocated_at.timestamp() if v.allocated_at else 0) if col == ALLOCATED else \
                len(v.units) if col == UNITS else self._text(v, col)
        if role in (Qt.BackgroundRole, Qt.ForegroundRole) and col == STATE:  # a coloured cell, readable ink
            bg = STATE_COLOURS.get(v.state, palette.UNGRADED_COLOUR)
            return QBrush(QColor(bg if role == Qt.BackgroundRole else palette.ink_on(bg)))
        if role == Qt.ForegroundRole and col == ROOM and v.room_code:
            return QBrush(QColor(palette.room_text_colour(v.room_code)))
        if role == Qt.ToolTipRole:
            return (f"{v.name}: {v.description or ''}\nUnits: {', '.join(v.units) or 'none'}"
                    + (f"\nAllocated by {v.allocated_by}" if v.allocated_by else ""))
        return None

    def _text(self, v: TalkGroupView, col: int) -> str:
        if col == NAME:
            return v.name
        if col == KIND:
            return v.kind.title()
        if col == STATE:
            text = {"free": "Free", "standing": "Primary"}.get(v.state, f"Allocated to {v.urn}")
            if v.incident_id is None and v.patched_with:
                text = "Patched"
            return text + (f" ⇄ {', '.join(v.patched_with)}" if v.patched_with else "")
        if col == UNITS:
            shown = ", ".join(v.units[:6]) + (f" +{len(v.units) - 6}" if len(v.units) > 6 else "")
            return f"{len(v.units)}: {shown}" if v.units else "—"
        if col == ROOM:
            return palette.ROOM_LABELS.get(v.room_code or "", "").split(" ")[0] or "Virtual room"
        if col == ALLOCATED and v.allocated_at:
            mins = max(0, int((self.clock() - v.allocated_at).total_seconds() // 60))
            return f"{v.allocated_at.astimezone().strftime('%H:%M')} ({mins} min)"
        return ""


class GroupTable(QTableView):
    """Accepts dropped callsigns on a row: the units move to that group."""

    unitsDropped = Signal(str, list)  # group name, callsigns

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DropOnly)
        self.setDropIndicatorShown(True)

    def _accept(self, event: Any) -> None:
        ok = event.mimeData().hasFormat(MIME) and self.indexAt(event.position().toPoint()).isValid()
        event.setAccepted(ok)
        if ok:
            event.acceptProposedAction()

    dragEnterEvent = _accept
    dragMoveEvent = _accept

    def dropEvent(self, event: Any) -> None:
        index = self.indexAt(event.position().toPoint())
        if not (index.isValid() and event.mimeData().hasFormat(MIME)):
            event.ignore()
            return
        calls = bytes(event.mimeData().data(MIME)).decode().split()
        name = self.model().index(index.row(), NAME).data()
        event.acceptProposedAction()
        self.unitsDropped.emit(name, calls)


class UnitList(QListWidget):
    """The selected group's units; drag them onto another group's row."""

    def __init__(self) -> None:
        super().__init__()
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragOnly)
        self.setFlow(QListWidget.LeftToRight)
        self.setWrapping(True)

    def mimeData(self, items: Any) -> QMimeData:
        mime = QMimeData()
        calls = " ".join(i.text() for i in items)
        mime.setData(MIME, QByteArray(calls.encode()))
        mime.setText(calls)
        return mime

    def mimeTypes(self) -> list[str]:
        return [MIME, "text/plain"]


class TalkGroupsPanel(QWidget):
    def __init__(self, ctx: "ConsoleContext") -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("talkGroupsPanel")
        self.session = ctx.session
        self.incident_id: Optional[int] = None
        self.armed: list[tuple[int, str, tuple[str, ...]]] = []
        self.model = TalkGroupModel(self.session.area_rooms, ctx.clock)
        self.proxy = SourceDataProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.UserRole)
        self._build()
        self._warn_timer = QTimer(self, singleShot=True, interval=250, timeout=self.refresh_warnings)
        self._tick = QTimer(self, interval=30_000, timeout=self._refresh_times)
        self._tick.start()
        ctx.bridge.event.connect(self.on_event)
        ctx.selection.incidentSelected.connect(self._incident_selected)
        self.reload()

    def _build(self) -> None:
        self.warnings = QLabel("", objectName="talkGroupWarnings", wordWrap=True)
        self.warnings.setStyleSheet(f"color: {palette.theme_text('error')}; font-weight: bold;")
        self.pool_label = QLabel("", objectName="talkGroupPool")
        self.allocate_btn = QPushButton("Allocate to incident (Ctrl+T)", enabled=False)
        self.release_btn = QPushButton("Release", enabled=False)
        self.message = QLabel("", objectName="talkGroupMessage", wordWrap=True)
        self.table = GroupTable()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.AscendingOrder)  # catalogue order until the user sorts
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        hdr = self.table.horizontalHeader()
        hdr.setSectionResizeMode(QHeaderView.ResizeToContents)
        hdr.setSectionResizeMode(STATE, QHeaderView.Interactive)
        hdr.resizeSection(STATE, 230)
        hdr.setSectionResizeMode(UNITS, QHeaderView.Stretch)
        self.units = UnitList()
        self.units.setMaximumHeight(72)
        self.units_label = QLabel("Units on the selected group — drag onto another group")
        self.units_label.setWordWrap(True)
        top = QHBoxLayout()  # the pool line above the buttons: both fit a laptop's side column
        top.addWidget(self.allocate_btn)
        top.addWidget(self.release_btn)
        top.addStretch(1)
        lower = QWidget()
        low = QVBoxLayout(lower)
        low.setContentsMargins(0, 0, 0, 0)
        low.addWidget(self.units_label)
        low.addWidget(self.units)
        # The groups are what the despatcher works: at least four rows whatever the screen (at
        # 1366x768 the units strip used to take the room and leave one row); the strip below
        # never grows past what it shows.
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height() + 4 * 22
                                    + self.table.horizontalScrollBar().sizeHint().height() + 4)
        lower.setMaximumHeight(lower.sizeHint().height())
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.table)
        split.addWidget(lower)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setCollapsible(0, False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.warnings)
        lay.addWidget(self.pool_label)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addWidget(self.message)
        self.allocate_btn.clicked.connect(self.allocate_selected_incident)
        self.release_btn.clicked.connect(self.release_selected)
        self.table.selectionModel().selectionChanged.connect(self._group_selected)
        self.table.unitsDropped.connect(self.move_units)
        shortcut = QShortcut(QKeySequence("Ctrl+T"), self, activated=self.allocate_selected_incident)
        shortcut.setContext(Qt.ApplicationShortcut)

    # -- state -----------------------------------------------------------------------------------
    def reload(self) -> None:
        """Full read: at start and after the connection comes back."""
        def fetch() -> tuple[list[TalkGroupView], list[dict[str, Any]]]:
            units = [{"callsign": u.callsign, "talk_group": u.talk_group, "area_code": u.area_code,
                      "status": u.status} for u in self.session.units.list()]
            return self.session.talkgroups.list(), units
        run_op(self, fetch, on_done=self._loaded, on_error=self._error)
        self.refresh_warnings()

    def _loaded(self, result: tuple[list[TalkGroupView], list[dict[str, Any]]]) -> None:
        views, units = result
        self.model.load(views)
        self.model.set_units(units)
        self._update_pool()

    def on_event(self, ev: Any) -> None:
        p = ev.payload if isinstance(ev.payload, dict) else {}
        if isinstance(p.get("area_rooms"), dict):
            self.model.rooms_changed()
        if ev.kind in MEMBERSHIP_KINDS:
            self._apply(ev.kind, p)
        elif ev.kind in ("unit.status", "unit.position") or ev.kind.startswith("despatch."):
            self._unit_event(ev.kind, p)
        if ev.kind.startswith(WARNING_TRIGGERS):
            self._warn_timer.start()

    def _unit_event(self, kind: str, p: dict[str, Any]) -> None:
        """Status, area or despatch changes can move a unit on or off a group's list."""
        unit = p.get("unit") if kind.startswith("despatch.") else p
        if isinstance(unit, dict) and self.model.unit_changed(unit):
            v = self.selected_group()
            if v is not None:
                self._group_selected()

    def _apply(self, kind: str, p: dict[str, Any]) -> None:
        if kind == "talkgroup.units_moved":
            for m in p.get("moved", ()):
                self.model.move_unit(m["callsign"], m.get("from"), None)
                self.model.set_talk_group(m["callsign"], p.get("name"))
        self.model.upsert(p)
        if kind == "talkgroup.patched" and isinstance(p.get("other"), dict):
            self.model.upsert(p["other"])
        if kind == "talkgroup.released":
            for name in p.get("unpatched", ()):
                other = self.model.view(name)
                if other is not None:
                    self.model.upsert({**other.__dict__, "patched_with": [x for x in other.patched_with
                                                                          if x != p["name"]]})
            for r in p.get("units_returned", ()):
                self.model.move_unit(r["callsign"], None, r.get("to"))
                self.model.set_talk_group(r["callsign"], None)
        self._update_pool()
        self._group_selected()

    def _update_pool(self) -> None:
        pool = self.model.pool(self.session.talkgroups.pool_kind)
        self.pool_label.setText(f"Pool: {pool.free} of {pool.total} free")
        self._show_warnings()

    def refresh_warnings(self) -> None:
        run_op(self, self.session.talkgroups.armed_without_group, on_done=self._armed, on_error=lambda e: None)

    def _armed(self, armed: list[tuple[int, str, tuple[str, ...]]]) -> None:
        self.armed = armed
        self._show_warnings()

    def _show_warnings(self) -> None:
        lines = [f"⚠ {armed_warning(urn, calls)}" for _, urn, calls in self.armed]
        pool = self.model.pool(self.session.talkgroups.pool_kind)
        if pool.low:
            lines.append(f"⚠ {pool_warning(pool)}")
        self.warnings.setText("\n".join(lines))
        self.warnings.setVisible(bool(lines))

    def _refresh_times(self) -> None:
        if self.model.rows:
            self.model.dataChanged.emit(self.model.index(0, ALLOCATED),
                                        self.model.index(len(self.model.rows) - 1, ALLOCATED))

    # -- selection and actions -----------------------------------------------------------------
    def selected_group(self) -> Optional[TalkGroupView]:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.view(self.proxy.index(rows[0].row(), NAME).data())

    def _group_selected(self, *args: Any) -> None:
        v = self.selected_group()
        self.release_btn.setEnabled(v is not None and v.incident_id is not None)
        self.units.clear()
        if v is not None:
            self.units.addItems(list(v.units))
            self.units_label.setText(f"Units on {v.name} — drag onto another group")

    def _incident_selected(self, incident_id: int) -> None:
        self.incident_id = incident_id
        self.allocate_btn.setEnabled(True)

    def allocate_selected_incident(self) -> None:
        if self.incident_id is None:
            self._say("Select an incident first, then Ctrl+T.", error=True)
            return
        iid = self.incident_id
        run_op(self, lambda: self.session.talkgroups.allocate(iid),
               on_done=lambda v: self._say(f"{v.name} allocated to {v.urn}."), on_error=self._error)

    def release_selected(self) -> None:
        v = self.selected_group()
        if v is None or v.incident_id is None:
            return
        run_op(self, lambda: self.session.talkgroups.release(v.incident_id, v.name),
               on_done=lambda _: self._say(f"{v.name} released from {v.urn}."), on_error=self._error)

    def move_units(self, name: str, callsigns: list[str]) -> None:
        run_op(self, lambda: self.session.talkgroups.move_units(name, callsigns),
               on_done=lambda _: self._say(f"{', '.join(callsigns)} moved to {name}."), on_error=self._error)

    def _say(self, text: str, *, error: bool = False) -> None:
        colour = palette.COUNTDOWN_BREACH if error else palette.UNIT_STATUS_COLOURS["available"]
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(text)

    def _error(self, exc: ControlRoomError) -> None:
        self._say(str(exc), error=True)


def make_panel(ctx: "ConsoleContext") -> QWidget:
    return TalkGroupsPanel(ctx)

