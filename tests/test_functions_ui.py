"""The issue-23 functions in the console: the incident form's Procedure tab follows what is
typed, search snippets never render document text as markup, the panel follows the incident."""
from __future__ import annotations

from datetime import date

from PySide6.QtWidgets import QLabel

from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.incidents.form import IncidentForm
from ui.reference.panel import ReferencePanel

from .helpers import new


def ctx_for(s):
    return ConsoleContext(session=s, bridge=EventBridge(s))


def test_procedure_tab_follows_type_and_flags_as_the_operator_types(qtbot, open_as):
    form = IncidentForm(ctx_for(open_as("handler.north")))
    qtbot.addWidget(form)
    tab = form.tabs.widget(form.tabs.count() - 1)
    form.type.setCurrentIndex(form.type.findData("FIREARMS"))
    qtbot.waitUntil(lambda: tab.view.doc is not None and "firearms" in tab.view.doc.title.lower(), timeout=5000)
    assert "Initial Tactical Firearms Commander" in tab.view.body.toPlainText()
    assert form.tabs.tabText(form.tabs.indexOf(tab)).startswith("Procedure (")
    form.type.setCurrentIndex(form.type.findData("THEFT"))
    qtbot.waitUntil(lambda: tab.view.doc is None, timeout=5000)
    form.flags["domestic_abuse"].setChecked(True)
    qtbot.waitUntil(lambda: tab.view.doc is not None and "DASH" in tab.view.doc.title, timeout=5000)


def test_search_snippet_shows_typed_markup_as_text(qtbot, open_as):
    sup = open_as("super.north")
    sup.reference.save(title="Hoax <b>STAND DOWN</b> guidance", kind="good_practice", owner="x",
                       body='Zebrafish <img src=x onerror=alert(1)> <a href="http://evil">STAND DOWN</a> zebrafish',
                       review_due=date.today(), change_note="test")
    panel = ReferencePanel(ctx_for(open_as("handler.north")))
    qtbot.addWidget(panel)
    panel.query.setText("zebrafish")
    panel.search()
    qtbot.waitUntil(lambda: panel.results.count() == 1, timeout=5000)
    label = panel.results.itemWidget(panel.results.item(0))
    assert isinstance(label, QLabel)
    shown = label.text()
    assert "<img" not in shown and "<a " not in shown and "&lt;img" in shown and "&lt;b&gt;STAND" in shown
    assert "<b>Zebrafish</b>" in shown  # the match itself is marked
    qtbot.waitUntil(lambda: panel.doc_view.doc is not None, timeout=5000)
    assert "<img src=x" in panel.doc_view.body.toPlainText()  # the document as typed, as plain text


def test_reference_panel_follows_the_selected_incident(qtbot, open_as):
    h = open_as("handler.north")
    ctx = ctx_for(h)
    panel = ReferencePanel(ctx)
    qtbot.addWidget(panel)
    inc = new(h, incident_type="MISSING", missing_person=True, summary="Boy aged 8 missing")
    ctx.selection.incidentSelected.emit(inc.id)
    qtbot.waitUntil(lambda: panel.doc_view.doc is not None and "Missing" in panel.doc_view.doc.title, timeout=5000)
    assert inc.urn in panel.status.text()


def test_intel_panel_runs_a_check_shows_markers_and_relays(qtbot, open_as):
    from ui.intel.panel import IntelPanel
    d = open_as("despatch.north")
    panel = IntelPanel(ctx_for(d))
    qtbot.addWidget(panel)
    panel.callsign.setText("MK11")
    panel.kind.setCurrentIndex(panel.kind.findData("vehicle"))
    panel.subject.setText("DM19 XYZ")
    panel.run_check()  # no purpose chosen: refused, nothing written
    qtbot.waitUntil(lambda: "purpose" in panel.status.text().lower(), timeout=5000)
    panel.purpose.setCurrentIndex(panel.purpose.findData("vehicle_stop"))
    panel.reason.setText("<b>Driver</b> ran off")
    panel.run_check()
    qtbot.waitUntil(lambda: panel.relay_btn.isEnabled(), timeout=5000)
    assert "STOLEN" in panel.result.toPlainText() and "<b>Driver</b>" in panel.result.toPlainText()
    panel.relay()
    qtbot.waitUntil(lambda: "relayed to MK11" in panel.status.text(), timeout=5000)
    qtbot.waitUntil(lambda: panel.recent.count() >= 1 and "relayed" in panel.recent.item(0).text(), timeout=5000)


def test_intel_review_table_for_supervisors_only(qtbot, open_as):
    from ui.intel.panel import IntelPanel
    open_as("despatch.south").intel.check(callsign="OX11", subject_kind="vehicle", subject="DM24 ABC",
                                           purpose="vehicle_stop", reason="No lights")
    sup = IntelPanel(ctx_for(open_as("super.south")))
    qtbot.addWidget(sup)
    qtbot.waitUntil(lambda: sup.tally.rowCount() >= 1, timeout=5000)
    assert not hasattr(IntelPanel(ctx_for(open_as("despatch.south"))), "tally")


def test_recovery_panel_requests_for_the_selected_incident_skips_and_accepts(qtbot, open_as):
    from ui.recovery.panel import RecoveryPanel
    from .conftest import OXFORD
    d = open_as("despatch.south")
    ctx = ctx_for(d)
    panel = RecoveryPanel(ctx)
    qtbot.addWidget(panel)
    inc = new(d, incident_type="RTC", at=OXFORD, summary="Car on its roof")
    ctx.selection.incidentSelected.emit(inc.id)
    qtbot.waitUntil(lambda: inc.urn in panel.for_incident.text(), timeout=5000)
    panel.vrm.setText("DM70 FAS")
    panel.reason.setText("RTC damage, undriveable")
    panel.request()
    qtbot.waitUntil(lambda: any(j.urn == inc.urn for j in panel.jobs), timeout=5000)
    row = next(i for i, j in enumerate(panel.jobs) if j.urn == inc.urn)
    first = panel.jobs[row].operator_code
    panel.table.selectRow(row)
    panel.skip(reason="<i>No answer</i>")
    qtbot.waitUntil(lambda: any(j.urn == inc.urn and j.operator_code != first for j in panel.jobs), timeout=5000)
    qtbot.waitUntil(lambda: panel.offers.count() == 2, timeout=5000)
    assert "<i>No answer</i>" in panel.offers.item(0).text()
    assert panel.report.rowCount() >= 15
