"""Issue 18 item 9: the smaller things a shift trips over, each as the operator sees it."""
from __future__ import annotations

from ui.context import ConsoleContext
from ui.event_bridge import EventBridge
from ui.incident_form import IncidentForm


def make_form(qtbot, session) -> IncidentForm:
    form = IncidentForm(ConsoleContext(session=session, bridge=EventBridge(session)))
    qtbot.addWidget(form)
    return form


def test_grade_box_follows_a_regrade_made_by_the_command_line_or_another_console(qtbot, open_as):
    handler = open_as("handler.north")
    inc = handler.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight outside the station",
                                   lat=52.0406, lon=-0.7594)
    form = make_form(qtbot, handler)
    form.open_incident(inc.id)
    qtbot.waitUntil(lambda: form.incident is not None and form.incident.id == inc.id, timeout=5000)
    assert form.grade.currentData() is None  # ungraded
    open_as("despatch.north").incidents.grade(inc.id, "G2")  # what `G2 <urn>` does
    qtbot.waitUntil(lambda: "G2" in form.header.text(), timeout=5000)
    assert form.grade.currentData() == "G2", form.grade.currentText()


def test_ungraded_incident_counts_down_to_being_graded():
    from datetime import datetime, timedelta, timezone

    from controlroom import config
    from controlroom.services.views import IncidentView
    from ui import palette
    from ui.incident_model import COL, IncidentTableModel

    t0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    now = [t0]
    model = IncidentTableModel(lambda: now[0])
    model.load([IncidentView(id=1, urn="TV-20261123-00001", channel="101", incident_type="THEFT", summary="Bike",
                             lat=52.04, lon=-0.76, area_code="mk", room_code="north", grade=None, status="open",
                             version=1, created_at=t0, deadline_at=None)], {})
    limit = float(config.grade_policy()["grade_within_minutes"])
    cell = model.index(0, COL["Countdown"])
    now[0] = t0 + timedelta(minutes=limit) - timedelta(minutes=2)
    assert model.data(cell) == "grade 02:00"
    assert model.countdown_colour(0) == palette.COUNTDOWN_WARN.lower() if limit * 0.75 <= limit - 2 else True
    now[0] = t0 + timedelta(minutes=limit, seconds=30)
    assert model.data(cell) == "grade late +00:30"
    assert model.countdown_colour(0) == palette.COUNTDOWN_BREACH.lower()
    assert model.breached_ids(now[0]) == []  # nothing for the service to record: no grade target yet
