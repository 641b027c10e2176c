"""Not a test: docs/screenshots/20-emergency-{day,night}.png and 20-alerts-panel.png (run explicitly)."""
from __future__ import annotations

from PySide6.QtWidgets import QApplication

from ui.kit import ops
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.shell.main_window import MainWindow

from .conftest import MK


def test_shot(qtbot, open_as):
    radio = open_as("despatch.north")
    s = open_as("despatch.north")
    s.events.start()
    ctx = ConsoleContext(session=s, bridge=EventBridge(s))
    win = MainWindow(ctx, restore=False)
    qtbot.addWidget(win)
    win.resize(1920, 1080)
    win.show()
    qtbot.waitUntil(lambda: getattr(win.map, "is_loaded", True), timeout=20000)
    radio.incidents.create(channel="999", incident_type="ASSAULT", grade="G1", lat=MK[0], lon=MK[1] + 0.01,
                           summary="Two men fighting outside the station")
    cs = next(u.callsign for u in radio.units.list(status="available")
              if radio.ctx.area_rooms.get(u.area_code or u.home_area_code) == "north" and "ARV" not in u.capabilities)
    radio.units.emergency(cs, at=None, lat=MK[0] + 0.004, lon=MK[1] - 0.006, source="Airwave gateway")
    qtbot.waitUntil(lambda: win.alarm_banner.current is not None and win.alarm_banner.current.kind == "emergency",
                    timeout=8000)
    win.docks["alerts"].raise_()
    for theme, name in (("light", "day"), ("dark", "night")):
        win.apply_theme(theme)
        win.alarm_banner._flash_on = True
        win.alarm_banner._paint()
        qtbot.wait(1500)
        QApplication.processEvents()
        win.grab().save(f"docs/screenshots/20-emergency-{name}.png")
    win.apply_theme("light")
    panel = win.panels["alerts"]
    panel.table.resizeColumnsToContents()
    panel.resize(900, 320)
    qtbot.wait(300)
    panel.grab().save("docs/screenshots/20-alerts-panel.png")
    ops.wait_all()
