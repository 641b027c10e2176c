"""The live open-incident list: filters, countdowns, keyboard-first; row-by-row from events."""
from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QMouseEvent, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLineEdit,
                               QTableView, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.kernel import config

from ..kit.context import ConsoleContext
from .model import COL, IdRole, IncidentFilterProxy, IncidentTableModel
from ..kit.ops import run_op
from ..kit.presence_widgets import attach_to_list as attach_presence_tooltips
from ..kit.room_banner import MINE, ROOM_EVENTS, VIRTUAL, scope
from ..kit.unit_drag import DropTarget, assign_dropped

BREACH_CHECK_MS = 10_000


class OperatorTableView(DropTarget, QTableView):
    """Knows whether the current row moved because the operator pressed a key or clicked.
    Units dragged from the units board onto a row are assigned to that incident (unitsDropped).

    Qt moves the current index by itself when the current row is removed (an incident closed
    elsewhere, a filter): that must never open another incident for the operator (issue 18).
    """

    operator_acting = False
    unitsDropped = Signal(QModelIndex, list)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        self.operator_acting = True
        try:
            super().keyPressEvent(event)
        finally:
            self.operator_acting = False

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        self.operator_acting = True
        try:
            super().mousePressEvent(event)
        finally:
            self.operator_acting = False


