"""Vehicle Recovery Scheme panel (strategy §6.2.9): request for the selected incident, the offered
operator (accept with ETA / skip with reason), arrived, cleared; the offers of the selected job;
and the per-operator report against the contracted response time. Plain text throughout."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QFormLayout, QHBoxLayout, QInputDialog, QLineEdit, QListWidget,
                               QPushButton, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.kernel.roles import allowed

from ..kit.context import ConsoleContext
from ..kit.ops import run_op

KINDS = ("recovery.requested", "recovery.skipped", "recovery.accepted", "recovery.arrived", "recovery.cleared")
JOB_COLS = ("Job", "Incident", "VRM", "Area", "Status", "Operator", "Requested", "ETA", "Arrived", "Cleared")
REPORT_COLS = ("Area", "Operator", "Contract (min)", "Offers", "Accepted", "Skipped", "Attended",
               "Within contract", "Mean (min)", "Worst (min)")


def _table(cols: tuple[str, ...]) -> QTableWidget:
    t = QTableWidget(0, len(cols))
    t.setHorizontalHeaderLabels(list(cols))
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QTableWidget.NoEditTriggers)
    t.setSelectionBehavior(QTableWidget.SelectRows)
    t.setSelectionMode(QTableWidget.SingleSelection)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def _hm(t: Any) -> str:
    return f"{t:%H:%M}" if t else "—"


class RecoveryPanel(QWidget):
    def __init__(self, ctx: ConsoleContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        s = ctx.session
        self.may_act = allowed(s.user.role, "recovery.request", training=s.training)
        self.incident_id: int | None = None
        self.jobs: list[Any] = []
        self.tabs = QTabWidget()
        self.tabs.addTab(self._jobs_tab(), "Recoveries")
        self.report = _table(REPORT_COLS)
        self.tabs.addTab(self.report, "Operators vs contract")
        self.status = QLabel("")
        self.status.setTextFormat(Qt.PlainText)
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(self.status)
        self._soon = QTimer(self, singleShot=True, interval=250, timeout=self.refresh)
        ctx.bridge.event.connect(lambda ev: self._soon.start() if ev.kind in KINDS else None)
        ctx.selection.incidentSelected.connect(self._incident_selected)
        self.refresh()

    def _jobs_tab(self) -> QWidget:
        w = QWidget()
        lay = QVBoxLayout(w)
        self.for_incident = QLabel("Select an incident to request a recovery for it.")
        self.for_incident.setTextFormat(Qt.PlainText)
        lay.addWidget(self.for_incident)
        if self.may_act:
            self.vrm = QLineEdit(placeholderText="VRM")
            self.location = QLineEdit(placeholderText="Where the vehicle is")
            self.reason = QLineEdit(placeholderText="Why (RTC damage, abandoned, seized…)")
            form = QFormLayout()
            for label, field in (("Vehicle", self.vrm), ("Location", self.location), ("Reason", self.reason)):
                form.addRow(label, field)
            req = QPushButton("Request recovery (next on rota)")
            req.clicked.connect(self.request)
            form.addRow("", req)
            lay.addLayout(form)
        self.table = _table(JOB_COLS)
        self.table.itemSelectionChanged.connect(self._job_selected)
        lay.addWidget(self.table, 2)
        if self.may_act:
            row = QHBoxLayout()
            for label, fn in (("Accepted, ETA…", self.accept), ("Skip…", self.skip), ("Arrived", self.arrived),
                              ("Cleared", self.cleared)):
                b = QPushButton(label)
                b.clicked.connect(fn)
                row.addWidget(b)
            lay.addLayout(row)
        lay.addWidget(QLabel("Offers for the selected job (rota order, skips with reasons)"))
        self.offers = QListWidget()
        lay.addWidget(self.offers, 1)
        return w

    # ---- actions ----------------------------------------------------------------------------
    def _incident_selected(self, incident_id: int) -> None:
        self.incident_id = incident_id

        def shown(inc: Any) -> None:
            self.for_incident.setText(f"Recovery for {inc.urn} ({inc.incident_type}, area {inc.area_code})")
            if self.may_act and not self.location.text():
                self.location.setText(inc.address or f"{inc.lat:.5f}, {inc.lon:.5f}")
        run_op(self, lambda: self.ctx.session.incidents.get(incident_id), on_done=shown, on_error=self._error)

    def _selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        return self.jobs[rows[0].row()] if rows else None

    def _do(self, fn: Any, done: str) -> None:
        run_op(self, fn, on_done=lambda j: self.status.setText(done.format(j=j)), on_error=self._error)

    def request(self) -> None:
        if self.incident_id is None:
            self.status.setText("Select the incident the vehicle belongs to first.")
            return
        args = dict(incident_id=self.incident_id, vrm=self.vrm.text(), location=self.location.text(),
                    reason=self.reason.text())
        self._do(lambda: self.ctx.session.recovery.request(**args),
                 "Job {j.id}: offer to {j.operator_name} ({j.operator_code}) on {j.operator_phone}")

    def accept(self) -> None:
        job = self._selected()
        if job is None:
            return
        eta, ok = QInputDialog.getInt(self, "ETA given", f"ETA {job.operator_name} gave (minutes)", 30, 1, 480)
        if ok:
            self._do(lambda: self.ctx.session.recovery.accept(job.id, eta_minutes=eta),
                     "Job {j.id}: {j.operator_name} accepted, ETA {j.eta_minutes} min")

    def skip(self, _checked: bool = False, *, reason: str | None = None) -> None:
        job = self._selected()
        if job is None:
            return
        if reason is None:
            reason, ok = QInputDialog.getText(self, "Skip operator", f"Why is {job.operator_name} skipped?")
            if not ok:
                return
        self._do(lambda: self.ctx.session.recovery.skip(job.id, reason=reason),
                 "Job {j.id}: {j.status}, now with {j.operator_name}")

    def arrived(self) -> None:
        job = self._selected()
        if job is not None:
            self._do(lambda: self.ctx.session.recovery.arrived(job.id), "Job {j.id}: operator arrived")

    def cleared(self) -> None:
        job = self._selected()
        if job is not None:
            self._do(lambda: self.ctx.session.recovery.cleared(job.id), "Job {j.id}: vehicle cleared")

    def _error(self, err: Exception) -> None:
        self.status.setText(str(err))

    # ---- views ------------------------------------------------------------------------------
    def refresh(self) -> None:
        svc = self.ctx.session.recovery
        run_op(self, lambda: (svc.open_jobs(), svc.report()), on_done=self._fill, on_error=self._error)

    def _fill(self, result: Any) -> None:
        jobs, report = result
        keep = self._selected()
        self.jobs = jobs
        self.table.setRowCount(len(jobs))
        for r, j in enumerate(jobs):
            op = f"{j.operator_code} {j.operator_name}" if j.operator_code else "— none left on rota —"
            vals = (j.id, j.urn, j.vrm, j.area_code, j.status, op, _hm(j.requested_at),
                    f"{j.eta_minutes} min" if j.eta_minutes else "—", _hm(j.arrived_at), _hm(j.cleared_at))
            for c, v in enumerate(vals):
                self.table.setItem(r, c, QTableWidgetItem(str(v)))
            if keep is not None and j.id == keep.id:
                self.table.selectRow(r)
        self.table.resizeColumnsToContents()
        self.report.setRowCount(len(report))
        for r, o in enumerate(report):
            within = f"{o.within_contract}/{o.attended} ({o.within_pct:.0f} %)" if o.attended else "—"
            vals = (o.area_code, f"{o.code} {o.name}", o.contracted_minutes, o.offers, o.accepted, o.skipped,
                    o.attended, within, o.mean_response_min if o.mean_response_min is not None else "—",
                    o.worst_response_min if o.worst_response_min is not None else "—")
            for c, v in enumerate(vals):
                self.report.setItem(r, c, QTableWidgetItem(str(v)))
        self.report.resizeColumnsToContents()
        self._job_selected()

    def _job_selected(self) -> None:
        job = self._selected()
        if job is None:
            self.offers.clear()
            return
        run_op(self, lambda: self.ctx.session.recovery.offers(job.id), on_done=self._show_offers, on_error=self._error)

    def _show_offers(self, offers: list[Any]) -> None:
        self.offers.clear()
        for o in offers:
            why = f" — {o.skip_reason}" if o.skip_reason else ""
            self.offers.addItem(f"{o.offered_at:%H:%M:%S}  {o.operator_code} {o.operator_name}: {o.outcome}{why}")


def make_panel(ctx: ConsoleContext) -> QWidget:
    return RecoveryPanel(ctx)
