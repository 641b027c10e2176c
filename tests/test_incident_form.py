"""Incident form: place suggestions, live duplicates, save, inline errors, DB-down keeps content."""
from __future__ import annotations

from controlroom.errors import Unavailable
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.incidents.form import IncidentForm

from .conftest import OXFORD


def make_form(qtbot, session) -> IncidentForm:
    form = IncidentForm(ConsoleContext(session=session, bridge=EventBridge(session)))
    qtbot.addWidget(form)
    return form


def type_place(qtbot, form, text):
    form.location.setText(text)
    form._suggest()
    qtbot.waitUntil(lambda: form.suggestions.count() > 0 or form.lat is not None, timeout=3000)
    if form.lat is None:  # pasted coordinates pick themselves; a place name needs picking
        form.pick_row(0)


def test_form_suggests_place_shows_area_room_and_duplicates_then_saves(qtbot, open_as):
    s = open_as("handler.south")
    first = s.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight by the Carfax Tower",
                               lat=51.7519, lon=-1.2580)
    form = make_form(qtbot, s)
    type_place(qtbot, form, "Carfax Towr")
    assert "oxon" in form.area_label.text() and "south" in form.area_label.text()
    qtbot.waitUntil(lambda: any(first.urn in form.related.item(i).text() for i in range(form.related.count())),
                    timeout=3000)
    form.summary.setPlainText("Second caller: fight, one male down")
    form.type.setCurrentIndex(form.type.findData("ASSAULT"))
    form.grade.setCurrentIndex(form.grade.findData("G1"))
    form.save()
    qtbot.waitUntil(lambda: form.incident is not None, timeout=3000)
    assert form.incident.grade == "G1" and form.incident.address == "Carfax Tower"
    assert form.incident.urn in form.header.text()


def test_unreachable_database_keeps_the_form_content_and_says_so(qtbot, open_as, monkeypatch):
    s = open_as("handler.north")
    form = make_form(qtbot, s)
    type_place(qtbot, form, f"{OXFORD[0]}, {OXFORD[1]}")
    form.summary.setPlainText("Caller reports a man with a knife")
    form.type.setCurrentIndex(form.type.findData("ASSAULT"))
    form.caller_phone.setText("07700 900555")

    def down(**_kw):
        raise Unavailable("The database cannot be reached, so nothing was saved. What you typed is kept.")
    monkeypatch.setattr(s.incidents, "create", down)
    form.save()
    qtbot.waitUntil(lambda: "cannot be reached" in form.message.text(), timeout=3000)
    assert form.summary.toPlainText() == "Caller reports a man with a knife"
    assert form.caller_phone.text() == "07700 900555" and form.incident is None
    assert form.save_btn.isEnabled()


def test_bad_input_is_shown_inline_next_to_the_field(qtbot, open_as):
    s = open_as("handler.north")
    form = make_form(qtbot, s)
    type_place(qtbot, form, "Aylesbury")
    form.summary.setPlainText("   ")
    form.save()
    qtbot.waitUntil(lambda: "Summary is required" in form.message.text(), timeout=3000)
    assert form.summary.property("invalid") is True and form.location.property("invalid") is False
