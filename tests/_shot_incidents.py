"""Not a test: makes docs/screenshots/4-incident-list.png (run explicitly with pytest)."""
from __future__ import annotations

import psycopg

from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.incidents.form import IncidentForm
from ui.incidents.list_panel import IncidentListPanel


def test_shot(qtbot, open_as, db_url):
    h = open_as("handler.north")
    made = []
    for kind, grade, place, summary, flags in [
        ("FIREARMS", "G1", "Bletchley", "Male seen with handgun outside station", {"firearms": True}),
        ("DOMESTIC", "G1", "Aylesbury", "Screaming heard, female says partner has knife", {"domestic_abuse": True}),
        ("RTC", "G2", "M40 J4 High Wycombe", "Two vehicles, lane 2 blocked, no injuries", {}),
        ("BURGLARY", "G2", "Reading", "Insecure rear door, property disturbed", {"repeat_victim": True}),
        ("MISSING", "G1", "Witney", "Girl aged 9 not home from school", {"missing_person": True, "vulnerable_person": True}),
        ("ASB", "G3", "Banbury", "Youths throwing stones at buses", {}),
        ("THEFT", "G3", "Oxford station", "Bike stolen from rack, CCTV available", {}),
        ("ADMIN", "G4", "Slough", "Lost property enquiry", {}),
        ("CONCERN", "G2", "John Radcliffe Hospital", "Patient left ward, at risk", {"vulnerable_person": True}),
        ("ALARM", None, "Marlow", "Intruder alarm, keyholder en route", {}),
    ]:
        p = h.incidents.suggest_places(place, limit=1)[0]
        made.append(h.incidents.create(channel="999", incident_type=kind, summary=summary, lat=p.lat, lon=p.lon,
                                       grade=grade, address=p.name, **flags))
    with psycopg.connect(db_url, autocommit=True) as c:
        # one breached (G1 firearms 17 min old), one amber (G1 domestic 12 min old), one met
        c.execute("UPDATE incidents SET created_at = now() - interval '17 minutes', "
                  "deadline_at = now() - interval '2 minutes' WHERE id = %s", (made[0].id,))
        c.execute("UPDATE incidents SET created_at = now() - interval '12 minutes', "
                  "deadline_at = now() + interval '3 minutes' WHERE id = %s", (made[1].id,))
        c.execute("UPDATE incidents SET status = 'at_scene', despatched_at = now(), arrived_at = now() "
                  "WHERE id = %s", (made[4].id,))
        c.execute("UPDATE units SET incident_id = %s, status = 'at_scene' WHERE callsign IN ('OX11','OX12')",
                  (made[4].id,))
        c.execute("UPDATE units SET incident_id = %s, status = 'en_route' WHERE callsign IN ('ARV11')",
                  (made[0].id,))
    d = open_as("despatch.north")
    ctx = ConsoleContext(session=d, bridge=EventBridge(d))
    panel = IncidentListPanel(ctx)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.loaded, timeout=5000)
    panel.resize(1180, 330)
    panel.show()
    qtbot.wait(300)
    panel.grab().save("/tmp/4-incident-list.png")
    form = IncidentForm(ctx)
    qtbot.addWidget(form)
    form.resize(620, 760)
    form.show()
    form.open_incident(made[1].id)
    qtbot.waitUntil(lambda: form.incident is not None, timeout=5000)
    form.location.setText("Aylesbury")
    form._suggest()
    qtbot.waitUntil(lambda: form.suggestions.count() > 0, timeout=3000)
    qtbot.wait(300)
    form.grab().save("/tmp/4-incident-form.png")
