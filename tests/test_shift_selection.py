"""Issue 18 item 5, replayed: no action the operator did not choose.

The shift: the handler creates a firearms call from the keyboard, the inspector authorises armed
deployment, the despatcher despatches from the despatch tab with Enter and later closes the
incident. Traps seen: after closing, the form jumped to another room's G1 with an ARV highlighted
(one Enter would send it); after Enter-assigning a unit the next one was pre-selected, so a double
Enter sent two units.
"""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter

from controlroom.errors import Conflict
from tests.helpers import activate, sql
from ui.kit import ops
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.incidents.form import IncidentForm
from ui.incidents.list_panel import IncidentListPanel

from .conftest import MK


def console(qtbot, session):
    """A despatcher's left column: the incident list above the incident form, one context."""
    ctx = ConsoleContext(session=session, bridge=EventBridge(session))
    box = QSplitter(Qt.Vertical)
    incidents, form = IncidentListPanel(ctx), IncidentForm(ctx)
    box.addWidget(incidents)
    box.addWidget(form)
    qtbot.addWidget(box)
    box.resize(640, 900)
    activate(qtbot, box)
    qtbot.waitUntil(lambda: incidents.loaded, timeout=5000)
    chosen: list[int] = []
    ctx.selection.incidentSelected.connect(chosen.append)
    ctx.extras["window"] = box  # keep the column alive for the test
    return ctx, incidents, form, form.despatch, chosen


def park_units(url, near=MK):
    """Every unit off duty except two ARVs and an IRV next to the incident (a known board)."""
    sql(url, "UPDATE units SET status = 'off_duty', incident_id = NULL")
    for i, cs in enumerate(("ARV11", "ARV12", "MK15")):
        sql(url, "UPDATE units SET status = 'available', lat = %s, lon = %s, position_at = now() "
                 "WHERE callsign = %s", (near[0] + 0.002 * (i + 1), near[1], cs))


def click_row(qtbot, view, row: int) -> None:
    rect = view.visualRect(view.model().index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=rect.center())


def row_of(panel, incident_id: int) -> int:
    return panel.proxy.mapFromSource(panel.model.index(panel.model.row_of(incident_id), 0)).row()


@pytest.fixture
def shift(fresh_db_url, open_as):
    park_units(fresh_db_url)
    yield {name: open_as(f"{name}.north", url=fresh_db_url) for name in ("handler", "despatch", "inspector")}
    ops.wait_all()


def test_enter_assigns_only_the_unit_the_operator_picked_and_then_nothing_is_picked(qtbot, shift):
    handler, despatch, inspector = shift["handler"], shift["despatch"], shift["inspector"]
    inc = handler.incidents.create(channel="999", incident_type="FIREARMS", summary="Male seen with handgun",
                                   lat=MK[0], lon=MK[1], grade="G1", address="Milton Keynes", firearms=True)
    try:
        handler.command.declare_firearms(inc.id)
    except Conflict:
        pass  # declared automatically at create (issue 18 item 2)
    inspector.command.accept_firearms_command(inc.id)
    inspector.command.authorise_armed_deployment(inc.id, threat_assessment="Handgun seen, no shots",
                                                 working_strategy="Locate, contain", rationale="Risk to public")
    ctx, incidents, form, tab, chosen = console(qtbot, despatch)
    qtbot.waitUntil(lambda: incidents.model.row_of(inc.id) is not None, timeout=5000)
    click_row(qtbot, incidents.view, row_of(incidents, inc.id))
    assert chosen == [inc.id]
    form.tabs.setCurrentIndex(4)
    qtbot.waitUntil(lambda: tab.model.rowCount() >= 2, timeout=5000)
    qtbot.wait(300)
    assert tab.selected_callsign() is None, "a unit was pre-selected for the operator"
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key_Return)  # Enter with nothing picked: nothing is sent
    assert "Choose a unit first" in tab.message.text()
    qtbot.wait(200)
    assert despatch.despatch.assignments(inc.id) == []

    qtbot.keyClick(tab.table, Qt.Key_Down)  # the operator picks the first recommendation
    picked = tab.selected_callsign()
    assert picked is not None
    qtbot.keyClick(tab.table, Qt.Key_Return)
    qtbot.waitUntil(lambda: "assigned" in tab.message.text(), timeout=5000)
    qtbot.waitUntil(lambda: picked not in [r.callsign for r in tab.model.rows], timeout=5000)
    qtbot.wait(900)  # the debounced re-rank after the assignment has landed
    assert tab.selected_callsign() is None, "the next unit was pre-selected after Enter"
    qtbot.keyClick(tab.table, Qt.Key_Return)  # the double Enter
    qtbot.wait(500)
    assert [a.callsign for a in despatch.despatch.assignments(inc.id)] == [picked]