class IncidentListPanel(QWidget):
    def __init__(self, ctx: ConsoleContext, *, tick_ms: int = 1000) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("incidentList")
        self.model = IncidentTableModel(ctx.clock, self)
        self.proxy = IncidentFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.loaded = False
        self._pending: list[Any] = []
        self._asked_breach: set[int] = set()
        self._build()
        ctx.bridge.event.connect(self.on_event)
        self.timer = QTimer(self, interval=tick_ms, timeout=self.tick)
        self.timer.start()
        self.breach_timer = QTimer(self, interval=BREACH_CHECK_MS, timeout=self.check_breaches)
        self.breach_timer.start()
        self.reload()

    # ---- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        s = self.ctx.session
        # The console's shared "my room / virtual room" scope (issue 9): every list moves together.
        self.scope = scope(self.ctx)
        self.room_box = QComboBox()
        self.room_box.addItem("Virtual room", None)
        self.room_box.addItem(f"My room ({s.room.code})", s.room.code)
        self.room_box.setCurrentIndex(1 if self.scope.value == MINE else 0)
        self.room_box.currentIndexChanged.connect(
            lambda _i: self.scope.set(MINE if self.room_box.currentData() else VIRTUAL))
        self.scope.changed.connect(lambda v: self.room_box.setCurrentIndex(1 if v == MINE else 0))
        self.area_box = QComboBox()
        self.area_box.addItem("All areas", None)
        for code in sorted(s.ctx.area_rooms):
            self.area_box.addItem(code, code)
        self.grade_box = QComboBox()
        self.grade_box.addItem("All grades", None)
        for g in config.grade_policy()["grades"]:
            self.grade_box.addItem(g, g)
        self.status_box = QComboBox()
        self.status_box.addItem("All statuses", None)
        for st, label in (("open", "Open"), ("despatched", "Despatched"), ("at_scene", "At scene")):
            self.status_box.addItem(label, st)
        self.find = QLineEdit(placeholderText="Find (Ctrl+F): URN, type, place, unit…")
        self.find.setClearButtonEnabled(True)
        for box in (self.room_box, self.area_box, self.grade_box, self.status_box):
            box.currentIndexChanged.connect(self.apply_filters)
        self.find.textChanged.connect(self.apply_filters)

        self.view = OperatorTableView()
        self.view.setObjectName("incidentTable")
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(COL["Countdown"], Qt.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.setAlternatingRowColors(True)
        hdr = self.view.horizontalHeader()
        hdr.setSectionResizeMode(QHeaderView.Interactive)
        hdr.setStretchLastSection(True)
        for col, width in (("URN", 150), ("Grade", 46), ("Countdown", 118), ("Type", 90), ("Location", 170),
                           ("Area", 80), ("Room", 50), ("Status", 80), ("Units", 90)):
            self.view.setColumnWidth(COL[col], width)
        self.view.activated.connect(self.open_index)
        self.view.enable_unit_drops()
        self.view.unitsDropped.connect(self.units_dropped)
        self.drop_message = QLabel()
        self.drop_message.setTextFormat(Qt.PlainText)
        self.drop_message.setWordWrap(True)
        attach_presence_tooltips(self, IdRole)  # issue 13: hover a row: who else has it open
        self.view.selectionModel().currentRowChanged.connect(self._current_moved)
        self.chosen_id: int | None = None  # the incident the operator put the selection on
        self.count = QLabel("")
        self.count.setObjectName("incidentCount")

        bar, find_row = QHBoxLayout(), QHBoxLayout()  # two rows: the filters fit a laptop's side column
        for w in (self.room_box, self.area_box, self.grade_box, self.status_box):
            w.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            w.setMinimumContentsLength(4)
            bar.addWidget(w, 1)
        find_row.addWidget(self.find, 1)
        find_row.addWidget(self.count)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(bar)
        lay.addLayout(find_row)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.drop_message)
        QShortcut(QKeySequence("Ctrl+F"), self, activated=self.find.setFocus, context=Qt.WindowShortcut)
        QShortcut(QKeySequence("F3"), self, activated=self.view.setFocus, context=Qt.WindowShortcut)
        QShortcut(QKeySequence("Ctrl+N"), self, activated=self.new_incident, context=Qt.WindowShortcut)
        self.proxy.rowsInserted.connect(self._update_count)
        self.proxy.rowsRemoved.connect(self._update_count)
        self.proxy.rowsRemoved.connect(self._keep_selection)
        self.proxy.layoutChanged.connect(self._update_count)

    # ---- data -----------------------------------------------------------------------------
    def reload(self) -> None:
        """Initial fill off the GUI thread; events meanwhile are buffered and applied after."""
        svc = self.ctx.session.incidents
        run_op(self, lambda: (svc.list_open(), svc.assigned_units()), on_done=self._loaded,
               on_error=lambda err: self.count.setText(str(err)))

    def _loaded(self, result: tuple[list[Any], dict[int, list[str]]]) -> None:
        incidents, units = result
        self.model.load(incidents, units)
        self.loaded = True
        for ev in self._pending:
            self._apply(ev)
        self._pending.clear()
        self._update_count()

    def on_event(self, ev: Any) -> None:
        if not (ev.kind.startswith("incident.") or ev.kind.startswith("despatch.") or ev.kind == "unit.status"
                or ev.kind in ROOM_EVENTS):
            return
        if not self.loaded:
            self._pending.append(ev)
            return
        self._apply(ev)

    def _apply(self, ev: Any) -> None:
        if ev.kind in ROOM_EVENTS:
            self._follow_areas(ev.payload or {})
            return
        self.model.apply(ev)
        if ev.kind == "incident.breached":
            self._asked_breach.add(int(ev.payload.get("id", 0)))

    def _follow_areas(self, payload: dict[str, Any]) -> None:
        """Open incidents moved with their area: their room changes (and so does my-room's view)."""
        rooms = payload.get("area_rooms") or {}
        for incident_id in payload.get("incident_ids") or ():
            r = self.model.row_of(int(incident_id))
            if r is None:
                continue
            inc = self.model.rows[r]
            room = rooms.get(inc.area_code)
            if room and room != inc.room_code:
                self.model.upsert(dataclasses.replace(inc, room_code=room))

    def tick(self) -> None:
        self.model.tick()

    def check_breaches(self) -> None:
        """A breach is observed by time passing: ask the service to record new ones (idempotent)."""
        new = [i for i in self.model.breached_ids(self.ctx.clock()) if i not in self._asked_breach]
        if not new:
            return
        self._asked_breach.update(new)
        run_op(self, self.ctx.session.incidents.record_breaches)

    # ---- filters and selection ------------------------------------------------------------
    def apply_filters(self) -> None:
        self.proxy.set_filter(room=self.room_box.currentData(), area=self.area_box.currentData(),
                              grade=self.grade_box.currentData(), status=self.status_box.currentData(),
                              text=self.find.text().strip())
        self._update_count()

    def units_dropped(self, index: QModelIndex, callsigns: list[str]) -> None:
        """Units dragged from the units board onto an incident: assign them to it."""
        iid = self.proxy.data(index, IdRole)
        urn_of = lambda i: next((r.urn for r in self.model.rows if getattr(r, "id", None) == i), str(i))  # noqa: E731
        assign_dropped(self, self.ctx.session, None if iid is None else int(iid), callsigns,
                       self.drop_message, urn_of)

    def _update_count(self, *_: Any) -> None:
        self.count.setText(f"{self.proxy.rowCount()} of {self.model.rowCount()}")

    def open_index(self, index: QModelIndex) -> None:
        if index.isValid() and self.proxy.data(index, IdRole) == self.chosen_id:
            self._select(index, open_=True)

    def _current_moved(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self.view.operator_acting:
            self._select(current, open_=False)

    def _keep_selection(self, *_: Any) -> None:
        """The chosen incident's row went away (closed, filtered out): choose nothing instead of
        letting the cursor land on a neighbour that one Enter would open."""
        r = self.model.row_of(self.chosen_id) if self.chosen_id is not None else None
        if r is None or not self.proxy.mapFromSource(self.model.index(r, 0)).isValid():
            self.view.selectionModel().clearSelection()
            self.view.selectionModel().setCurrentIndex(QModelIndex(), QItemSelectionModel.NoUpdate)

    def _select(self, index: QModelIndex, *, open_: bool) -> None:
        if not index.isValid():
            return
        incident_id = self.proxy.data(index, IdRole)
        if incident_id is not None:
            self.chosen_id = int(incident_id)
            self.ctx.selection.incidentSelected.emit(int(incident_id))
            if open_:
                form = self.ctx.extras.get("incident_form")
                if form is not None:
                    form.setFocus()

    def select_incident(self, incident_id: int) -> None:
        r = self.model.row_of(incident_id)
        if r is not None:
            idx = self.proxy.mapFromSource(self.model.index(r, 0))
            self.chosen_id = incident_id
            self.view.setCurrentIndex(idx)

    def new_incident(self) -> None:
        form = self.ctx.extras.get("incident_form")
        if form is not None:
            form.new_incident()


def make_panel(ctx: ConsoleContext) -> QWidget:
    panel = IncidentListPanel(ctx)
    ctx.extras["incident_list"] = panel
    return panel
