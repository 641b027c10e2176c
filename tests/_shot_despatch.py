"""Not a test: makes docs/screenshots/6-despatch-tab.png and 6-units-panel.png (run explicitly with pytest)."""
from __future__ import annotations

from ui.kit import ops
from ui.kit.context import ConsoleContext
from ui.despatch.tab import DespatchTab
from ui.kit.event_bridge import EventBridge
from ui.despatch.units_panel import UnitsPanel


def test_shot(qtbot, open_as):
    d = open_as("despatch.north")
    p = d.incidents.suggest_places("Bletchley", limit=1)[0]
    inc = d.incidents.create(channel="999", incident_type="DOMESTIC", grade="G1", lat=p.lat, lon=p.lon,
                             address=p.name, domestic_abuse=True,
                             summary="Screaming heard, female says partner has a knife")
    recs = d.despatch.recommend(inc.id)
    for r in recs[:2]:
        d.despatch.assign(inc.id, r.callsign)
    d.despatch.arrived(inc.id, recs[0].callsign)
    ctx = ConsoleContext(session=d, bridge=EventBridge(d))
    tab = DespatchTab(ctx)
    qtbot.addWidget(tab)
    tab.resize(660, 460)
    tab.show()
    tab.set_incident(inc.id)
    qtbot.waitUntil(lambda: tab.assigned_model.rowCount() == 2 and tab.model.rowCount() > 0, timeout=5000)
    tab.assigned_table.selectRow(1)
    tab.message.setText(f"{recs[1].callsign} assigned to {inc.urn}: en route.")
    qtbot.wait(300)
    tab.grab().save("docs/screenshots/6-despatch-tab.png")
    board = UnitsPanel(ctx)
    qtbot.addWidget(board)
    board.resize(820, 560)
    board.show()
    qtbot.waitUntil(lambda: board.model.rowCount() > 50, timeout=5000)
    board.view.resizeColumnsToContents()
    board.view.horizontalHeader().resizeSection(0, 210)
    qtbot.wait(300)
    board.grab().save("docs/screenshots/6-units-panel.png")
    ops.wait_all()