def test_closing_an_incident_keeps_it_on_screen_closed_and_opens_nothing_else(qtbot, shift):
    handler, despatch = shift["handler"], shift["despatch"]
    other = handler.incidents.create(channel="999", incident_type="FIREARMS", summary="Shots heard",
                                     lat=MK[0] + 0.01, lon=MK[1], grade="G1", firearms=True)
    mine = handler.incidents.create(channel="101", incident_type="ASB", summary="Youths shouting",
                                    lat=MK[0] - 0.01, lon=MK[1], grade="G3")
    ctx, incidents, form, tab, chosen = console(qtbot, despatch)
    qtbot.waitUntil(lambda: incidents.model.row_of(mine.id) is not None
                    and incidents.model.row_of(other.id) is not None, timeout=5000)
    click_row(qtbot, incidents.view, row_of(incidents, mine.id))
    qtbot.waitUntil(lambda: form.incident is not None and form.incident.id == mine.id, timeout=5000)
    assert form.close_btn.isVisible() and form.close_btn.isEnabled()
    qtbot.mouseClick(form.close_btn, Qt.LeftButton)
    dlg = form.close_dialog
    assert not dlg.ok.isEnabled()  # no closing code is chosen for the operator
    dlg.code.setCurrentIndex(dlg.code.findData("NFA"))
    dlg.result_edit.setText("Words of advice")
    dlg.ok.click()
    qtbot.waitUntil(lambda: form.incident.status == "closed", timeout=5000)
    qtbot.waitUntil(lambda: incidents.model.row_of(mine.id) is None, timeout=5000)  # gone from the open list
    qtbot.wait(300)
    assert chosen == [mine.id], f"the console opened {chosen[1:]} by itself"
    assert form.incident.id == mine.id and mine.urn in form.header.text() and "CLOSED" in form.header.text()
    assert not form.save_btn.isEnabled() and form.summary.isReadOnly()
    assert tab.incident_id == mine.id and tab.selected_callsign() is None
    assert not incidents.view.currentIndex().isValid()  # Enter in the list opens nothing either
    incidents.view.setFocus()
    qtbot.keyClick(incidents.view, Qt.Key_Return)
    qtbot.wait(200)
    assert chosen == [mine.id] and form.incident.id == mine.id


def test_an_incident_closed_elsewhere_stays_in_the_form_closed(qtbot, shift):
    handler, despatch = shift["handler"], shift["despatch"]
    first = handler.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight", lat=MK[0],
                                     lon=MK[1] + 0.01, grade="G3")
    second = handler.incidents.create(channel="999", incident_type="ASSAULT", summary="Second fight",
                                      lat=MK[0], lon=MK[1] - 0.01, grade="G1")
    ctx, incidents, form, tab, chosen = console(qtbot, despatch)
    qtbot.waitUntil(lambda: incidents.model.row_of(second.id) is not None, timeout=5000)
    click_row(qtbot, incidents.view, row_of(incidents, first.id))
    qtbot.waitUntil(lambda: form.incident is not None and form.incident.id == first.id, timeout=5000)
    handler.incidents.close(first.id, closing_code="NFA", result="Caller satisfied")  # the C verb elsewhere
    qtbot.waitUntil(lambda: incidents.model.row_of(first.id) is None, timeout=5000)
    qtbot.waitUntil(lambda: form.incident.status == "closed", timeout=5000)
    assert chosen == [first.id] and form.incident.id == first.id and "CLOSED" in form.header.text()
