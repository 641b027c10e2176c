"""The incident form's despatch tab: recommended units by ETA; Enter assigns the selected one.

Shift+Enter diverts (the unit leaves its current incident; recorded on both). Recommendations
refresh (debounced) when units move or change status, from the session's in-memory index.
Below them, the units on the incident with Arrived / Clear… (a result is asked for), kept live
from despatch.* and unit.status events one row at a time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QPushButton,
                               QTableView, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.errors import ControlRoomError, Conflict
from controlroom.models.resources import CAPABILITIES

from ..kit.table_model import RowTableModel
from controlroom.kernel import palette
from .assigned import AssignedModel, ClearDialog, assigned_row, id_of
from ..kit.ops import run_op


def eta_text(r: Any) -> str:
    """'7 min by road' over the imported road network, else '≈ 9 min (estimate)' and says so."""
    mins = f"{r.eta_s / 60:.0f} min"
    return f"{mins} by road" if getattr(r, "eta_basis", "estimate") == "road network" else f"≈ {mins} (estimate)"


if TYPE_CHECKING:
    from ..kit.context import ConsoleContext

COLUMNS = ("Callsign", "Capabilities", "Status", "Distance", "ETA", "Room")

REFRESH_KINDS = ("unit.", "despatch.", "command.", "incident.updated", "room.")


class RecommendationModel(RowTableModel):
    columns = COLUMNS

    def __init__(self, own_room: str) -> None:
        super().__init__()
        self.own_room = own_room
        self.rows: list[Any] = []

    def set_rows(self, recs: list[Any]) -> None:
        """Replace the list (a new answer to a new question, not an event on one row)."""
        old = [r.callsign for r in self.rows]
        if old == [r.callsign for r in recs]:
            self.rows = list(recs)  # same units, new ETAs: update in place
            if recs:
                self.dataChanged.emit(self.index(0, 0), self.index(len(recs) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.rows = list(recs)
        self.endResetModel()

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, col = self.rows[index.row()], index.column()
        if role == Qt.DisplayRole:
            return (r.callsign, " ".join(r.capabilities), palette.UNIT_STATUS_LABELS.get(r.status, r.status),
                    f"{r.distance_m / 1000:.1f} km", eta_text(r),
                    f"{palette.ROOM_LABELS.get(r.room_code, r.room_code or '?').split(' ')[0]}"
                    + (" (other room)" if r.other_room else ""))[col]
        if role == Qt.BackgroundRole and col == 2:
            return QBrush(QColor(palette.unit_status_colour(r.status)))
        if role == Qt.ForegroundRole and col == 2:
            return QBrush(QColor(palette.ink_on(palette.unit_status_colour(r.status))))
        if role == Qt.ForegroundRole and col == 5:
            return QBrush(QColor(palette.room_text_colour(r.room_code)))
        if role == Qt.TextAlignmentRole and col in (3, 4):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None


class _Table(QTableView):
    assign = Signal(bool)  # divert?

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            self.assign.emit(bool(event.modifiers() & Qt.ShiftModifier))
            return
        super().keyPressEvent(event)


class DespatchTab(QWidget):
    assigned = Signal(object)  # DespatchResult

    def __init__(self, ctx: "ConsoleContext", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.session
        self.incident_id: Optional[int] = None
        self.model = RecommendationModel(ctx.session.room.code)
        self.table = _Table()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.assign.connect(self.assign_selected)
        self.table.doubleClicked.connect(lambda *_: self.assign_selected(False))
        self.heading = QLabel("No incident selected.")
        self.heading.setWordWrap(True)
        self.capability = QComboBox()
        self.capability.addItem("As policy", "")
        for c in CAPABILITIES:
            self.capability.addItem(c, c)
        self.capability.currentIndexChanged.connect(self.refresh)
        self.assign_button = QPushButton("Assign (Enter)")
        self.assign_button.clicked.connect(lambda: self.assign_selected(False))
        self.divert_button = QPushButton("Divert (Shift+Enter)")
        self.divert_button.clicked.connect(lambda: self.assign_selected(True))
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.urn: Optional[str] = None
        self.assigned_model = AssignedModel()
        self.assigned_table = QTableView()
        self.assigned_table.setModel(self.assigned_model)
        self.assigned_table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.assigned_table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.assigned_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.assigned_table.verticalHeader().hide()
        self.assigned_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.assigned_table.horizontalHeader().setStretchLastSection(True)
        self.assigned_table.setMaximumHeight(150)
        self.assigned_table.setWordWrap(False)
        self.assigned_model.rowsInserted.connect(lambda *_: self.assigned_table.resizeColumnsToContents())
        self.assigned_table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.assigned_model.rowsInserted.connect(self._update_buttons)
        self.assigned_model.rowsRemoved.connect(self._update_buttons)
        self.assigned_model.dataChanged.connect(self._update_buttons)
        self.assigned_label = QLabel("Units on this incident")
        self.arrived_button = QPushButton("Arrived")
        self.arrived_button.setToolTip("Book the selected unit at scene")
        self.arrived_button.clicked.connect(self.arrived_selected)
        self.clear_button = QPushButton("Clear…")
        self.clear_button.setToolTip("Clear the selected unit from the incident with a result")
        self.clear_button.clicked.connect(self.clear_selected)
        self.clear_dialog: Optional[ClearDialog] = None
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Capability:"))
        bar.addWidget(self.capability)
        bar.addStretch(1)
        bar.addWidget(self.assign_button)
        bar.addWidget(self.divert_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.heading)
        lay.addLayout(bar)
        lay.addWidget(self.table, 2)
        assigned_bar = QHBoxLayout()
        assigned_bar.addWidget(self.assigned_label)
        assigned_bar.addStretch(1)
        assigned_bar.addWidget(self.arrived_button)
        assigned_bar.addWidget(self.clear_button)
        lay.addLayout(assigned_bar)
        lay.addWidget(self.assigned_table, 1)
        lay.addWidget(self.message)
        self._update_buttons()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(750)  # AVL moves all the time; re-rank at most ~1/s
        self._debounce.timeout.connect(self.refresh)
        ctx.bridge.event.connect(self._on_event)
        if getattr(ctx, "selection", None) is not None:
            ctx.selection.incidentSelected.connect(self.set_incident)

    def set_incident(self, incident_id: Optional[int]) -> None:
        """Show recommendations for this incident (None clears the tab)."""
        self.incident_id = incident_id
        self.urn = None
        self._choose_nothing()  # a unit picked for the last incident is not a pick for this one
        self.message.setText("")
        self.assigned_model.clear_rows()
        if incident_id is None:
            self.heading.setText("No incident selected.")
            self.model.set_rows([])
            return
        run_op(self, lambda: self.session.incidents.get(incident_id), on_done=self._show_heading,
               on_error=lambda e: self.heading.setText(str(e)))
        run_op(self, lambda: self._fetch_assigned(incident_id),
               on_done=lambda rows: self._show_assigned(incident_id, rows),
               on_error=lambda e: self.message.setText(str(e)))
        self.refresh()

    def _fetch_assigned(self, incident_id: int) -> list[dict[str, Any]]:
        """Worker thread: the open assignments with each unit's current status."""
        out = []
        for a in self.session.despatch.assignments(incident_id, open_only=True):
            unit = self.session.units.get(a.callsign)
            out.append({"callsign": a.callsign, "status": unit.status, "assigned_at": a.assigned_at,
                        "arrived_at": a.arrived_at, "assigned_by": a.assigned_by})
        return out

    def _show_assigned(self, incident_id: int, rows: list[dict[str, Any]]) -> None:
        if incident_id == self.incident_id:
            self.assigned_model.load(rows)

    def _show_heading(self, inc: Any) -> None:
        from controlroom.services.units.despatch import needed_capability
        need = needed_capability(inc.incident_type, inc.area_code, inc.firearms)
        self.urn = inc.urn
        flag = "  FIREARMS" if inc.firearms else ""
        self.heading.setText(f"{inc.urn} {inc.incident_type} {inc.grade or ''} — {inc.area_code} "
                             f"({inc.status.replace('_', ' ')}){flag}. Policy sends: {need}.")

    def refresh(self) -> None:
        iid = self.incident_id
        if iid is None:
            return
        cap = self.capability.currentData() or None
        run_op(self, lambda: self.session.despatch.recommend(iid, capability=cap),
               on_done=lambda recs: self._show(iid, recs), on_error=lambda e: self.message.setText(str(e)))

    def _show(self, iid: int, recs: list[Any]) -> None:
        if iid != self.incident_id:
            return  # an answer for an incident no longer shown
        selected = self.selected_callsign()
        self.model.set_rows(recs)
        # Keep the operator's pick if that unit is still offered; never pick one for them
        # (a pre-selected ARV is one Enter away from being sent).
        row = next((i for i, r in enumerate(recs) if r.callsign == selected), None)
        if row is not None:
            self.table.selectRow(row)
        else:
            self._choose_nothing()
        if not recs:
            self.message.setText("No available unit with that capability.")

    def selected_callsign(self) -> Optional[str]:
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()].callsign if rows and self.model.rows else None

    def _choose_nothing(self) -> None:
        sel = self.table.selectionModel()
        sel.clearSelection()
        sel.setCurrentIndex(QModelIndex(), QItemSelectionModel.NoUpdate)

    def assign_selected(self, divert: bool = False) -> None:
        cs, iid = self.selected_callsign(), self.incident_id
        if iid is not None and cs is None and self.model.rows:
            self.message.setText("Choose a unit first (Up/Down or click), then Enter.")
        if cs is None or iid is None:
            return
        self._choose_nothing()  # one Enter sends one unit: the next needs its own pick
        self.message.setText(f"Assigning {cs}…")
        run_op(self, lambda: self.session.despatch.assign(iid, cs, divert=divert),
               on_done=self._done, on_error=self._failed)

    def _done(self, result: Any) -> None:
        self.message.setText(f"{result.unit.callsign} assigned to {result.incident.urn}: en route.")
        if result.incident.id == self.incident_id:
            self.assigned_model.upsert(assigned_row(result.unit.__dict__, result.assignment.__dict__))
        self.assigned.emit(result)
        self.refresh()

    def _failed(self, err: ControlRoomError) -> None:
        hint = " Press Shift+Enter to divert it." if isinstance(err, Conflict) and "already on" in str(err) else ""
        self.message.setText(f"{err}{hint}")
        self.refresh()

    def _on_event(self, ev: Any) -> None:
        if self.incident_id is not None and ev.kind.startswith(REFRESH_KINDS):
            self._apply_to_assigned(ev)
            if not self._debounce.isActive():
                self._debounce.start()

    def _apply_to_assigned(self, ev: Any) -> None:
        """despatch.* for this incident: one row in/out/changed; unit.status: that unit's row."""
        p = ev.payload if isinstance(ev.payload, dict) else {}
        if ev.kind.startswith("despatch."):
            unit, asg = p.get("unit") or {}, p.get("assignment") or {}
            cs = unit.get("callsign")
            if not cs:
                return
            if id_of(p.get("from_incident")) == self.incident_id:
                self.assigned_model.remove(cs)  # diverted away from this incident
            if id_of(p.get("incident")) == self.incident_id:
                if asg.get("cleared_at"):
                    self.assigned_model.remove(cs)
                else:
                    self.assigned_model.upsert(assigned_row(unit, asg))
        elif ev.kind == "unit.status" and p.get("callsign") and self.assigned_model.row_of(p["callsign"]) is not None:
            if p.get("incident_id") not in (None, self.incident_id):
                self.assigned_model.remove(p["callsign"])
            else:
                self.assigned_model.upsert({"callsign": p["callsign"], "status": p.get("status")})

    # -- units on the incident -------------------------------------------------------------------
    def selected_assigned(self) -> Optional[dict[str, Any]]:
        rows = self.assigned_table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.assigned_model.rows):
            return self.assigned_model.rows[rows[0].row()]
        if len(self.assigned_model.rows) == 1:  # one unit: the buttons mean that one
            return self.assigned_model.rows[0]
        return None

    def _update_buttons(self, *_: Any) -> None:
        row = self.selected_assigned()
        self.arrived_button.setEnabled(row is not None and row.get("status") == "en_route")
        self.clear_button.setEnabled(row is not None)
        n = len(self.assigned_model.rows)
        self.assigned_label.setText(f"Units on this incident: {n}" if n else "No units on this incident.")

    def arrived_selected(self) -> None:
        row, iid = self.selected_assigned(), self.incident_id
        if row is None or iid is None:
            return
        cs = row["callsign"]
        self.message.setText(f"Booking {cs} at scene…")
        run_op(self, lambda: self.session.despatch.arrived(iid, cs),
               on_done=lambda r: self._step_done(r, f"{cs} at scene."), on_error=self._step_failed)

    def clear_selected(self) -> Optional[ClearDialog]:
        """Ask for the result in a small dialog; clearing runs when it is accepted."""
        row, iid = self.selected_assigned(), self.incident_id
        if row is None or iid is None:
            return None
        cs = row["callsign"]
        dlg = ClearDialog(cs, self.urn or f"#{iid}", self)
        self.clear_dialog = dlg
        dlg.accepted.connect(lambda: self.clear_unit(iid, cs, dlg.result_text()))
        dlg.open()
        return dlg

    def clear_unit(self, incident_id: int, callsign: str, result: str) -> None:
        self.message.setText(f"Clearing {callsign}…")
        run_op(self, lambda: self.session.despatch.clear(incident_id, callsign, result=result),
               on_done=lambda r: self._step_done(r, f"{callsign} cleared: {result}"),
               on_error=self._step_failed)

    def _step_done(self, result: Any, text: str) -> None:
        if result.incident.id == self.incident_id:
            if result.assignment.cleared_at is not None:
                self.assigned_model.remove(result.unit.callsign)
            else:
                self.assigned_model.upsert(assigned_row(result.unit.__dict__, result.assignment.__dict__))
        self.message.setText(text)

    def _step_failed(self, err: ControlRoomError) -> None:
        self.message.setText(str(err))


def make_despatch_tab(ctx: "ConsoleContext") -> DespatchTab:
    return DespatchTab(ctx)
