"""Talk-group panel: live updates from other consoles, drops move units, TG/TGR verbs, warnings."""
from __future__ import annotations

import pytest
from controlroom.errors import InvalidInput, NotPermitted
from ui.kit import ops
from ui.cli.line import COMMANDS
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.talkgroups.panel import NAME, STATE, UNITS, TalkGroupsPanel

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


def test_group_unit_lists_follow_status_area_and_despatch_changes_row_by_row(qtbot, open_as, south_panel):
    other = open_as("despatch.south")
    m = south_panel.model
    primary = {v.area_code: v.name for v in m.rows if v.kind == "primary"}
    ox_pri, mk_pri = primary["oxon"], primary["mk"]
    cs = "OX14"
    if other.units.get(cs).status == "off_duty":
        other.units.set_status(cs, "available")
        qtbot.waitUntil(lambda: cs in m.view(ox_pri).units, timeout=5000)
    assert cs in m.view(ox_pri).units
    resets, inserted, changed = [], [], []
    m.modelReset.connect(lambda: resets.append(1))
    m.rowsInserted.connect(lambda *a: inserted.append(a))
    m.dataChanged.connect(lambda tl, br, *r: changed.extend(range(tl.row(), br.row() + 1)))
    other.units.set_status(cs, "off_duty")
    qtbot.waitUntil(lambda: cs not in m.view(ox_pri).units, timeout=5000)
    assert set(changed) == {m._row_of[ox_pri]}  # only the affected row
    other.units.set_status(cs, "available")
    qtbot.waitUntil(lambda: cs in m.view(ox_pri).units, timeout=5000)
    other.units.update_position(cs, MK[0], MK[1])  # drives into Milton Keynes: onto its primary
    qtbot.waitUntil(lambda: cs in m.view(mk_pri).units and cs not in m.view(ox_pri).units, timeout=5000)
    assert cs in cell(south_panel, mk_pri, UNITS) or "+" in cell(south_panel, mk_pri, UNITS)
    assert set(m.view(mk_pri).units) == set(other.talkgroups.get(mk_pri).units)
    inc = new_incident(other, OXFORD)
    tg = other.talkgroups.allocate(inc.id)
    other.talkgroups.move_units(tg.name, [cs])
    qtbot.waitUntil(lambda: m.view(tg.name).units == (cs,), timeout=5000)
    other.despatch.assign(inc.id, cs)  # a despatch event keeps the unit on its incident group
    other.units.update_position(cs, OXFORD[0], OXFORD[1])
    qtbot.waitUntil(lambda: m.unit_state[cs]["area_code"] == "oxon", timeout=5000)
    assert m.view(tg.name).units == (cs,) and cs not in m.view(ox_pri).units
    other.despatch.clear(inc.id, cs, result="No trace")
    other.talkgroups.release(inc.id, tg.name)
    qtbot.waitUntil(lambda: cs in m.view(ox_pri).units and not m.view(tg.name).units, timeout=5000)
    assert not resets and not inserted


def test_the_group_table_keeps_four_rows_in_a_laptop_side_column(qtbot, open_as):
    """Issue 18: at 1366x768 the despatcher's talk-group panel showed one group row; the units strip
    took the room. In a dock as short as the laptop layout gives it, four rows stay in view."""
    panel = make_panel(qtbot, open_as("despatch.north"))
    panel.resize(360, 250)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.wait(50)
    view = panel.table
    rows_in_view = sum(1 for r in range(panel.model.rowCount())
                       if view.visualRect(panel.proxy.index(r, 0)).bottom() <= view.viewport().height()
                       and view.visualRect(panel.proxy.index(r, 0)).top() >= 0)
    assert rows_in_view >= 4, rows_in_view
    assert panel.units.isVisible()  # the units strip is still there, below
