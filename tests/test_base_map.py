"""The force's own base map, offline: MBTiles (raster and vector) through the crtiles:// scheme,
WMS/WMTS by configuration, the choice held in the database."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests import qt_env  # noqa: F401  (headless Qt/Chromium settings, before PySide6 is imported)
import psycopg
import pytest
from PySide6.QtCore import QEvent

from controlroom.geo.__main__ import main as geo_cli
from controlroom.geo.basemap import BaseMap
from controlroom.geo.mbtiles import MBTiles
from tests import mbtiles_fixtures as mf
from ui.map.panel import MapPanel
from ui.map.tile_scheme import render_vector_tile

# CONTROLROOM_SCREENSHOTS=1 writes the docs' screenshots; otherwise they go to the test's tmp dir.
DOC_SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def _js(qtbot, panel, script):
    out: list = []
    panel.evaluate(f"JSON.stringify({script})", out.append)
    qtbot.waitUntil(lambda: bool(out), timeout=5000)
    return json.loads(out[0]) if out[0] is not None else None


def _open(qapp, qtbot, tmp_path, base_map: BaseMap) -> MapPanel:
    p = MapPanel(cache_dir=tmp_path / "map", base_map=base_map)
    p.resize(900, 600)
    p.show()
    with qtbot.waitSignal(p.loaded, timeout=30000) as blocker:
        pass
    assert blocker.args == [True]
    return p


def _street_zoom(qtbot, p: MapPanel, z: int = 16) -> int:
    _js(qtbot, p, f"(function(){{var m=null; for (var k in window) {{ if (k.indexOf('map_')===0 && "
                  f"window[k] && window[k].setView) m=window[k]; }} m.setView([{mf.CENTRE[0]}, {mf.CENTRE[1]}], {z},"
                  f" {{animate:false}}); return m.getZoom(); }})()")
    deadline = time.monotonic() + 20
    n = 0
    while time.monotonic() < deadline:
        n = _js(qtbot, p, "crmap.baseTilesLoaded()")
        if n >= 6:
            break
        qtbot.wait(100)
    return n


def _close(qapp, p):
    p.close()
    p.deleteLater()
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()


def test_mbtiles_reader_flips_tms_rows_and_unzips_vector_tiles(tmp_path, qapp):
    r = MBTiles(mf.raster_mbtiles(tmp_path / "r.mbtiles"))
    v = MBTiles(mf.vector_mbtiles(tmp_path / "v.mbtiles"))
    z, x, y = mf.tiles_around(*mf.CENTRE, 16)[12]
    assert r.tile(z, x, y)[:8] == b"\x89PNG\r\n\x1a\n" and r.zoom_range() == (15, 16)
    assert v.is_vector and v.tile(z, x, y)[:2] != b"\x1f\x8b"
    assert r.tile(z, x, (1 << z) - 1 - y) is None  # the TMS row is not the XYZ row


def test_vector_tile_is_drawn_in_day_and_night_styles(tmp_path, qapp):
    from PySide6.QtGui import QColor, QImage

    v = MBTiles(mf.vector_mbtiles(tmp_path / "v.mbtiles"))
    raw = v.tile(*mf.tiles_around(*mf.CENTRE, 16)[12])
    day, night = QImage.fromData(render_vector_tile(raw, 16, "day")), QImage.fromData(render_vector_tile(raw, 16, "night"))
    assert day.width() == 256 and night.width() == 256
    assert QColor(day.pixel(250, 250)).lightness() > 180     # empty land: light by day
    assert QColor(night.pixel(250, 250)).lightness() < 60    # and dark at night
    road = QColor(day.pixel(200, 131))                        # the A road across y = 2100/4096
    assert road.name() != QColor(day.pixel(250, 250)).name()


@pytest.mark.parametrize("kind", ["raster", "vector"])
def test_mbtiles_base_map_renders_at_street_zoom_with_no_blocked_request(qapp, qtbot, tmp_path, kind):
    path = (mf.raster_mbtiles if kind == "raster" else mf.vector_mbtiles)(tmp_path / f"{kind}.mbtiles")
    p = _open(qapp, qtbot, tmp_path, BaseMap("mbtiles", day=str(path)))
    try:
        loaded = _street_zoom(qtbot, p)
        assert loaded >= 6, f"only {loaded} base tiles on screen"
        assert p.tile_handler.served >= 6
        assert p.interceptor.blocked == [] and p.js_errors == []
        assert _js(qtbot, p, "crmap.setTheme('night')") == "night"
        assert _js(qtbot, p, "document.querySelector('.leaflet-container').classList.contains('crmap-night')")
        SHOTS = DOC_SHOTS if os.environ.get("CONTROLROOM_SCREENSHOTS") else tmp_path
        if kind == "vector":  # screenshots for the docs: day and night at street zoom
            SHOTS.mkdir(parents=True, exist_ok=True)
            qtbot.wait(600)
            p.grab().save(str(SHOTS / "22-basemap-vector-night.png"))
            _js(qtbot, p, "crmap.setTheme('day')")
            qtbot.wait(800)
            p.grab().save(str(SHOTS / "22-basemap-vector-day.png"))
        else:
            qtbot.wait(600)
            p.grab().save(str(SHOTS / "22-basemap-raster-night.png"))
    finally:
        _close(qapp, p)


def test_a_missing_mbtiles_file_falls_back_to_the_schematic_map(qapp, qtbot, tmp_path):
    p = _open(qapp, qtbot, tmp_path, BaseMap("mbtiles", day=str(tmp_path / "gone.mbtiles")))
    try:
        assert p.tile_handler is None and p.interceptor.blocked == []
    finally:
        _close(qapp, p)


def test_base_map_choice_is_force_configuration_written_by_the_owner_cli(db_url, tmp_path, open_as, qapp, capsys):
    path = mf.raster_mbtiles(tmp_path / "zoomstack.mbtiles")
    assert geo_cli(["--database-url", db_url, "basemap", "mbtiles", str(path)]) == 0
    from controlroom.geo.basemap import read_base_map
    s = open_as("handler.north")
    with s.engine.connect() as conn:
        bm = read_base_map(conn)
    assert (bm.kind, bm.day) == ("mbtiles", str(path.resolve()))
    assert geo_cli(["--database-url", db_url, "basemap", "wms", "ftp://nope", "--layers", "x"]) == 2
    assert geo_cli(["--database-url", db_url, "basemap", "wmts", "http://127.0.0.1:9/wmts/{z}/{x}/{y}.png"]) == 0
    with s.engine.connect() as conn:
        assert read_base_map(conn).kind == "wmts"
    assert geo_cli(["--database-url", db_url, "status"]) == 0
    assert "WMTS/XYZ http://127.0.0.1:9/wmts/{z}/{x}/{y}.png" in capsys.readouterr().out
    assert geo_cli(["--database-url", db_url, "basemap", "schematic"]) == 0
    with s.engine.connect() as conn:
        assert read_base_map(conn).kind == "schematic"
    with psycopg.connect(db_url) as c:  # consoles' group may read the choice, never write it
        privs = c.execute("SELECT has_table_privilege('cr_console', 'geo_config', 'SELECT'), "
                          "has_table_privilege('cr_console', 'geo_config', 'INSERT'), "
                          "has_table_privilege('cr_console', 'addresses', 'UPDATE')").fetchone()
    assert privs == (True, False, False)


def test_wms_layer_request_is_allowed_only_for_the_configured_server(qapp, qtbot, tmp_path):
    p = _open(qapp, qtbot, tmp_path, BaseMap("wms", url="http://127.0.0.1:9/wms", layers="base"))
    try:
        assert any(t.startswith("http://127.0.0.1:9/wms?") for t in
                   [pat.pattern.replace("\\", "") for pat in p.interceptor._allowed])
        # nothing listens there (loopback, discard port): requests are let through and fail
        qtbot.wait(500)
        assert p.interceptor.blocked == []
    finally:
        _close(qapp, p)
