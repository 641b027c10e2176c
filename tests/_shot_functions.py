"""Not a test: makes the issue-23 screenshots in docs/screenshots/ (run explicitly with pytest)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter

from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.incidents.form import IncidentForm
from ui.reference.panel import ReferencePanel

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def _ctx(s):
    return ConsoleContext(session=s, bridge=EventBridge(s))


def test_shot_reference_beside_incident(qtbot, open_as):
    h = open_as("handler.north")
    p = h.incidents.suggest_places("Bletchley", limit=1)[0]
    inc = h.incidents.create(channel="999", incident_type="FIREARMS", grade="G1", firearms=True,
                             summary="Male seen with a handgun outside the station, walking towards the market",
                             lat=p.lat, lon=p.lon, address=p.name, caller_name="J Smith",
                             caller_phone="07700900123")
    ctx = _ctx(open_as("despatch.north"))
    split = QSplitter(Qt.Horizontal)
    form = IncidentForm(ctx)
    panel = ReferencePanel(ctx)
    split.addWidget(form)
    split.addWidget(panel)
    qtbot.addWidget(split)
    split.resize(1400, 780)
    split.setSizes([620, 780])
    split.show()
    ctx.selection.incidentSelected.emit(inc.id)
    qtbot.waitUntil(lambda: form.incident is not None and panel.doc_view.doc is not None
                    and "firearms" in panel.doc_view.doc.title.lower(), timeout=8000)
    qtbot.wait(400)
    split.grab().save(str(OUT / "23-reference-beside-incident.png"))


def test_shot_intel_check(qtbot, open_as):
    from ui.intel.panel import IntelPanel
    d = open_as("despatch.north")
    d.intel.check(callsign="MK14", subject_kind="address", subject="1 Demo Street, Aylesbury",
                  purpose="safeguarding", reason="Attending a domestic, children believed present")
    old = d.intel.check(callsign="BK11", subject_kind="vehicle", subject="DM24 ABC", purpose="vehicle_stop",
                        reason="No rear lights, A41")
    d.intel.relay(old.id, note="no trace, all in order")
    sup = open_as("super.north")
    sup.intel.check(callsign="MK12", subject_kind="person", subject="Demo Person Three 2009-02-01",
                    purpose="missing_person", reason="Girl matching description at the bus station")
    panel = IntelPanel(_ctx(open_as("inspector.north")))
    qtbot.addWidget(panel)
    panel.resize(760, 900)
    panel.show()
    panel.callsign.setText("MK11")
    panel.kind.setCurrentIndex(panel.kind.findData("vehicle"))
    panel.subject.setText("DM19 XYZ")
    panel.purpose.setCurrentIndex(panel.purpose.findData("vehicle_stop"))
    panel.reason.setText("Stopped on Midsummer Boulevard, driver nervous and says he borrowed it")
    panel.run_check()
    qtbot.waitUntil(lambda: panel.relay_btn.isEnabled(), timeout=5000)
    qtbot.waitUntil(lambda: panel.tally.rowCount() >= 3 and panel.recent.count() >= 4, timeout=5000)
    qtbot.wait(300)
    panel.grab().save(str(OUT / "23-intel-check.png"))


def test_shot_workforce_dashboard(qtbot, open_as, fresh_db_url):
    from datetime import datetime, timezone

    from controlroom.db.engine import make_engine
    from controlroom.demo.demand import generate
    from ui.dashboards.workforce import WorkforceDashboard
    engine = make_engine(fresh_db_url)
    try:
        generate(engine, days=130, end=datetime(2026, 11, 30, tzinfo=timezone.utc))
    finally:
        engine.dispose()
    dash = WorkforceDashboard(_ctx(open_as("super.north", url=fresh_db_url)))
    qtbot.addWidget(dash)
    dash.resize(1500, 900)
    dash.show()
    qtbot.waitUntil(lambda: dash.plan is not None, timeout=120_000)
    qtbot.wait(500)
    dash.grab().save(str(OUT / "23-workforce-dashboard.png"))
