"""Issue 18 item 4, replayed: a location retyped without picking is never saved on the old pin.

The handler picked "Aylesbury", retyped the field as "Olney" and saved; it was stored at Aylesbury,
~40 km away, and the field reverted without a word. Now the coordinates drop the moment the text
changes, the save is refused inline until a place is picked, the service refuses an address that
names a place far from the coordinates, and the map pin follows what is saved.
"""
from __future__ import annotations

from tests import qt_env  # noqa: F401  (headless Qt/Chromium settings, before PySide6 is imported)
import json
import time

import pytest
from PySide6.QtCore import Qt

from controlroom.errors import InvalidInput
from tests.helpers import activate, sql
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.incidents.form import IncidentForm

AYLESBURY = (51.81665, -0.81458)
OLNEY = (52.15345, -0.70201)


def make_form(qtbot, session, ctx=None) -> IncidentForm:
    form = IncidentForm(ctx or ConsoleContext(session=session, bridge=EventBridge(session)))
    qtbot.addWidget(form)
    form.resize(520, 760)
    activate(qtbot, form)
    return form


def keyboard_place(qtbot, form, text: str) -> None:
    """Type a place as an operator does, then Down and Enter on the first suggestion."""
    form.location.setFocus()
    form.location.selectAll()
    qtbot.keyClicks(form.location, text)
    qtbot.waitUntil(lambda: form.suggestions.count() > 0 and form.suggestions.isVisible(), timeout=3000)
    assert form.lat is None, "typing must drop the old coordinates"
    qtbot.keyClick(form.location, Qt.Key_Down)
    qtbot.keyClick(form.location, Qt.Key_Return)
    assert form.lat is not None


def count_incidents(url) -> int:
    return sql(url, "SELECT count(*) FROM incidents")[0][0]


# ---- the service refuses what does not add up -------------------------------------------
def test_create_refuses_an_address_naming_a_place_far_from_the_coordinates(open_as, db_url):
    s = open_as("handler.north")
    before = count_incidents(db_url)
    with pytest.raises(InvalidInput, match="Olney.*km away") as err:
        s.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight", lat=AYLESBURY[0],
                           lon=AYLESBURY[1], address="Olney")
    assert err.value.field == "location"
    assert count_incidents(db_url) == before
    ok = s.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight", lat=OLNEY[0] + 0.004,
                            lon=OLNEY[1], address="Olney")
    assert ok.address == "Olney"
    # a description that names no known place is taken as typed
    assert s.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight", lat=AYLESBURY[0],
                              lon=AYLESBURY[1], address="Rear of 12 Kingsbury").address == "Rear of 12 Kingsbury"


def test_update_never_keeps_the_old_pin_under_a_new_place_name(open_as):
    s = open_as("handler.north")
    inc = s.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight", lat=AYLESBURY[0],
                             lon=AYLESBURY[1], address="Aylesbury")
    with pytest.raises(InvalidInput, match="Olney") as err:
        s.incidents.update(inc.id, expected_version=inc.version, address="Olney")
    assert err.value.field == "location"
    with pytest.raises(InvalidInput, match="Aylesbury"):  # the pin moves, the address still says Aylesbury
        s.incidents.update(inc.id, expected_version=inc.version, lat=OLNEY[0], lon=OLNEY[1])
    assert s.incidents.get(inc.id) == inc
    moved = s.incidents.update(inc.id, expected_version=inc.version, address="Olney", lat=OLNEY[0], lon=OLNEY[1])
    assert (moved.lat, moved.lon, moved.address, moved.area_code) == (*OLNEY, "Olney", "mk")


# ---- the form: retyped text drops the pin; refused inline; Down+Enter picks -------------
def test_retyped_location_is_refused_inline_then_picked_and_saved_where_the_operator_said(qtbot, open_as, db_url):
    s = open_as("handler.north")
    form = make_form(qtbot, s)
    keyboard_place(qtbot, form, "Aylesbury")
    assert form.address.text() == "Aylesbury"
    form.type.setCurrentIndex(form.type.findData("ASSAULT"))
    form.summary.setPlainText("Fight outside the pub")
    qtbot.keyClick(form.summary, Qt.Key_S, Qt.ControlModifier)
    qtbot.waitUntil(lambda: form.incident is not None, timeout=5000)
    first = form.incident
    assert (first.lat, first.lon) == pytest.approx(AYLESBURY)

    form.location.setFocus()
    form.location.selectAll()
    qtbot.keyClicks(form.location, "Olney")  # retyped, no suggestion picked
    assert form.lat is None and "not resolved" in form.area_label.text()
    qtbot.keyClick(form.location, Qt.Key_S, Qt.ControlModifier)
    assert form.location.property("invalid") is True
    assert "not a resolved location" in form.errors.labels["location"].text()
    assert "not a resolved location" in form.message.text() and form.message.isVisible()
    assert form.location.hasFocus() and form.location.text() == "Olney"  # kept, never reverted
    qtbot.wait(200)
    assert s.incidents.get(first.id) == first  # nothing written

    qtbot.waitUntil(lambda: form.suggestions.count() > 0, timeout=3000)
    qtbot.keyClick(form.location, Qt.Key_Down)
    qtbot.keyClick(form.location, Qt.Key_Return)
    assert form.address.text() == "Olney"  # the address filled by the last pick follows the new pick
    qtbot.keyClick(form.location, Qt.Key_S, Qt.ControlModifier)
    qtbot.waitUntil(lambda: form.incident.version > first.version, timeout=5000)
    stored = s.incidents.get(first.id)
    assert (stored.lat, stored.lon) == pytest.approx(OLNEY) and (stored.address, stored.area_code) == ("Olney", "mk")
    assert form.location.text() == "Olney" and "Saved" in form.message.text()


def test_map_pin_follows_the_saved_location(qtbot, qapp, open_as, tmp_path, monkeypatch):
    monkeypatch.setenv("CONTROLROOM_MAP_CACHE", str(tmp_path))
    from ui.map.panel import make_panel
    s = open_as("handler.north")
    ctx = ConsoleContext(session=s, bridge=EventBridge(s))
    panel = make_panel(ctx)
    qtbot.addWidget(panel)
    panel.resize(800, 600)
    panel.show()
    qtbot.waitUntil(lambda: panel.is_loaded and panel.feed.loaded, timeout=30000)
    form = make_form(qtbot, s, ctx)
    keyboard_place(qtbot, form, "Aylesbury")
    form.type.setCurrentIndex(form.type.findData("CONCERN"))
    form.summary.setPlainText("Concern for welfare")
    form.save()
    qtbot.waitUntil(lambda: form.incident is not None, timeout=5000)
    iid = form.incident.id
    keyboard_place(qtbot, form, "Olney")
    form.save()
    qtbot.waitUntil(lambda: form.incident.address == "Olney", timeout=5000)

    def pin():
        out: list = []
        panel.evaluate(f"JSON.stringify(crmap.getIncident({iid}))", out.append)
        qtbot.waitUntil(lambda: bool(out), timeout=5000)
        return json.loads(out[0]) if out[0] else None
    deadline = time.monotonic() + 10
    while (p := pin()) is None or abs(p["lat"] - OLNEY[0]) > 1e-6:
        assert time.monotonic() < deadline, f"map pin stayed at {p}"
        qtbot.wait(100)
    assert (p["lat"], p["lon"]) == pytest.approx(OLNEY)
    panel.shutdown()
    ctx.bridge.close()
