"""Intelligence checks panel (strategy §6.2.8): an officer asks over the radio, the operator records
who asked, about what and why, runs it, reads the result back and marks it relayed.

Supervisors and auditors also get the data-protection review: checks by operator and purpose.
Everything shown came from a person or a system: plain text only.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLineEdit, QListWidget,
                               QListWidgetItem, QPlainTextEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.kernel.roles import allowed
from controlroom.services.intel.service import purposes, subject_kinds

from ..kit.context import ConsoleContext
from ..kit.ops import run_op

KINDS = ("intel.requested", "intel.returned", "intel.relayed")


class IntelPanel(QWidget):
    def __init__(self, ctx: ConsoleContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        s = ctx.session
        self.may_run = allowed(s.user.role, "intel.check", training=s.training)
        self.may_review = allowed(s.user.role, "intel.supervise", training=s.training)
        self.current: Any = None
        lay = QVBoxLayout(self)
        if self.may_run:
            lay.addLayout(self._request_form())
            self.result = QPlainTextEdit(readOnly=True, placeholderText="Result of the check")
            self.result.setObjectName("intelResult")
            self.result.setMaximumHeight(110)
            self.relay_note = QLineEdit(placeholderText="What was passed to the officer (optional)")
            self.relay_btn = QPushButton("Relayed to officer")
            self.relay_btn.setEnabled(False)
            self.relay_btn.clicked.connect(self.relay)
            row = QHBoxLayout()
            row.addWidget(self.relay_note, 1)
            row.addWidget(self.relay_btn)
            lay.addWidget(self.result)
            lay.addLayout(row)
        self.status = QLabel("")
        self.status.setTextFormat(Qt.PlainText)
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        lay.addWidget(QLabel("Recent checks"))
        self.recent = QListWidget()
        self.recent.setObjectName("intelRecent")
        self.recent.currentItemChanged.connect(lambda it, _p: self._show(it.data(Qt.UserRole)) if it else None)
        lay.addWidget(self.recent, 1)
        if self.may_review:
            lay.addWidget(QLabel("Data-protection review: checks by operator and purpose (31 days)"))
            self.tally = QTableWidget(0, 5)
            self.tally.setHorizontalHeaderLabels(["Operator", "Purpose", "Checks", "With incident", "Relayed"])
            self.tally.verticalHeader().setVisible(False)
            self.tally.horizontalHeader().setStretchLastSection(True)
            self.tally.setEditTriggers(QTableWidget.NoEditTriggers)
            lay.addWidget(self.tally, 1)
        self._soon = QTimer(self, singleShot=True, interval=250, timeout=self.refresh)
        ctx.bridge.event.connect(lambda ev: self._soon.start() if ev.kind in KINDS else None)
        ctx.selection.unitSelected.connect(lambda cs: self.callsign.setText(cs) if self.may_run else None)
        self.refresh()

    def _request_form(self) -> QFormLayout:
        self.callsign = QLineEdit(placeholderText="Callsign asking, e.g. MK11")
        self.incident = QLineEdit(placeholderText="Incident URN (optional)")
        self.kind = QComboBox()
        for code, label in subject_kinds().items():
            self.kind.addItem(label, code)
        self.subject = QLineEdit(placeholderText="VRM, name and date of birth, or address")
        self.purpose = QComboBox()
        self.purpose.addItem("— choose the purpose (required) —", None)
        for code, label in purposes().items():
            self.purpose.addItem(label, code)
        self.reason = QLineEdit(placeholderText="The officer's reason, in their words (required)")
        self.run_btn = QPushButton("Run check")
        self.run_btn.clicked.connect(self.run_check)
        form = QFormLayout()
        for label, w in (("Unit", self.callsign), ("Incident", self.incident), ("Check on", self.kind),
                         ("Subject", self.subject), ("Purpose", self.purpose), ("Reason", self.reason)):
            form.addRow(label, w)
        form.addRow("", self.run_btn)
        return form

    # ---- actions ----------------------------------------------------------------------------
    def run_check(self) -> None:
        s = self.ctx.session
        urn = self.incident.text().strip()
        args = dict(callsign=self.callsign.text(), subject_kind=self.kind.currentData(),
                    subject=self.subject.text(), purpose=self.purpose.currentData(), reason=self.reason.text())

        def op() -> Any:
            inc_id = s.incidents.get_by_urn(urn).id if urn else None
            return s.intel.check(incident_id=inc_id, **args)
        self.run_btn.setEnabled(False)
        self.status.setText("Checking…")
        run_op(self, op, on_done=self._ran, on_error=self._error)

    def _ran(self, chk: Any) -> None:
        self.run_btn.setEnabled(True)
        self.subject.clear()
        self.reason.clear()
        self.status.setText(f"Check {chk.id} returned from {chk.source}: read it to {chk.callsign}, then mark it relayed.")
        self._show(chk)

    def relay(self) -> None:
        chk = self.current
        if chk is None:
            return
        note = self.relay_note.text()
        run_op(self, lambda: self.ctx.session.intel.relay(chk.id, note=note or None),
               on_done=lambda c: (self._show(c), self.relay_note.clear(),
                                  self.status.setText(f"Check {c.id} relayed to {c.callsign}.")),
               on_error=self._error)

    def _error(self, err: Exception) -> None:
        if self.may_run:
            self.run_btn.setEnabled(True)
        self.status.setText(str(err))

    # ---- views ------------------------------------------------------------------------------
    def _show(self, chk: Any) -> None:
        self.current = chk
        if not self.may_run:
            return
        who = f"{chk.callsign} asked · {purposes().get(chk.purpose, chk.purpose)} · “{chk.reason}”"
        body = chk.result_summary or "(no result yet)"
        ran = f"run by {chk.ran_by} at {chk.ran_at:%H:%M:%S} ({chk.source})" if chk.ran_at else ""
        relayed = f"relayed by {chk.relayed_by} at {chk.relayed_at:%H:%M:%S}" if chk.relayed_at else "not yet relayed"
        self.result.setPlainText(f"{chk.subject_kind.upper()} {chk.subject}\n{who}\n{body}\n{ran} · {relayed}")
        self.relay_btn.setEnabled(chk.status == "returned")

    def refresh(self) -> None:
        svc = self.ctx.session.intel
        review = self.may_review

        def load() -> Any:
            recent = svc.recent(limit=30) if self.may_run or review else []
            return recent, (svc.by_operator_and_purpose() if review else [])
        run_op(self, load, on_done=self._fill, on_error=self._error)

    def _fill(self, result: Any) -> None:
        recent, tally = result
        self.recent.clear()
        for c in recent:
            flag = f"  ⚠ {', '.join(c.markers)}" if c.markers else ""
            item = QListWidgetItem(f"{c.requested_at:%H:%M}  #{c.id}  {c.callsign}  {c.subject_kind} {c.subject}  "
                                   f"[{c.purpose}]  {c.status}  by {c.requested_by}{flag}")
            item.setData(Qt.UserRole, c)
            self.recent.addItem(item)
        if self.may_review:
            self.tally.setRowCount(len(tally))
            for r, t in enumerate(tally):
                for col, v in enumerate((t.operator, purposes().get(t.purpose, t.purpose), t.checks,
                                         t.with_incident, t.relayed)):
                    self.tally.setItem(r, col, QTableWidgetItem(str(v)))
            self.tally.resizeColumnsToContents()


def make_panel(ctx: ConsoleContext) -> QWidget:
    return IntelPanel(ctx)
