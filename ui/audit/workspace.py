"""Auditor workspace (read-only): search the audit trail, verify the hash chain, QA-sample incidents.

Recording QA findings is the auditor's one write. Every call runs through ui.kit.ops.run_op.
"""
from __future__ import annotations

import json
from datetime import timezone
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QDateTime, QModelIndex, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateTimeEdit, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QGridLayout, QHBoxLayout, QHeaderView, QLineEdit,
                               QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton,
                               QSplitter, QTableView, QTabWidget, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.errors import ControlRoomError
from controlroom.exchange.reports import local
from controlroom.services.audit.qa import OUTCOMES, QA_CHECKLIST

from ..kit.proxy_models import SourceDataProxy
from controlroom.kernel import palette
from ..kit.context import ConsoleContext
from ..kit.ops import run_op

COLUMNS = (("at", "Time"), ("username", "User"), ("role", "Role"), ("console_id", "Console"),
           ("room_code", "Room"), ("action", "Action"), ("entity", "Entity"), ("outcome", "Outcome"),
           ("details", "Details"))
ACTIONS = ("", "session.sign_in", "session.unlock", "user.locked", "incident.created", "incident.updated",
           "incident.graded", "incident.closed", "incident.exported", "incident.imported", "incident.report",
           "despatch.assigned", "command.armed_authorised", "command.decision", "qa.sampled", "qa.reviewed",
           "audit.exported")


