"""Live map panel against the real page in offscreen QtWebEngine: offline, batched, clickable."""
from __future__ import annotations

import json
import re
import time

from tests import qt_env  # noqa: F401  (headless Qt/Chromium settings, before PySide6 is imported)
import pytest
from PySide6.QtCore import QEvent

from maps.builder import MAPS_DIR, build_base_map, load_geojson
from controlroom.kernel import palette
from ui.map.panel import FLUSH_INTERVAL_MS, MapPanel

AREAS = MAPS_DIR / "areas.geojson"
ROADS = MAPS_DIR / "roads.geojson"


def js(qtbot, panel: MapPanel, script: str, timeout: int = 5000):
    """Evaluate `script` in the page and return its JSON-decoded result."""
    out: list = []
    panel.evaluate(f"JSON.stringify({script})", out.append)
    qtbot.waitUntil(lambda: bool(out), timeout=timeout)
    return json.loads(out[0]) if out[0] is not None else None


def wait_js(qtbot, panel: MapPanel, script: str, predicate, timeout: int = 5000):
    """Poll `script` until predicate(result) holds; return the last result."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = js(qtbot, panel, script)
        if predicate(value):
            return value
        assert time.monotonic() < deadline, f"{script} never satisfied the condition; last {value!r}"
        qtbot.wait(30)


@pytest.fixture(scope="module")
def panel(qapp, tmp_path_factory):
    """One real map page (shipped GeoJSON) for the module, loaded and with its QWebChannel up."""
    assert AREAS.exists(), "maps/areas.geojson is shipped with the repo"
    p = MapPanel(cache_dir=tmp_path_factory.mktemp("map"))
    p.resize(1000, 700)
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
    p.deleteLater()  # page and profile go before the QApplication does
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()


def test_page_loads_offline_with_no_network_requests(qtbot, panel):
    page = panel.html_path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']\s*(https?:)?//""", page, re.I)
    assert (panel.cache_dir / "leaflet" / "leaflet.js").exists()
    assert js(qtbot, panel, "crmap.ready") is True
    assert js(qtbot, panel, "typeof L !== 'undefined' && L.version") == "1.9.3"
    codes = {f["properties"]["code"] for f in load_geojson(AREAS)["features"]}
    assert {c: js(qtbot, panel, f"crmap.getArea('{c}') !== null") for c in codes} == {c: True for c in codes}
    wait_js(qtbot, panel, "crmap.bridgeConnected()", bool)
    assert panel.interceptor.blocked == []
    assert panel.js_errors == []


def test_position_update_moves_unit_marker(qtbot, panel):
    panel.upsert_units([{"callsign": "ALPHA1", "lat": 51.75, "lon": -1.26, "status": "available",
                         "capabilities": ["ARV"], "stale": False, "incident_urn": None}])
    unit = wait_js(qtbot, panel, "crmap.getUnit('ALPHA1')", lambda u: u is not None)
    assert (unit["lat"], unit["lon"]) == (51.75, -1.26)
    assert unit["colour"] == palette.UNIT_STATUS_COLOURS["available"]

    panel.upsert_units([{"callsign": "ALPHA1", "lat": 51.76, "lon": -1.20, "status": "en_route"}])
    unit = wait_js(qtbot, panel, "crmap.getUnit('ALPHA1')", lambda u: u["lat"] == 51.76)
    assert unit["lon"] == -1.20
    assert unit["colour"] == palette.UNIT_STATUS_COLOURS["en_route"]
    assert unit["capabilities"] == ["ARV"]          # partial update kept the rest
    assert unit["trail"] == [[51.75, -1.26], [51.76, -1.20]]
    assert panel.interceptor.blocked == []


def test_stale_unit_is_greyed(qtbot, panel):
    panel.upsert_units([{"callsign": "STALE9", "lat": 51.5, "lon": -0.9, "status": "at_scene",
                         "capabilities": ["dog"], "stale": True}])
    unit = wait_js(qtbot, panel, "crmap.getUnit('STALE9')", lambda u: u is not None)
    assert unit["colour"] == palette.STALE_COLOUR


def test_rapid_updates_coalesce_into_at_most_two_flushes(qtbot, panel):
    qtbot.wait(FLUSH_INTERVAL_MS + 50)
    before = panel.js_calls
    start = time.monotonic()
    for i in range(100):
        panel.upsert_units([{"callsign": "BRAVO2", "lat": 51.40 + i * 0.001, "lon": -1.0,
                             "status": "available", "capabilities": ["roads"]}])
        qtbot.wait(1)
    remaining = 0.3 - (time.monotonic() - start)
    if remaining > 0:
        qtbot.wait(int(remaining * 1000))
    assert panel.js_calls - before <= 2
    unit = wait_js(qtbot, panel, "crmap.getUnit('BRAVO2')", lambda u: u is not None and u["lat"] > 51.49)
    assert unit["lat"] == pytest.approx(51.499)
    assert len(unit["trail"]) <= 10


def test_clicking_incident_marker_emits_incident_clicked(qtbot, panel):
    panel.upsert_incidents([{"id": 42, "urn": "TV-20261123-00042", "lat": 51.45, "lon": -0.97,
                             "grade": "G1", "status": "open", "type": "RTC", "summary": "Two cars"}])
    inc = wait_js(qtbot, panel, "crmap.getIncident(42)", lambda i: i is not None)
    assert inc["colour"] == palette.GRADE_COLOURS["G1"]
    wait_js(qtbot, panel, "crmap.bridgeConnected()", bool)
    with qtbot.waitSignal(panel.incidentClicked, timeout=3000) as blocker:
        panel.evaluate("crmap._clickIncident(42)", lambda _r: None)
    assert blocker.args == [42]


