"""Incident form/detail: details (with live place suggestions and duplicates), THRIVE, log, links.

Every write goes through run_op; if the database is unreachable the form keeps what was typed.
Keyboard (issue 18): Tab/Shift+Tab through every field, Down/Up + Enter pick a place, Ctrl+S
saves, Esc cancels; Save and Close incident… are always visible above the tabs, and so is the
banner that repeats the error shown next to the field.
Location integrity: typing in the location field drops the coordinates until a place is picked,
so a save can never keep the old pin under a new place name.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QHBoxLayout, QPushButton, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.errors import ControlRoomError, InvalidInput
from controlroom.services.incidents.views import THRIVE_FIELDS
from controlroom.services.views import IncidentView, view_from

from . import form_tabs as tabs
from .hub import HUB
from ..kit.context import ConsoleContext
from ..kit.form_widgets import FieldErrors, FormTabs
from .close import CloseIncidentDialog
from .form_location import PLACE_KINDS, UNRESOLVED, LocationMixin  # noqa: F401  (older callers)
from ..kit.ops import run_op
from ..kit.presence_widgets import attach_to_form as attach_presence

FLAG_LABELS = tabs.FLAG_LABELS


class IncidentForm(LocationMixin, QWidget):
    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("incidentForm")
        self.incident: IncidentView | None = None
        self.lat: float | None = None
        self.uprn: int | None = None           # the property picked (gazetteer), or
        self.location_ref: str | None = None   # the postcode / street / place it stands for
        self.lon: float | None = None
        self._places: list[Any] = []
        self._auto_address: str | None = None  # the address text a pick filled in (follows the next pick)
        self._suggest_timer = QTimer(self, singleShot=True, interval=150, timeout=self._suggest)
        self.header = QLabel("New incident")
        self.header.setObjectName("incidentHeader")
        self.header.setWordWrap(True)
        self.message = QLabel("")  # the banner: always in view above the tabs
        self.message.setObjectName("formMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.PlainText)
        self.message.hide()
        self.errors = FieldErrors(self.message)
        self.tabs = FormTabs()
        self.tabs.addTab(tabs.details_tab(self), "Details")
        self.tabs.addTab(tabs.thrive_tab(self), "THRIVE")
        self.tabs.addTab(tabs.log_tab(self), "Log")
        self.tabs.addTab(tabs.any_way_scroller(tabs.links_tab(self)), "Links / history")
        self._despatch_tab()
        self._procedure_tab()
        self.fields = self.errors.fields
        self.location.textEdited.connect(self._location_edited)
        self.suggestions.itemClicked.connect(lambda item: self.pick_row(self.suggestions.row(item)))
        self.caller_phone.editingFinished.connect(self.refresh_related)
        self.save_btn = QPushButton("Save (Ctrl+S)")
        self.save_btn.setObjectName("saveIncident")
        self.save_btn.clicked.connect(self.save)
        self.close_btn = QPushButton("Close incident…")
        self.close_btn.setObjectName("closeIncident")
        self.close_btn.clicked.connect(self.ask_close)
        self.cancel_btn = QPushButton("Cancel (Esc)")
        self.cancel_btn.setObjectName("cancelEdit")
        self.cancel_btn.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_btn)
        buttons.addWidget(self.close_btn)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.header)
        lay.addWidget(self.message)
        lay.addLayout(buttons)
        lay.addWidget(self.tabs, 1)
        QShortcut(QKeySequence.Save, self, activated=self.save, context=Qt.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence(Qt.Key_Escape), self, activated=self.cancel, context=Qt.WidgetWithChildrenShortcut)
        QWidget.setTabOrder(self.rationale, self.save_btn)
        ctx.selection.incidentSelected.connect(self.open_incident)
        ctx.selection.newIncidentAt.connect(self.new_incident_at)
        ctx.bridge.event.connect(self.on_event)
        HUB.newIncidentRequested.connect(self.new_incident)
        attach_presence(self)  # issue 13: "also open at N-07 …" line; publishes what this form shows
        self._update_buttons()

    def _despatch_tab(self) -> None:
        try:
            from ui.despatch.tab import make_despatch_tab
            self.despatch = make_despatch_tab(self.ctx)
            self.tabs.addTab(tabs.any_way_scroller(self.despatch), "Despatch")
        except Exception as exc:  # a broken tab must not take the form down
            self.tabs.addTab(QLabel(f"Despatch not available: {exc}"), "Despatch")

    def _procedure_tab(self) -> None:  # issue 23: the guidance for this incident's type and flags
        try:
            from ui.reference.procedure import make_procedure_tab
            tab = make_procedure_tab(self.ctx, self)
        except Exception as exc:  # a broken tab must not take the form down
            tab = QLabel(f"Procedure not available: {exc}")
        self.tabs.addTab(tab, "Procedure")

    # ---- state ----------------------------------------------------------------------------
    def new_incident(self) -> None:
        self.incident = None
        self.lat = self.lon = None
        self._auto_address = None
        for w in (self.location, self.address, self.caller_name, self.caller_phone, self.rationale):
            w.clear()
        self.summary.clear()
        for cb in self.flags.values():
            cb.setChecked(False)
        self.type.setCurrentIndex(0)  # "— choose the incident type": never a default type
        self.grade.setCurrentIndex(0)
        for e in self.thrive_edits.values():
            e.clear()
        for lst in (self.related, self.log_list, self.links_list, self.history_list):
            lst.clear()
        self._show_places([])
        self.area_label.setText("Area: —   Room: —")
        self.header.setText("New incident")
        self.errors.clear()
        self._set_closed(False)
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
                    svc.find_related(lat=inc.lat, lon=inc.lon, caller_phone=inc.caller_phone, exclude_id=inc.id,
                                     uprn=inc.uprn, location_ref=inc.location_ref))
        run_op(self, load, on_done=self._show_loaded, on_error=self._error)

    def _show_loaded(self, result: tuple[Any, ...]) -> None:
        inc, log, thrive, links, related = result
        shown = self.incident
        if shown is None or shown.id != inc.id:
            self.errors.clear()  # another incident: the last one's messages do not apply
            self._fill(inc)
        elif inc.version > shown.version:
            self._fill(inc)
        # else: the incident already on screen (e.g. just saved): never overwrite what is being typed
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
        self.uprn, self.location_ref = inc.uprn, inc.location_ref
        self.channel.setCurrentIndex(max(0, self.channel.findData(inc.channel)))
        self.type.setCurrentIndex(max(0, self.type.findData(inc.incident_type)))
        self.grade.setCurrentIndex(max(0, self.grade.findData(inc.grade)))
        self.location.setText(inc.address or f"{inc.lat:.5f}, {inc.lon:.5f}")
        self.address.setText(inc.address or "")
        self._auto_address = inc.address
        self.summary.setPlainText(inc.summary)
        self.caller_name.setText(inc.caller_name or "")
        self.caller_phone.setText(inc.caller_phone or "")
        for f, cb in self.flags.items():
            cb.setChecked(getattr(inc, f))
        self.rationale.clear()
        self._show_places([])
        self.area_label.setText(f"Area: {inc.area_code}   Room: {inc.room_code}")
        self._header(inc)

    def _header(self, inc: IncidentView) -> None:
        flags = ", ".join(FLAG_LABELS[f] for f in inc.flags)
        status = "CLOSED" if inc.status == "closed" else inc.status.replace("_", " ")
        self.header.setText(f"{inc.urn}  ·  {inc.grade or 'ungraded'}  ·  {status}  ·  v{inc.version}"
                            + (f"  ·  {flags}" if flags else ""))
        self._set_closed(inc.status == "closed")

    def _set_closed(self, closed: bool) -> None:
        """A closed incident stays on screen, read-only: the operator sees what they closed."""
        self.setProperty("closed", closed)
        for w in self.fields.values():
            if hasattr(w, "setReadOnly"):
                w.setReadOnly(closed)
            else:
                w.setEnabled(not closed)
        for cb in self.flags.values():
            cb.setEnabled(not closed)
        self._update_buttons()

    def _update_buttons(self) -> None:
        closed = bool(self.property("closed"))
        self.save_btn.setEnabled(not closed)
        self.close_btn.setEnabled(self.incident is not None and not closed)

    def on_event(self, ev: Any) -> None:
        inc = self.incident
        if inc is None or ev.entity_id != str(inc.id):
            return
        p = ev.payload if isinstance(ev.payload, dict) else {}
        if ev.kind == "incident.logged":
            self.log_list.addItem(f"{str(p.get('at', ''))[11:19]}  {p.get('username')}  [{p.get('kind')}]  "
                                  f"{p.get('text')}")
        elif "version" in p and "urn" in p and int(p["version"]) > inc.version:
            self.incident = view_from(IncidentView, p)
            if self.incident.status == "closed":
                self._fill(self.incident)  # closed elsewhere (C verb, another console): show it closed
            else:
                if self.grade.currentData() == inc.grade:  # untouched by the operator: follow the record
                    self.grade.setCurrentIndex(max(0, self.grade.findData(self.incident.grade)))
                self._header(self.incident)  # fields stay as typed; the next save reports any conflict

    # ---- writes ---------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        return {"channel": self.channel.currentData(), "incident_type": self.type.currentData(),
                "summary": self.summary.toPlainText(), "address": self.address.text() or None,
                "caller_name": self.caller_name.text() or None, "caller_phone": self.caller_phone.text() or None,
                **{f: cb.isChecked() for f, cb in self.flags.items()}}

    def problems(self) -> list[tuple[str, str]]:
        """What the form can tell before asking the database, in the order of the fields."""
        out = []
        if self.type.currentData() is None:
            out.append(("incident_type", "Choose the incident type."))
        if self.lat is None or self.lon is None:
            where = self.location.text().strip()
            out.append(("location", f"'{where}' is not a resolved location: pick it from the suggestions "
                                    "(Down, then Enter)." if where else
                        "Choose a location first (type a place and pick a suggestion)."))
        if not self.summary.toPlainText().strip():
            out.append(("summary", "Summary is required."))
        return out

    def save(self) -> None:
        if self.property("closed"):
            return
        problems = self.problems()
        if problems:
            self.errors.show(problems)
            return
        svc, inc, vals = self.ctx.session.incidents, self.incident, self.values()
        grade, why = self.grade.currentData(), self.rationale.text() or None
        lat, lon = self.lat, self.lon
        where = {"uprn": self.uprn, "location_ref": self.location_ref}
        if inc is None:
            op = lambda: svc.create(lat=lat, lon=lon, grade=grade, **where, **vals)  # noqa: E731
        else:
            def op() -> IncidentView:
                changed = {k: v for k, v in vals.items() if getattr(inc, k) != v}
                if (lat, lon) != (inc.lat, inc.lon):
                    changed.update(lat=lat, lon=lon, **where)
                after = svc.update(inc.id, expected_version=inc.version, **changed) if changed else inc
                if grade is not None and grade != inc.grade:
                    after = svc.grade(inc.id, grade, rationale=why)
                return after
        self.save_btn.setEnabled(False)
        run_op(self, op, on_done=self._saved, on_error=self._error)

    def _saved(self, inc: IncidentView) -> None:
        was_new = self.incident is None
        self._fill(inc)
        self.errors.clear()
        self.errors.say(f"Saved {inc.urn}.")
        if was_new:
            self.ctx.selection.incidentSelected.emit(inc.id)  # the operator's own new incident

    def cancel(self) -> None:
        """Esc: first close the suggestions; then drop unsaved edits (a new form is emptied)."""
        if self.suggestions.isVisible():
            self._show_places([])
            return
        if self.incident is None:
            self.new_incident()
        else:
            self._fill(self.incident)
            self.errors.clear()
            self.errors.say("Changes cancelled.")

    def ask_close(self) -> CloseIncidentDialog | None:
        if self.incident is None or self.property("closed"):
            return None
        inc = self.incident
        dlg = CloseIncidentDialog(inc.urn, self)
        self.close_dialog = dlg
        dlg.accepted.connect(lambda: self.close_incident(inc.id, **dlg.values()))
        dlg.open()
        return dlg

    def close_incident(self, incident_id: int, *, closing_code: str, qualifier: str | None, result: str) -> None:
        svc = self.ctx.session.incidents
        run_op(self, lambda: svc.close(incident_id, closing_code=closing_code, qualifier=qualifier, result=result),
               on_done=self._closed, on_error=self._error)

    def _closed(self, inc: IncidentView) -> None:
        if self.incident is None or inc.id != self.incident.id:
            return
        self._fill(inc)  # the same incident, now closed: nothing else is opened for the operator
        self.errors.say(f"Closed {inc.urn}: {inc.closing_code}.")

    def save_thrive(self) -> None:
        if self.incident is None:
            self._error(InvalidInput("Save the incident before recording THRIVE.", field="threat"))
            return
        vals = {f: e.toPlainText() for f, e in self.thrive_edits.items()}
        iid, rl = self.incident.id, self.risk_level.currentData()
        run_op(self, lambda: self.ctx.session.incidents.thrive(iid, risk_level=rl, **vals),
               on_done=lambda t: (self.thrive_version.setText(f"Version {t.version} saved"),
                                  self.errors.clear(), self.errors.say(f"THRIVE version {t.version} recorded.")),
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
        """Say what is wrong next to the field and in the banner; never clear what was typed."""
        self._update_buttons()
        self.errors.show([(getattr(err, "field", None), str(err))])

    def _say(self, text: str, *, error: bool = False) -> None:
        self.errors.say(text, error=error)


def make_panel(ctx: ConsoleContext) -> QWidget:
    form = IncidentForm(ctx)
    ctx.extras["incident_form"] = form
    return form
