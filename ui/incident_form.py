"""Incident form/detail: details (with live place suggestions and duplicates), THRIVE, log, links.

Every write goes through run_op; if the database is unreachable the form keeps what was typed.
"""
from __future__ import annotations

import importlib
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QPlainTextEdit, QPushButton, QTabWidget, QVBoxLayout, QWidget)

from controlroom import config
from controlroom.errors import ControlRoomError, InvalidInput
from controlroom.services.incident_views import THRIVE_FIELDS
from controlroom.services.incidents import FLAG_NAMES
from controlroom.services.views import IncidentView

from .commands_incidents import HUB
from .context import ConsoleContext
from .ops import run_op
from .presence_widgets import attach_to_form as attach_presence

FLAG_LABELS = {"firearms": "Firearms", "domestic_abuse": "Domestic abuse", "vulnerable_person": "Vulnerable",
               "repeat_victim": "Repeat victim", "missing_person": "Missing person"}


class IncidentForm(QWidget):
    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("incidentForm")
        self.incident: IncidentView | None = None
        self.lat: float | None = None
        self.lon: float | None = None
        self.fields: dict[str, QWidget] = {}
        self._suggest_timer = QTimer(self, singleShot=True, interval=150, timeout=self._suggest)
        self.header = QLabel("New incident")
        self.header.setObjectName("incidentHeader")
        self.message = QLabel("")
        self.message.setObjectName("formMessage")
        self.message.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._details_tab(), "Details")
        self.tabs.addTab(self._thrive_tab(), "THRIVE")
        self.tabs.addTab(self._log_tab(), "Log")
        self.tabs.addTab(self._links_tab(), "Links / history")
        self._despatch_tab()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.header)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(self.message)
        ctx.selection.incidentSelected.connect(self.open_incident)
        ctx.selection.newIncidentAt.connect(self.new_incident_at)
        ctx.bridge.event.connect(self.on_event)
        HUB.newIncidentRequested.connect(self.new_incident)
        attach_presence(self)  # issue 13: "also open at N-07 …" line; publishes what this form shows

    # ---- building -------------------------------------------------------------------------
    def _details_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout()
        self.channel = QComboBox()
        for code, c in config.channels().items():
            self.channel.addItem(f"{code} — {c['label']}", code)
        self.type = QComboBox()
        for code, t in config.incident_types().items():
            self.type.addItem(f"{code} — {t['label']} ({t['nsir_code']})", code)
        self.grade = QComboBox()
        self.grade.addItem("— ungraded", None)
        for g, p in config.grade_policy()["grades"].items():
            self.grade.addItem(f"{g} {p['label']}", g)
        self.location = QLineEdit(placeholderText="Type a place, junction or landmark, or paste 'lat, lon'")
        self.location.textEdited.connect(lambda _t: self._suggest_timer.start())
        self.suggestions = QListWidget()
        self.suggestions.setMaximumHeight(96)
        self.suggestions.itemActivated.connect(self._pick_place)
        self.suggestions.itemClicked.connect(self._pick_place)
        self.area_label = QLabel("Area: —   Room: —")
        self.address = QLineEdit()
        self.summary = QPlainTextEdit()
        self.summary.setMaximumHeight(70)
        self.caller_name = QLineEdit()
        self.caller_phone = QLineEdit()
        self.caller_phone.editingFinished.connect(self.refresh_related)
        self.flags = {f: QCheckBox(FLAG_LABELS[f]) for f in FLAG_NAMES}
        flag_row = QHBoxLayout()
        for cb in self.flags.values():
            flag_row.addWidget(cb)
        self.rationale = QLineEdit(placeholderText="Why the grade changes (needed to regrade)")
        self.fields = {"channel": self.channel, "incident_type": self.type, "grade": self.grade,
                       "location": self.location, "address": self.address, "summary": self.summary,
                       "caller_name": self.caller_name, "caller_phone": self.caller_phone,
                       "rationale": self.rationale}
        for label, widget in (("Channel", self.channel), ("Type", self.type), ("Grade", self.grade),
                              ("Location", self.location), ("", self.suggestions), ("", self.area_label),
                              ("Address", self.address), ("Summary", self.summary),
                              ("Caller", self.caller_name), ("Caller number", self.caller_phone)):
            form.addRow(label, widget)
        form.addRow("Flags", flag_row)
        form.addRow("Grade rationale", self.rationale)
        self.related = QListWidget()
        self.related.setObjectName("relatedList")
        self.save_btn = QPushButton("Save (Ctrl+S)")
        self.save_btn.setShortcut("Ctrl+S")
        self.save_btn.clicked.connect(self.save)
        lay = QVBoxLayout(w)
        lay.addLayout(form)
        lay.addWidget(QLabel("Possible duplicates, address history, repeat caller:"))
        lay.addWidget(self.related, 1)
        lay.addWidget(self.save_btn)
        return w

    def _thrive_tab(self) -> QWidget:
        w = QWidget()
        grid = QGridLayout(w)
        self.thrive_edits: dict[str, QPlainTextEdit] = {}
        for i, f in enumerate(THRIVE_FIELDS):
            edit = QPlainTextEdit()
            edit.setMaximumHeight(48)
            self.thrive_edits[f] = edit
            grid.addWidget(QLabel(f.title()), i, 0)
            grid.addWidget(edit, i, 1)
        self.risk_level = QComboBox()
        for label, v in (("Risk level —", None), ("High", "high"), ("Medium", "medium"), ("Low", "low")):
            self.risk_level.addItem(label, v)
        self.thrive_version = QLabel("No assessment yet")
        self.thrive_btn = QPushButton("Record assessment")
        self.thrive_btn.clicked.connect(self.save_thrive)
        n = len(THRIVE_FIELDS)
        grid.addWidget(self.risk_level, n, 0)
        grid.addWidget(self.thrive_version, n, 1)
        grid.addWidget(self.thrive_btn, n + 1, 1)
        return w

    def _log_tab(self) -> QWidget:
        w = QWidget()
        self.log_list = QListWidget()
        self.log_list.setObjectName("logList")
        self.log_edit = QLineEdit(placeholderText="Add to the log, Enter to save")
        self.log_edit.returnPressed.connect(self.add_log)
        lay = QVBoxLayout(w)
        lay.addWidget(self.log_list, 1)
        lay.addWidget(self.log_edit)
        return w

    def _links_tab(self) -> QWidget:
        w = QWidget()
        self.links_list = QListWidget()
        self.history_list = QListWidget()
        self.link_urn = QLineEdit(placeholderText="URN to link")
        self.link_kind = QComboBox()
        self.link_kind.addItem("duplicate", "duplicate")
        self.link_kind.addItem("related", "related")
        self.link_reason = QLineEdit(placeholderText="Reason")
        btn = QPushButton("Link")
        btn.clicked.connect(self.link)
        row = QHBoxLayout()
        for x in (self.link_urn, self.link_kind, self.link_reason, btn):
            row.addWidget(x)
        lay = QVBoxLayout(w)
        lay.addWidget(QLabel("Linked incidents"))
        lay.addWidget(self.links_list, 1)
        lay.addLayout(row)
        lay.addWidget(QLabel("Address history (≤ 50 m, 12 months)"))
        lay.addWidget(self.history_list, 1)
        return w

    def _despatch_tab(self) -> None:
        try:
            factory = importlib.import_module("ui.despatch_tab").make_despatch_tab
        except (ImportError, AttributeError):
            return  # despatch is an optional part of this build
        try:
            self.tabs.addTab(factory(self.ctx), "Despatch")
        except Exception as exc:  # a broken tab must not take the form down
            self.tabs.addTab(QLabel(f"Despatch not available: {exc}"), "Despatch")

    # ---- state ----------------------------------------------------------------------------
    def new_incident(self) -> None:
        self.incident = None
        self.lat = self.lon = None
        for w in (self.location, self.address, self.caller_name, self.caller_phone, self.rationale):
            w.clear()
        self.summary.clear()
        for cb in self.flags.values():
            cb.setChecked(False)
        self.grade.setCurrentIndex(0)
        for lst in (self.suggestions, self.related, self.log_list, self.links_list, self.history_list):
            lst.clear()
        self.area_label.setText("Area: —   Room: —")
        self.header.setText("New incident")
        self._say("")
        self.tabs.setCurrentIndex(0)
        self.location.setFocus()

    def new_incident_at(self, lat: float, lon: float) -> None:
        self.new_incident()
        self.location.setText(f"{lat:.5f}, {lon:.5f}")
        self._suggest()

    def open_incident(self, incident_id: int) -> None:
        svc = self.ctx.session.incidents

        def load() -> tuple[Any, ...]:
            inc = svc.get(incident_id)
            return (inc, svc.log(incident_id), svc.thrive_history(incident_id), svc.links(incident_id),
                    svc.find_related(lat=inc.lat, lon=inc.lon, caller_phone=inc.caller_phone, exclude_id=inc.id))
        run_op(self, load, on_done=self._show_loaded, on_error=self._error)

    def _show_loaded(self, result: tuple[Any, ...]) -> None:
        inc, log, thrive, links, related = result
        self._fill(inc)
        self.log_list.clear()
        for e in log:
            self.log_list.addItem(f"{e.at:%H:%M:%S}  {e.username}  [{e.kind}]  {e.text}")
        self.log_list.scrollToBottom()
        if thrive:
            last = thrive[-1]
            for f in THRIVE_FIELDS:
                self.thrive_edits[f].setPlainText(getattr(last, f))
            self.risk_level.setCurrentIndex(max(0, self.risk_level.findData(last.risk_level)))
            self.thrive_version.setText(f"Version {last.version} by {last.username} at {last.at:%H:%M}")
        else:
            for e in self.thrive_edits.values():
                e.clear()
            self.thrive_version.setText("No assessment yet")
        self.links_list.clear()
        for ln in links:
            self.links_list.addItem(f"{ln.other_urn}  ({ln.kind})  {ln.reason}  — {ln.username}")
        self._show_related(related)

    def _fill(self, inc: IncidentView) -> None:
        self.incident = inc
        self.lat, self.lon = inc.lat, inc.lon
        self.channel.setCurrentIndex(max(0, self.channel.findData(inc.channel)))
        self.type.setCurrentIndex(max(0, self.type.findData(inc.incident_type)))
        self.grade.setCurrentIndex(max(0, self.grade.findData(inc.grade)))
        self.location.setText(inc.address or f"{inc.lat:.5f}, {inc.lon:.5f}")
        self.address.setText(inc.address or "")
        self.summary.setPlainText(inc.summary)
        self.caller_name.setText(inc.caller_name or "")
        self.caller_phone.setText(inc.caller_phone or "")
        for f, cb in self.flags.items():
            cb.setChecked(getattr(inc, f))
        self.rationale.clear()
        self.area_label.setText(f"Area: {inc.area_code}   Room: {inc.room_code}")
        self._header(inc)

    def _header(self, inc: IncidentView) -> None:
        flags = ", ".join(FLAG_LABELS[f] for f in inc.flags)
        self.header.setText(f"{inc.urn}  ·  {inc.grade or 'ungraded'}  ·  {inc.status}  ·  v{inc.version}"
                            + (f"  ·  {flags}" if flags else ""))

    def on_event(self, ev: Any) -> None:
        inc = self.incident
        if inc is None or ev.entity_id != str(inc.id):
            return
        p = ev.payload if isinstance(ev.payload, dict) else {}
        if ev.kind == "incident.logged":
            self.log_list.addItem(f"{str(p.get('at', ''))[11:19]}  {p.get('username')}  [{p.get('kind')}]  "
                                  f"{p.get('text')}")
        elif "version" in p and "urn" in p and int(p["version"]) > inc.version:
            from controlroom.services.views import view_from
            self.incident = view_from(IncidentView, p)
            self._header(self.incident)  # fields stay as typed; the next save reports any conflict

    # ---- location and related -------------------------------------------------------------
    def _suggest(self) -> None:
        text = self.location.text()
        run_op(self, lambda: self.ctx.session.incidents.suggest_places(text), on_done=self._show_places,
               on_error=self._error)

    def _show_places(self, places: list[Any]) -> None:
        self.suggestions.clear()
        self._places = places
        for p in places:
            where = f"{p.area_code} · {p.room_code} room" if p.inside_force else "OUTSIDE THE FORCE"
            self.suggestions.addItem(f"{p.name}  ({p.kind}; {where})")
        if len(places) == 1 and places[0].kind == "coordinates":
            self._pick_place(self.suggestions.item(0))

    def _pick_place(self, item: Any) -> None:
        p = self._places[self.suggestions.row(item)]
        self.lat, self.lon = p.lat, p.lon
        if p.kind != "coordinates" and not self.address.text():
            self.address.setText(p.name)
        self.area_label.setText(f"Area: {p.area_code or 'outside the force'}   Room: {p.room_code or '—'}")
        self.refresh_related()

    def refresh_related(self) -> None:
        if self.lat is None or self.lon is None:
            return
        lat, lon, phone = self.lat, self.lon, self.caller_phone.text() or None
        ex = self.incident.id if self.incident else None
        run_op(self, lambda: self.ctx.session.incidents.find_related(lat=lat, lon=lon, caller_phone=phone,
                                                                     exclude_id=ex),
               on_done=self._show_related, on_error=self._error)

    def _show_related(self, rel: Any) -> None:
        self.related.clear()
        self.history_list.clear()
        if rel.repeat_caller_count:
            self.related.addItem(f"Repeat caller: {rel.repeat_caller_count} call(s) in 12 months")
        for d in rel.duplicates:
            dist = f"{d.distance_m:.0f} m" if d.distance_m is not None else ""
            self.related.addItem(f"POSSIBLE DUPLICATE {d.urn}  {d.incident_type}  {dist}  ({d.reason})  {d.summary}")
        for h in rel.history:
            line = f"{h.created_at:%d %b %Y}  {h.urn}  {h.incident_type}  {h.closing_code or h.status}  {h.summary}"
            self.history_list.addItem(line)
            self.related.addItem("history: " + line)

    # ---- writes ---------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        return {"channel": self.channel.currentData(), "incident_type": self.type.currentData(),
                "summary": self.summary.toPlainText(), "address": self.address.text() or None,
                "caller_name": self.caller_name.text() or None, "caller_phone": self.caller_phone.text() or None,
                **{f: cb.isChecked() for f, cb in self.flags.items()}}

    def save(self) -> None:
        svc, inc, vals = self.ctx.session.incidents, self.incident, self.values()
        grade, why = self.grade.currentData(), self.rationale.text() or None
        if self.lat is None or self.lon is None:
            self._error(InvalidInput("Choose a location first (type a place and pick a suggestion).",
                                     field="location"))
            return
        lat, lon = self.lat, self.lon
        if inc is None:
            op = lambda: svc.create(lat=lat, lon=lon, grade=grade, **vals)  # noqa: E731
        else:
            def op() -> IncidentView:
                changed = {k: v for k, v in vals.items() if getattr(inc, k) != v}
                if (lat, lon) != (inc.lat, inc.lon):
                    changed.update(lat=lat, lon=lon)
                after = svc.update(inc.id, expected_version=inc.version, **changed) if changed else inc
                if grade is not None and grade != inc.grade:
                    after = svc.grade(inc.id, grade, rationale=why)
                return after
        self.save_btn.setEnabled(False)
        run_op(self, op, on_done=self._saved, on_error=self._error)

    def _saved(self, inc: IncidentView) -> None:
        self.save_btn.setEnabled(True)
        self._fill(inc)
        self._say(f"Saved {inc.urn}.")
        self.ctx.selection.incidentSelected.emit(inc.id)

    def save_thrive(self) -> None:
        if self.incident is None:
            self._error(InvalidInput("Save the incident before recording THRIVE.", field="threat"))
            return
        vals = {f: e.toPlainText() for f, e in self.thrive_edits.items()}
        iid, rl = self.incident.id, self.risk_level.currentData()
        run_op(self, lambda: self.ctx.session.incidents.thrive(iid, risk_level=rl, **vals),
               on_done=lambda t: (self.thrive_version.setText(f"Version {t.version} saved"),
                                  self._say(f"THRIVE version {t.version} recorded.")),
               on_error=self._error)

    def add_log(self) -> None:
        if self.incident is None:
            return
        text, iid = self.log_edit.text(), self.incident.id
        run_op(self, lambda: self.ctx.session.incidents.add_log(iid, text),
               on_done=lambda _e: self.log_edit.clear(), on_error=self._error)

    def link(self) -> None:
        if self.incident is None:
            return
        svc, iid = self.ctx.session.incidents, self.incident.id
        urn, kind, reason = self.link_urn.text(), self.link_kind.currentData(), self.link_reason.text()
        run_op(self, lambda: svc.link(iid, svc.get_by_urn(urn).id, reason=reason, kind=kind),
               on_done=lambda ln: self.open_incident(iid), on_error=self._error)

    def _error(self, err: ControlRoomError) -> None:
        """Say what is wrong next to the field; never clear what the operator typed."""
        self.save_btn.setEnabled(True)
        field = getattr(err, "field", None)
        for name, w in self.fields.items():
            w.setProperty("invalid", name == field)
            w.style().polish(w)
        self._say(str(err), error=True)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("error", error)
        self.message.style().polish(self.message)


def make_panel(ctx: ConsoleContext) -> QWidget:
    form = IncidentForm(ctx)
    ctx.extras["incident_form"] = form
    return form