def test_clicking_unit_and_right_click_reach_python(qtbot, panel):
    panel.upsert_units([{"callsign": "CHARLIE3", "lat": 51.6, "lon": -0.8, "status": "at_station",
                         "capabilities": ["irv"]}])
    wait_js(qtbot, panel, "crmap.getUnit('CHARLIE3')", lambda u: u is not None)
    wait_js(qtbot, panel, "crmap.bridgeConnected()", bool)
    with qtbot.waitSignal(panel.unitClicked, timeout=3000) as blocker:
        panel.evaluate("crmap._clickUnit('CHARLIE3')", lambda _r: None)
    assert blocker.args == ["CHARLIE3"]
    panel.evaluate("crmap._contextMenu(51.55, -1.1)", lambda _r: None)
    qtbot.waitUntil(lambda: panel._menu is not None, timeout=3000)
    action = panel._menu.actions()[0]
    assert action.text().startswith("New incident here")
    with qtbot.waitSignal(panel.newIncidentRequested, timeout=3000) as blocker:
        action.trigger()
    assert blocker.args == [pytest.approx(51.55), pytest.approx(-1.1)]


def test_select_highlights_incident_and_updates_replace_in_place(qtbot, panel):
    panel.upsert_incidents([{"id": 7, "urn": "TV-20261123-00007", "lat": 51.75, "lon": -1.25,
                             "grade": "G3", "status": "open", "type": "Theft", "summary": ""}])
    panel.select_incident(7)
    inc = wait_js(qtbot, panel, "crmap.getIncident(7)", lambda i: i is not None and i["selected"])
    assert js(qtbot, panel, "crmap.selected()") == 7
    panel.upsert_incidents([{"id": 7, "grade": "G1"}])
    inc = wait_js(qtbot, panel, "crmap.getIncident(7)", lambda i: i["grade"] == "G1")
    assert inc["colour"] == palette.GRADE_COLOURS["G1"] and inc["selected"]
    panel.remove_incidents([7])
    wait_js(qtbot, panel, "crmap.getIncident(7)", lambda i: i is None)
    assert js(qtbot, panel, "crmap.selected()") is None


def test_area_transfer_recolours_area_and_label(qtbot, panel):
    panel.set_area_rooms({"oxon": "north"})
    area = wait_js(qtbot, panel, "crmap.getArea('oxon')", lambda a: a["room"] == "north")
    assert area["colour"] == palette.ROOM_COLOURS["north"]
    label = js(qtbot, panel, "document.querySelector('.crmap-area-label[data-area=\"oxon\"]').textContent")
    assert "North room" in label
    panel.set_area_rooms({"oxon": "south"})
    area = wait_js(qtbot, panel, "crmap.getArea('oxon')", lambda a: a["room"] == "south")
    assert area["colour"] == palette.ROOM_COLOURS["south"]
    assert panel.interceptor.blocked == []
    assert panel.js_errors == []


def test_changes_before_load_are_queued_then_flushed(qtbot, tmp_path):
    p = MapPanel(cache_dir=tmp_path / "early")
    qtbot.addWidget(p)
    p.upsert_units([{"callsign": "EARLY1", "lat": 51.5, "lon": -0.7, "status": "available", "capabilities": []}])
    p.upsert_units([{"callsign": "EARLY1", "lat": 51.52, "lon": -0.71}])
    assert p.js_calls == 0
    with qtbot.waitSignal(p.loaded, timeout=30000):
        pass
    unit = wait_js(qtbot, p, "crmap.getUnit('EARLY1')", lambda u: u is not None)
    assert (unit["lat"], unit["lon"]) == (51.52, -0.71) and p.js_calls == 1
    assert p.interceptor.blocked == [] and p.js_errors == []


def test_base_map_is_offline_and_marks_training(tmp_path):
    out = build_base_map(tmp_path, areas_geojson=load_geojson(AREAS), roads_geojson=load_geojson(ROADS),
                         room_colours=palette.ROOM_COLOURS, training=True)
    page = out.read_text(encoding="utf-8")
    assert "crmap-watermark" in page and "TRAINING" in page
    assert not re.search(r"https?://", page)
    for name in ("Areas", "Motorways", "Units", "Incidents", "AVL trails"):
        assert f'"{name}"' in page


@pytest.mark.perf
def test_perf_two_thousand_units(qtbot, panel):
    start = time.monotonic()
    units = [{"callsign": f"P{i:04d}", "lat": 51.3 + (i % 50) * 0.015, "lon": -1.6 + (i // 50) * 0.03,
              "status": "available", "capabilities": ["irv"]} for i in range(2000)]
    panel.upsert_units(units)
    wait_js(qtbot, panel, "crmap.unitCount()", lambda n: n >= 2000, timeout=20000)
    print(f"map_insert_2000_units: {(time.monotonic() - start) * 1000:.0f} ms")
    start = time.monotonic()
    panel.upsert_units([dict(u, lat=u["lat"] + 0.001) for u in units])
    wait_js(qtbot, panel, "crmap.getUnit('P1999')", lambda u: u["lat"] > units[-1]["lat"], timeout=20000)
    print(f"map_move_2000_units: {(time.monotonic() - start) * 1000:.0f} ms")
