"""Talk-group panel: live updates from other consoles, drops move units, TG/TGR verbs, warnings."""
from __future__ import annotations

import pytest
from controlroom.errors import InvalidInput, NotPermitted
from ui import ops
from ui.command_line import COMMANDS
from ui.context import ConsoleContext
from ui.event_bridge import EventBridge
from ui.talkgroups_panel import NAME, STATE, UNITS, TalkGroupsPanel

from .conftest import MK, OXFORD


def new_incident(s, where=MK):
    return s.incidents.create(channel="999", incident_type="ASSAULT", summary="Disturbance",
                              lat=where[0], lon=where[1], grade="G1")


def make_panel(qtbot, session) -> TalkGroupsPanel:
    ctx = ConsoleContext(session=session, bridge=EventBridge(session))
    panel = TalkGroupsPanel(ctx)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.model.rowCount() > 20, timeout=5000)
    return panel


def cell(panel, name, col):
    row = panel.model._row_of[name]
    return panel.model.data(panel.model.index(row, col))


@pytest.fixture
def south_panel(qtbot, open_as):
    panel = make_panel(qtbot, open_as("despatch.south"))
    yield panel
    ops.wait_all()


def test_panel_updates_live_when_another_console_allocates(qtbot, open_as, south_panel):
    north = open_as("despatch.north")
    inc = new_incident(north)
    row_count = south_panel.model.rowCount()
    inserted = []
    south_panel.model.rowsInserted.connect(lambda *a: inserted.append(a))
    tg = north.talkgroups.allocate(inc.id)
    qtbot.waitUntil(lambda: cell(south_panel, tg.name, STATE) == f"Allocated to {inc.urn}", timeout=5000)
    assert south_panel.model.view(tg.name).room_code == "north"
    assert south_panel.model.rowCount() == row_count and not inserted  # one row changed, no reset
    assert "15 of 16 free" in south_panel.pool_label.text()
    north.talkgroups.release(inc.id, tg.name)
    qtbot.waitUntil(lambda: cell(south_panel, tg.name, STATE) == "Free", timeout=5000)


def test_dropping_units_on_a_group_moves_them_and_both_rows_update(qtbot, open_as, south_panel):
    ox = new_incident(south_panel.session, OXFORD)
    tg = south_panel.session.talkgroups.allocate(ox.id)
    qtbot.waitUntil(lambda: south_panel.model.view(tg.name).incident_id == ox.id, timeout=5000)
    assert "OX11" in south_panel.model.view("TV-OXON-PRI").units and "OX11" in cell(south_panel, "TV-OXON-PRI", UNITS)
    south_panel.units.addItems(["OX11", "OX12"])
    south_panel.units.selectAll()
    mime = south_panel.units.mimeData(south_panel.units.selectedItems())
    calls = bytes(mime.data("application/x-controlroom-callsigns")).decode().split()
    south_panel.table.unitsDropped.emit(tg.name, calls)
    qtbot.waitUntil(lambda: set(south_panel.model.view(tg.name).units) == {"OX11", "OX12"}, timeout=5000)
    qtbot.waitUntil(lambda: "OX11" not in south_panel.model.view("TV-OXON-PRI").units, timeout=5000)
    assert "moved to" in south_panel.message.text()
    COMMANDS.find(f"TGR {ox.urn}")[0].handler(south_panel.ctx, ox.urn)
    qtbot.waitUntil(lambda: {"OX11", "OX12"} <= set(south_panel.model.view("TV-OXON-PRI").units), timeout=5000)
    assert cell(south_panel, tg.name, STATE) == "Free"


def test_tg_verb_allocates_and_refuses_a_call_handler(qtbot, open_as, south_panel):
    inc = new_incident(south_panel.session, OXFORD)
    cmd, args = COMMANDS.find(f"tg {inc.urn}")
    msg = cmd.handler(south_panel.ctx, args)
    name = msg.split()[0]
    assert msg == f"{name} allocated to {inc.urn}."
    qtbot.waitUntil(lambda: cell(south_panel, name, STATE) == f"Allocated to {inc.urn}", timeout=5000)
    handler_ctx = ConsoleContext(session=open_as("handler.south"), bridge=south_panel.ctx.bridge)
    with pytest.raises(NotPermitted):
        cmd.handler(handler_ctx, inc.urn)
    with pytest.raises(InvalidInput, match="Usage"):
        COMMANDS.find("TGR")[0].handler(south_panel.ctx, "")
    south_panel.session.talkgroups.release(inc.id, name)


def test_pool_low_warning_appears_when_under_a_fifth_free(qtbot, open_as, south_panel):
    north = open_as("despatch.north")
    incs = [new_incident(north) for _ in range(13)]
    for inc in incs:
        north.talkgroups.allocate(inc.id)
    qtbot.waitUntil(lambda: "pool low: 3 of 16" in south_panel.warnings.text(), timeout=5000)
    assert south_panel.warnings.isVisibleTo(south_panel)
    for inc in incs:
        for g in north.talkgroups.for_incident(inc.id):
            north.talkgroups.release(inc.id, g.name)
    qtbot.waitUntil(lambda: south_panel.warnings.text() == "", timeout=5000)
    assert cell(south_panel, "TV-INC-01", NAME) == "TV-INC-01"
