"""Despatch and firearms verbs on the command line, and the despatch tab's Arrived / Clear buttons."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ui.kit import ops
from ui.cli.line import CommandLine
from ui.kit.context import ConsoleContext
from ui.despatch.tab import DespatchTab
from ui.kit.event_bridge import EventBridge

from .conftest import MK


def console_for(qtbot, session) -> CommandLine:
    line = CommandLine(ConsoleContext(session=session, bridge=EventBridge(session)))
    qtbot.addWidget(line)
    return line


def run(qtbot, line: CommandLine, text: str) -> tuple[str, bool]:
    """Type a command, wait for its message; (message, shown as an error?)."""
    with qtbot.waitSignal(line.executed, timeout=10000) as sig:
        line.run(text)
    return sig.args[1], bool(line.message.property("error"))


def free_unit(s, callsign: str) -> str:
    u = s.units.get(callsign)
    if u.incident_id is not None:
        s.despatch.clear(u.incident_id, callsign, result="Freed for the test")
    elif u.status != "available":
        s.units.set_status(callsign, "available")
    return callsign


def new_incident(s, summary: str = "Fight outside pub", **kw):
    return s.incidents.create(channel="999", incident_type="ASSAULT", summary=summary, lat=MK[0], lon=MK[1],
                              grade="G1", **kw)


@pytest.fixture
def north(open_as):
    s = open_as("despatch.north")
    yield s
    ops.wait_all()


@pytest.fixture
def line(qtbot, north):
    return console_for(qtbot, north)


def test_d_arr_clr_verbs_assign_arrive_and_clear_a_unit_in_the_database(qtbot, north, line):
    inc = new_incident(north)
    cs = free_unit(north, "MK12")
    msg, err = run(qtbot, line, f"D {inc.urn} mk12")
    assert not err and msg == f"MK12 assigned to {inc.urn}: en route."
    unit = north.units.get(cs)
    assert unit.incident_id == inc.id and unit.status == "en_route"
    assert [a.callsign for a in north.despatch.assignments(inc.id, open_only=True)] == ["MK12"]
    short = str(int(inc.urn.rsplit("-", 1)[1]))  # today's number stands for today's URN
    msg, err = run(qtbot, line, f"ARR {short} MK12")
    assert not err and msg == f"MK12 at scene at {inc.urn}."
    assert north.units.get(cs).status == "at_scene"
    msg, err = run(qtbot, line, f"CLR {inc.urn} MK12 Words of advice, no offences")
    assert not err and "cleared" in msg
    unit = north.units.get(cs)
    assert unit.incident_id is None and unit.status == "available"
    (a,) = north.despatch.assignments(inc.id)
    assert a.result == "Words of advice, no offences" and a.arrived_at and a.cleared_at


def test_unknown_callsign_or_missing_parts_give_a_clear_message_and_change_nothing(qtbot, north, line):
    inc = new_incident(north)
    msg, err = run(qtbot, line, f"D {inc.urn} ZZ99")
    assert err and msg == "There is no unit with callsign ZZ99."
    msg, err = run(qtbot, line, f"D {inc.urn}")
    assert err and msg.startswith("Usage: D <urn> <callsign>")
    msg, err = run(qtbot, line, f"CLR {inc.urn} MK13")
    assert err and "Say what MK13 did" in msg
    msg, err = run(qtbot, line, "D TV-19990101-00001 MK13")
    assert err and "TV-19990101-00001" in msg
    assert north.despatch.assignments(inc.id) == []
    assert line.edit.text() == ""  # run() does not type; an error keeps whatever was typed


def test_dv_diverts_and_st_changes_status_with_shorthand(qtbot, north, line):
    first, second = new_incident(north, "Shoplifter detained"), new_incident(north, "Stabbing reported")
    cs = free_unit(north, "MK14")
    run(qtbot, line, f"D {first.urn} {cs}")
    msg, err = run(qtbot, line, f"D {second.urn} {cs}")
    assert err and "Divert" in msg
    msg, err = run(qtbot, line, f"DV {second.urn} {cs}")
    assert not err and f"(diverted from {first.urn})" in msg
    assert north.units.get(cs).incident_id == second.id
    run(qtbot, line, f"CLR {second.urn} {cs} No trace")
    msg, err = run(qtbot, line, f"ST {cs} refs meal break")
    assert not err and msg == f"{cs} is on refreshments."
    assert north.units.get(cs).status == "refreshments"
    msg, err = run(qtbot, line, f"ST {cs} sleeping")
    assert err and "Unknown status 'sleeping'" in msg
    msg, err = run(qtbot, line, f"ST {cs} available")
    assert not err and north.units.get(cs).status == "available"


def test_rec_lists_recommended_units_on_one_line(qtbot, north, line):
    inc = new_incident(north)
    free_unit(north, "MK11")
    msg, err = run(qtbot, line, f"REC {inc.urn}")
    assert not err and msg.startswith(f"{inc.urn}: ") and "\n" not in msg and " min (" in msg
    best = north.despatch.recommend(inc.id)[0].callsign
    assert msg.split(": ", 1)[1].startswith(best)


def test_fa_declares_firearms_and_ack_makes_the_inspector_itfc(qtbot, north, line, open_as):
    inc = new_incident(north, "Man seen with a handgun")
    msg, err = run(qtbot, line, f"FA {inc.urn}")
    assert not err and "FIREARMS" in msg
    assert north.incidents.get(inc.id).firearms
    msg, err = run(qtbot, line, f"ACK {inc.urn}")
    assert err  # a despatcher cannot take firearms command
    inspector = console_for(qtbot, open_as("inspector.north"))
    msg, err = run(qtbot, inspector, f"ACK {inc.urn}")
    assert not err and msg == f"inspector.north is Initial Tactical Firearms Commander on {inc.urn}."
    roles = [r.role for r in north.command.handovers(inc.id)]
    assert "ITFC" in roles


def test_despatch_tab_lists_units_and_books_arrived_then_clear_with_a_result(qtbot, north):
    ctx = ConsoleContext(session=north, bridge=EventBridge(north))
    tab = DespatchTab(ctx)
    qtbot.addWidget(tab)
    inc = new_incident(north, "Burglary in progress")
    tab.set_incident(inc.id)
    qtbot.waitUntil(lambda: tab.urn == inc.urn, timeout=5000)
    assert tab.assigned_model.rowCount() == 0 and not tab.clear_button.isEnabled()
    cs = free_unit(north, "MK15")
    north.despatch.assign(inc.id, cs)  # as another console would: the row arrives by event
    qtbot.waitUntil(lambda: tab.assigned_model.row_of(cs) is not None, timeout=5000)
    tab.assigned_table.selectRow(tab.assigned_model.row_of(cs))
    assert tab.arrived_button.isEnabled()
    qtbot.mouseClick(tab.arrived_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.message.text() == f"{cs} at scene.", timeout=5000)
    assert tab.assigned_model.rows[0].get("status") == "at_scene" and north.units.get(cs).status == "at_scene"
    assert not tab.arrived_button.isEnabled()  # already there
    qtbot.mouseClick(tab.arrived_button, Qt.LeftButton)  # disabled: nothing happens
    dlg = tab.clear_selected()
    assert dlg is not None and not dlg.ok.isEnabled()  # a result is required
    dlg.result_edit.setText("Suspect arrested")
    dlg.ok.click()
    qtbot.waitUntil(lambda: tab.assigned_model.rowCount() == 0, timeout=5000)
    qtbot.waitUntil(lambda: "cleared" in tab.message.text(), timeout=5000)
    u = north.units.get(cs)
    assert u.status == "available" and u.incident_id is None
    assert north.despatch.assignments(inc.id)[0].result == "Suspect arrested"


def test_despatch_tab_shows_service_errors_inline(qtbot, north):
    ctx = ConsoleContext(session=north, bridge=EventBridge(north))
    tab = DespatchTab(ctx)
    qtbot.addWidget(tab)
    inc = new_incident(north, "Criminal damage")
    cs = free_unit(north, "MK16")
    north.despatch.assign(inc.id, cs)
    tab.set_incident(inc.id)
    qtbot.waitUntil(lambda: tab.assigned_model.rowCount() == 1, timeout=5000)
    north.despatch.clear(inc.id, cs, result="Cleared elsewhere")  # before our click lands
    tab.clear_unit(inc.id, cs, "Too late")
    qtbot.waitUntil(lambda: "not assigned" in tab.message.text(), timeout=5000)
    assert tab.assigned_model.rowCount() == 0  # the other console's clear arrived by event