class AuditTableModel(QAbstractTableModel):
    """Search results (replaced as a whole per search: a query result, not a live event stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Any] = []

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return COLUMNS[section][1]
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        r = self.rows[index.row()]
        key = COLUMNS[index.column()][0]
        value = getattr(r, key)
        if role == Qt.DisplayRole:
            if key == "at":
                return local(value)
            if key == "details":
                return json.dumps(value, ensure_ascii=False, default=str)[:300]
            return value or ""
        if role == Qt.UserRole:  # sort key
            return r.id if key == "at" else str(value or "")
        if role == Qt.ForegroundRole and key == "outcome" and value == "refused":
            from PySide6.QtGui import QColor
            return QColor(palette.readable(palette.COUNTDOWN_BREACH))
        if role == Qt.ToolTipRole and key == "details":
            return json.dumps(value, ensure_ascii=False, indent=1, default=str)[:2000]
        return None


class AuditorWorkspace(QWidget):
    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.sample: list[Any] = []
        tabs = QTabWidget()
        tabs.addTab(self._trail_tab(), "Audit trail")
        tabs.addTab(self._qa_tab(), "QA sample")
        self.tabs = tabs
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(tabs)

    # ---- audit trail ------------------------------------------------------------------------
    def _trail_tab(self) -> QWidget:
        w = QWidget()
        self.user = QLineEdit(placeholderText="user name")
        self.console = QLineEdit(placeholderText="console")
        self.incident = QLineEdit(placeholderText="URN or incident number")
        self.action = QComboBox(editable=True)
        self.action.addItems(ACTIONS)
        self.use_range = QCheckBox("Between")
        now = QDateTime.currentDateTime()
        self.since = QDateTimeEdit(now.addDays(-1), calendarPopup=True, displayFormat="dd/MM/yyyy HH:mm")
        self.until = QDateTimeEdit(now.addSecs(3600), calendarPopup=True, displayFormat="dd/MM/yyyy HH:mm")
        self.search_btn = QPushButton("Search")
        self.export_btn = QPushButton("Export CSV…")
        self.verify_btn = QPushButton("Verify chain")
        self.verify_label = QLabel("Chain not checked yet.")
        self.verify_label.setObjectName("verifyResult")
        self.message = QLabel("")
        self.model = AuditTableModel()
        self.proxy = SourceDataProxy()
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.UserRole)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.DescendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectRows)
        self.table.setEditTriggers(QTableView.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        grid = QGridLayout()
        for col, (label, widget) in enumerate((("User", self.user), ("Console", self.console),
                                               ("Incident", self.incident), ("Action", self.action))):
            grid.addWidget(QLabel(label), 0, 2 * col)
            grid.addWidget(widget, 0, 2 * col + 1)
        rng = QHBoxLayout()
        for x in (self.use_range, self.since, QLabel("and"), self.until):
            rng.addWidget(x)
        rng.addStretch(1)
        for b in (self.search_btn, self.export_btn):
            rng.addWidget(b)
        chain = QHBoxLayout()
        chain.addWidget(self.verify_btn)
        chain.addWidget(self.verify_label, 1)
        lay = QVBoxLayout(w)
        lay.addLayout(grid)
        lay.addLayout(rng)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.message)
        lay.addLayout(chain)
        for edit in (self.user, self.console, self.incident):
            edit.returnPressed.connect(self.search)
        self.search_btn.clicked.connect(self.search)
        self.export_btn.clicked.connect(self.export_csv)
        self.verify_btn.clicked.connect(self.verify)
        return w

    def filters(self) -> dict[str, Any]:
        """The search filters as AuditService.search keywords (incident resolved on the worker)."""
        f: dict[str, Any] = {"username": self.user.text().strip() or None,
                             "console_id": self.console.text().strip() or None,
                             "action": self.action.currentText().strip() or None}
        if self.use_range.isChecked():
            f["since"] = self.since.dateTime().toPython().astimezone(timezone.utc)
            f["until"] = self.until.dateTime().toPython().astimezone(timezone.utc)
        return f

    def _entity(self) -> str | None:
        ref = self.incident.text().strip()
        if not ref:
            return None
        if ref.isdigit():
            return f"incident:{int(ref)}"
        return f"incident:{self.ctx.session.incidents.get_by_urn(ref).id}"  # runs on the worker

    def search(self) -> None:
        f = self.filters()
        self.message.setText("Searching…")

        def call() -> list[Any]:
            return self.ctx.session.audit.search(entity=self._entity(), **f)

        run_op(self, call, on_done=self._show_rows, on_error=self._error)

    def _show_rows(self, rows: list[Any]) -> None:
        self.model.set_rows(rows)
        self.message.setText(f"{len(rows)} audit record(s)" + (" (newest 500 shown)" if len(rows) >= 500 else ""))

    def _error(self, err: ControlRoomError) -> None:
        self.message.setText(str(err))

    def export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export audit records", "audit.csv", "CSV (*.csv)")
        if path:
            f = self.filters()
            run_op(self, lambda: self.ctx.session.audit.export_csv(entity=self._entity(), **f),
                   on_done=lambda text: self._write(path, text), on_error=self._error)

    def _write(self, path: str, text: str) -> None:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        self.message.setText(f"Exported to {path}")

    def verify(self) -> None:
        self.verify_btn.setEnabled(False)
        self.verify_label.setText("Verifying the whole chain…")
        run_op(self, self.ctx.session.audit.verify, on_done=self._verified, on_error=self._verify_failed)

    def _verified(self, result: Any) -> None:
        self.verify_btn.setEnabled(True)
        self.verified = result
        if result.ok:
            text, colour = f"Chain intact: {result.checked:,} records checked, every hash and link matches.", \
                palette.COUNTDOWN_OK
        else:
            text, colour = (f"CHAIN BROKEN at audit record #{result.first_broken} "
                            f"({result.checked:,} checked): records have been altered or removed."), \
                palette.COUNTDOWN_BREACH
        self.verify_label.setText(text)
        self.verify_label.setStyleSheet(f"color: {colour}; font-weight: bold")

    def _verify_failed(self, err: ControlRoomError) -> None:
        self.verify_btn.setEnabled(True)
        self.verify_label.setText(str(err))

    # ---- QA sampling ------------------------------------------------------------------------
    def _qa_tab(self) -> QWidget:
        w = QWidget()
        self.percent = QDoubleSpinBox(minimum=0.5, maximum=100, singleStep=1, value=5, suffix=" %")
        self.draw_btn = QPushButton("Draw random sample of closed incidents")
        self.sample_list = QListWidget()
        self.checks = {k: QCheckBox(label) for k, label in QA_CHECKLIST.items()}
        self.outcome = QComboBox()
        for key, label in OUTCOMES.items():
            self.outcome.addItem(label, key)
        self.findings = QPlainTextEdit(placeholderText="Findings: what was right, what was missed, advice given")
        self.record_btn = QPushButton("Record findings")
        self.qa_message = QLabel("")
        self.qa_message.setWordWrap(True)
        self.qa_title = QLabel("Select a sampled incident")
        self.qa_title.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Sample"))
        top.addWidget(self.percent)
        top.addWidget(self.draw_btn)
        top.addStretch(1)
        right = QWidget()
        form = QFormLayout(right)
        form.addRow(self.qa_title)
        for box in self.checks.values():
            form.addRow(box)
        form.addRow("Outcome", self.outcome)
        form.addRow(self.findings)
        form.addRow(self.record_btn)
        form.addRow(self.qa_message)
        split = QSplitter()
        split.addWidget(self.sample_list)
        split.addWidget(right)
        split.setSizes([320, 480])
        lay = QVBoxLayout(w)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self.draw_btn.clicked.connect(self.draw_sample)
        self.sample_list.currentRowChanged.connect(self._select)
        self.record_btn.clicked.connect(self.record)
        self.record_btn.setEnabled(False)
        return w

    def draw_sample(self) -> None:
        pct = float(self.percent.value())
        self.qa_message.setText("Drawing sample…")
        run_op(self, lambda: self.ctx.session.audit.qa_sample(percent=pct), on_done=self._show_sample,
               on_error=lambda e: self.qa_message.setText(str(e)))

    def _show_sample(self, items: list[Any]) -> None:
        self.sample = items
        self.sample_list.clear()
        for i in items:
            reviewed = f" · reviewed ×{i.reviews}" if i.reviews else ""
            self.sample_list.addItem(QListWidgetItem(
                f"{i.urn}  {i.grade or '—'}  {i.incident_type}  closed {local(i.closed_at, '%d/%m %H:%M')}"
                f"  {i.closing_code or ''}{reviewed}"))
        self.qa_message.setText(f"{len(items)} incident(s) drawn at {self.percent.value():g} %. "
                                "The draw is recorded in the audit trail.")
        if items:
            self.sample_list.setCurrentRow(0)

    def _select(self, row: int) -> None:
        ok = 0 <= row < len(self.sample)
        self.record_btn.setEnabled(ok)
        if ok:
            i = self.sample[row]
            self.qa_title.setText(f"{i.urn} — {i.summary}")  # plain text (typed summary)
            for box in self.checks.values():
                box.setChecked(False)
            self.findings.clear()

    def record(self) -> None:
        row = self.sample_list.currentRow()
        if not 0 <= row < len(self.sample):
            return
        item = self.sample[row]
        checklist = {k: box.isChecked() for k, box in self.checks.items()}
        outcome, findings, pct = self.outcome.currentData(), self.findings.toPlainText(), float(self.percent.value())
        self.record_btn.setEnabled(False)
        run_op(self, lambda: self.ctx.session.audit.record_review(
            item.id, checklist=checklist, findings=findings, outcome=outcome, sample_percent=pct),
            on_done=self._recorded, on_error=self._record_failed)

    def _recorded(self, review: Any) -> None:
        self.record_btn.setEnabled(True)
        self.qa_message.setText(f"Findings recorded for {review.urn} ({OUTCOMES[review.outcome]}).")

    def _record_failed(self, err: ControlRoomError) -> None:
        self.record_btn.setEnabled(True)
        self.qa_message.setText(str(err))


def make_panel(ctx: ConsoleContext) -> QWidget:
    return AuditorWorkspace(ctx)
