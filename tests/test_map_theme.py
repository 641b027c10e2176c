"""The map page follows the console: night theme, and tooltips in the operator's words (issue 18)."""
from __future__ import annotations

import json
import time

from tests import qt_env  # noqa: F401  (headless Qt/Chromium settings, before PySide6 is imported)
import pytest
from PySide6.QtCore import QEvent

from controlroom.kernel import palette
from ui.map.panel import MapPanel


def js(qtbot, panel: MapPanel, script: str):
    out: list = []
    panel.evaluate(f"JSON.stringify({script})", out.append)
    qtbot.waitUntil(lambda: bool(out), timeout=5000)
    return json.loads(out[0]) if out[0] is not None else None


@pytest.fixture(scope="module")
def panel(qapp, tmp_path_factory):
    p = MapPanel(cache_dir=tmp_path_factory.mktemp("map"))
    p.resize(800, 600)
    p.show()
    loaded: list[bool] = []
    p.loaded.connect(loaded.append)
    deadline = time.monotonic() + 30
    while not loaded and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    assert loaded == [True]
    yield p
    p.close()
    p.deleteLater()
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()


BG = "getComputedStyle(document.querySelector('.leaflet-container')).backgroundColor"


def rgb(hex_colour: str) -> str:
    c = hex_colour.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(c[i:i + 2], 16) for i in (0, 2, 4)))


def test_night_theme_darkens_the_map_page_and_day_brings_it_back(qtbot, panel):
    day = js(qtbot, panel, BG)
    panel.set_theme("dark")
    qtbot.waitUntil(lambda: js(qtbot, panel, BG) == rgb(palette.THEMES["dark"]["map"]), timeout=3000)
    legend = "getComputedStyle(document.querySelector('.crmap-legend') || document.body).color"
    assert js(qtbot, panel, legend) == rgb(palette.THEMES["dark"]["text"])
    panel.set_theme("light")
    qtbot.waitUntil(lambda: js(qtbot, panel, BG) == day, timeout=3000)


def test_console_theme_switch_reaches_the_map(qtbot, open_as, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from ui.kit.context import ConsoleContext
    from ui.kit.event_bridge import EventBridge
    from ui.shell.main_window import MainWindow

    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path))
    monkeypatch.setenv("CONTROLROOM_MAP_CACHE", str(tmp_path / "mapcache"))
    s = open_as("despatch.north")
    win = MainWindow(ConsoleContext(session=s, bridge=EventBridge(s)), theme="light", restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.map.is_loaded, timeout=20000)
    win.apply_theme("dark")
    assert palette.active_theme == "dark"
    qtbot.waitUntil(lambda: js(qtbot, win.map, BG) == rgb(palette.THEMES["dark"]["map"]), timeout=3000)
    win.apply_theme("light")
    assert palette.active_theme == "light"
    qtbot.waitUntil(lambda: js(qtbot, win.map, BG) != rgb(palette.THEMES["dark"]["map"]), timeout=3000)
    win.close()
    win.ctx.bridge.close()


def test_map_tooltips_show_labels_not_codes(qtbot, panel):
    panel.upsert_units([{"callsign": "MK21", "lat": 52.04, "lon": -0.76, "status": "at_scene",
                         "capabilities": ["IRV"]}])
    panel.upsert_incidents([{"id": 901, "urn": "TV-20261123-00901", "lat": 52.04, "lon": -0.75, "grade": "G2",
                             "status": "despatched", "type": "ASSAULT", "summary": "Fight"}])
    panel.flush()
    qtbot.waitUntil(lambda: js(qtbot, panel, "crmap.tooltipOf('unit', 'MK21')") is not None, timeout=3000)
    unit = js(qtbot, panel, "crmap.tooltipOf('unit', 'MK21')")
    assert "At scene" in unit and "at_scene" not in unit and "at scene" not in unit
    assert "Despatched" in js(qtbot, panel, "crmap.tooltipOf('incident', 901)")
