"""Units board and despatch tab: live rows from other consoles, filters, timeline, Enter assigns."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ui.kit import ops
from ui.kit.context import ConsoleContext
from ui.despatch.tab import make_despatch_tab
from ui.kit.event_bridge import EventBridge
from ui.despatch.units_panel import AREA, CALLSIGN, GROUP, INCIDENT, STATUS, UnitsPanel

from .conftest import MK


def cell(panel, callsign, col, role=Qt.DisplayRole):
    m = panel.model
    return m.data(m.index(m._row_of[callsign], col), role)


@pytest.fixture
def console(qtbot, open_as):
    s = open_as("despatch.north")
    ctx = ConsoleContext(session=s, bridge=EventBridge(s))
    yield ctx
    ops.wait_all()


@pytest.fixture
def panel(qtbot, console):
    p = UnitsPanel(console)
    qtbot.addWidget(p)
    qtbot.waitUntil(lambda: p.model.rowCount() > 50, timeout=5000)
    return p


def test_board_updates_one_row_when_another_console_changes_a_unit(qtbot, open_as, panel):
    other = open_as("despatch.south")
    other.units.set_status("MK11", "off_duty") if other.units.get("MK11").status != "off_duty" else None
    qtbot.waitUntil(lambda: cell(panel, "MK11", STATUS) == "Off duty", timeout=5000)
    resets = []
    panel.model.modelReset.connect(lambda: resets.append(1))
    other.units.set_status("MK11", "available")
    qtbot.waitUntil(lambda: cell(panel, "MK11", STATUS) == "Available", timeout=5000)
    assert cell(panel, "MK11", STATUS, Qt.BackgroundRole).color().name() == "#2e7d32"
    inc = other.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight", lat=MK[0],
                                 lon=MK[1], grade="G1")
    other.despatch.assign(inc.id, "MK11")
    qtbot.waitUntil(lambda: cell(panel, "MK11", INCIDENT) == inc.urn, timeout=5000)
    assert cell(panel, "MK11", STATUS) == "En route"
    other.units.update_position("MK11", 51.752, -1.2577)
    qtbot.waitUntil(lambda: cell(panel, "MK11", AREA) == "oxon", timeout=5000)
    assert not resets


def test_capability_filter_and_grouping_by_room(panel):
    panel.capability.setCurrentIndex(panel.capability.findData("ARV"))
    shown = [panel.proxy.index(r, CALLSIGN).data() for r in range(panel.proxy.rowCount())]
    assert shown and all(s.startswith("ARV") for s in shown)
    rooms = [panel.model.room_of(panel.model.unit(cs)) for cs in shown]
    assert rooms == sorted(rooms)  # grouped: north first, then south


def test_double_click_opens_the_unit_timeline(qtbot, panel):
    dlg = panel.open_timeline("MK12")
    qtbot.waitUntil(lambda: dlg.table.rowCount() > 0 or "entries" in dlg.status.text(), timeout=5000)
    assert "entries" in dlg.status.text()
    dlg.close()


def test_despatch_tab_shows_recommendations_and_enter_assigns(qtbot, console, open_as):
    s = console.session
    for cs in ("ARV11", "ARV12"):
        if s.units.get(cs).status != "available":
            s.units.set_status(cs, "available")
    inc = s.incidents.create(channel="999", incident_type="ASSAULT", summary="Armed man", lat=MK[0],
                             lon=MK[1], grade="G1", firearms=True)
    # the duty inspector's authorisation, as the inspector records it (the only way since issue 19)
    open_as("inspector.north").command.authorise_armed_deployment(
        inc.id, threat_assessment="Handgun seen", working_strategy="Contain", rationale="Threat to life")
    tab = make_despatch_tab(console)
    qtbot.addWidget(tab)
    tab.set_incident(inc.id)
    qtbot.waitUntil(lambda: tab.model.rowCount() > 0, timeout=5000)
    assert all("ARV" in r.capabilities for r in tab.model.rows)
    first = tab.model.rows[0].callsign
    tab.table.setFocus()
    tab.table.selectRow(0)
    with qtbot.waitSignal(tab.assigned, timeout=5000) as sig:
        qtbot.keyClick(tab.table, Qt.Key_Return)
    assert sig.args[0].unit.callsign == first and s.units.get(first).status == "en_route"
    qtbot.waitUntil(lambda: first not in [r.callsign for r in tab.model.rows], timeout=5000)


def test_board_names_each_room_and_area_group_once(qtbot, panel):
    p = panel.proxy
    labels = [p.index(r, GROUP).data() for r in range(p.rowCount())]
    full = [panel.model.group_label(panel.model.rows[p.mapToSource(p.index(r, 0)).row()])
            for r in range(p.rowCount())]
    shown = [x for x in labels if x]
    assert shown == list(dict.fromkeys(full)) and len(shown) > 3  # each group named once, in order
    assert shown[0].startswith("North · ") and any(x.startswith("South · ") for x in shown)
    assert all(labels[r] == "" for r in range(1, len(labels)) if full[r] == full[r - 1])
    panel.view.sortByColumn(STATUS, Qt.AscendingOrder)  # not grouped: every row says where it is
    assert all(p.index(r, GROUP).data() for r in range(p.rowCount()))
