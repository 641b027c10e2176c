"""Issue 18 item 2: no path walks round the firearms gate — command line, despatch tab and drag
and drop from the units board onto the incident list all end in the database's refusal, also for
an incident of an armed type whose firearms flag nobody ticked."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDropEvent

from ui.kit import ops
from ui.cli.line import CommandLine
from ui.kit.context import ConsoleContext
from ui.despatch.tab import DespatchTab
from ui.kit.event_bridge import EventBridge
from ui.incidents.list_panel import IncidentListPanel
from ui.kit.unit_drag import MIME, callsigns_of
from ui.despatch.units_panel import UnitsPanel

from .conftest import MK
from .helpers import sql


@pytest.fixture
def url(fresh_db_url):
    sql(fresh_db_url, "UPDATE units SET incident_id = NULL, status = 'available', lat = %s, lon = %s "
                      "WHERE callsign IN ('ARV11', 'MK11')", MK)
    return fresh_db_url


@pytest.fixture
def desk(open_as, url):
    s = open_as("despatch.north", url=url)
    yield s
    ops.wait_all()


def armed_type_unflagged(s, url):
    """`N FIREARMS G1 …` as issue 18 found it: type FIREARMS, firearms flag off, never declared."""
    inc = s.incidents.create(channel="999", incident_type="FIREARMS", summary="Male seen with handgun",
                             lat=MK[0], lon=MK[1], grade="G1")
    sql(url, "UPDATE incidents SET firearms = false, firearms_declared_at = NULL WHERE id = %s", (inc.id,))
    return inc


def ctx_for(s):
    return ConsoleContext(session=s, bridge=EventBridge(s))


def assert_refused(url, inc):
    assert sql(url, "SELECT status, incident_id FROM units WHERE callsign = 'ARV11'") == [("available", None)]
    assert sql(url, "SELECT count(*) FROM assignments WHERE incident_id = %s", (inc.id,)) == [(0,)]


def test_command_line_d_verb_is_refused_for_an_armed_type(qtbot, url, desk):
    inc = armed_type_unflagged(desk, url)
    line = CommandLine(ctx_for(desk))
    qtbot.addWidget(line)
    with qtbot.waitSignal(line.executed, timeout=10000) as sig:
        line.run(f"D {inc.urn} ARV11")
    assert "Armed deployment not authorised" in sig.args[1] and line.message.property("error")
    assert_refused(url, inc)
    with qtbot.waitSignal(line.executed, timeout=10000) as sig:  # an unarmed unit still goes
        line.run(f"D {inc.urn} MK11")
    assert "MK11 assigned" in sig.args[1]


def test_despatch_tab_assign_is_refused_for_an_armed_type(qtbot, url, desk):
    inc = armed_type_unflagged(desk, url)
    tab = DespatchTab(ctx_for(desk))
    qtbot.addWidget(tab)
    tab.set_incident(inc.id)
    qtbot.waitUntil(lambda: tab.urn == inc.urn, timeout=5000)
    qtbot.waitUntil(lambda: any(r.callsign == "ARV11" for r in tab.model.rows), timeout=5000)
    tab.table.selectRow(next(i for i, r in enumerate(tab.model.rows) if r.callsign == "ARV11"))
    tab.assign_selected()
    qtbot.waitUntil(lambda: "Armed deployment not authorised" in tab.message.text(), timeout=5000)
    assert_refused(url, inc)


def test_drag_a_unit_from_the_units_board_onto_the_incident_is_refused_for_an_armed_type(qtbot, url, desk):
    inc = armed_type_unflagged(desk, url)
    ctx = ctx_for(desk)
    board = UnitsPanel(ctx)
    incidents = IncidentListPanel(ctx)
    qtbot.addWidget(board)
    qtbot.addWidget(incidents)
    incidents.resize(900, 400)
    incidents.show()
    qtbot.waitUntil(lambda: any(u["callsign"] == "ARV11" for u in board.model.rows), timeout=5000)
    qtbot.waitUntil(lambda: incidents.model.row_of(inc.id) is not None, timeout=5000)
    # the drag source: the units board hands out the callsign
    r = next(i for i, u in enumerate(board.model.rows) if u["callsign"] == "ARV11")
    src = board.proxy.mapFromSource(board.model.index(r, 1))
    mime = board.proxy.mimeData([src])
    assert mime.hasFormat(MIME) and callsigns_of(mime) == ["ARV11"]
    assert board.view.dragEnabled()
    # the drop: onto the incident's row
    row = incidents.proxy.mapFromSource(incidents.model.index(incidents.model.row_of(inc.id), 0))
    pos = QPointF(incidents.view.visualRect(row).center())
    drop = QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    incidents.view.dropEvent(drop)
    assert drop.isAccepted()
    qtbot.waitUntil(lambda: "Armed deployment not authorised" in incidents.drop_message.text(), timeout=5000)
    assert_refused(url, inc)
    # and an unarmed unit dropped the same way is assigned
    r = next(i for i, u in enumerate(board.model.rows) if u["callsign"] == "MK11")
    mime = board.proxy.mimeData([board.proxy.mapFromSource(board.model.index(r, 1))])
    incidents.view.dropEvent(QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    qtbot.waitUntil(lambda: "MK11 assigned" in incidents.drop_message.text(), timeout=5000)
    assert sql(url, "SELECT incident_id FROM units WHERE callsign = 'MK11'") == [(inc.id,)]
