"""The console's live map against a real database: other consoles' writes reach the page."""
from __future__ import annotations

import json
import time
from datetime import timedelta

from tests import qt_env  # noqa: F401  (headless Qt/Chromium settings, before PySide6 is imported)
import pytest
from PySide6.QtCore import QEvent
from sqlalchemy import text

from controlroom.session import open_session
from maps import cache
from tests.conftest import MK, OXFORD, READING
from controlroom.kernel import palette
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.map.panel import make_panel

UNIT = "OX11"  # a seeded Oxfordshire unit


def js(qtbot, panel, script: str, timeout: int = 5000):
    """Evaluate `script` in the page and return its JSON-decoded result."""
    out: list = []
    panel.evaluate(f"JSON.stringify({script})", out.append)
    qtbot.waitUntil(lambda: bool(out), timeout=timeout)
    return json.loads(out[0]) if out[0] is not None else None


def wait_js(qtbot, panel, script: str, predicate, timeout: int = 8000):
    """Poll `script` until predicate(result) holds; return that result."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        value = js(qtbot, panel, script)
        if predicate(value):
            return value
        assert time.monotonic() < deadline, f"{script} never satisfied the condition; last {value!r}"
        qtbot.wait(50)


@pytest.fixture(scope="module")
def console(qapp, db_url, tmp_path_factory):
    """A despatcher's console map (make_panel, as the main window builds it), loaded and fed."""
    import os
    os.environ["CONTROLROOM_MAP_CACHE"] = str(tmp_path_factory.mktemp("mapcache"))
    session = open_session(db_url, "despatch.north", "demo", "N-MAP-1")
    # The demo fixes were taken when the template was seeded, maybe minutes ago: this console
    # starts just after a fresh round of AVL fixes, so "stale" below means what it says.
    from .helpers import sql  # as the owner: consoles cannot write units directly (issue 19)
    sql(db_url, "UPDATE units SET position_at = now() WHERE lat IS NOT NULL")
    ctx = ConsoleContext(session=session, bridge=EventBridge(session))
    panel = make_panel(ctx)
    panel.resize(1000, 700)
    panel.show()
    deadline = time.monotonic() + 30
    while not (panel.is_loaded and panel.feed.loaded) and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    assert panel.is_loaded and panel.feed.loaded
    yield ctx, panel
    panel.shutdown()
    ctx.bridge.close()
    session.close()
    panel.close()
    panel.deleteLater()
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()
    os.environ.pop("CONTROLROOM_MAP_CACHE", None)


@pytest.fixture(scope="module")
def other(db_url):
    """Another despatcher's session (a different console writing to the same database)."""
    s = open_session(db_url, "despatch.south", "demo", "S-OTHER-1")
    yield s
    s.close()


def test_initial_load_shows_seeded_units_with_current_area_owners(qtbot, console):
    ctx, panel = console
    with ctx.session.engine.connect() as conn:
        placed = conn.execute(text("SELECT count(*) FROM units WHERE lat IS NOT NULL")).scalar_one()
    assert placed >= 50
    wait_js(qtbot, panel, "crmap.unitCount()", lambda n: n == placed)
    unit = js(qtbot, panel, f"crmap.getUnit('{UNIT}')")
    assert unit["capabilities"] == ["IRV"] and unit["stale"] is False
    assert js(qtbot, panel, "crmap.getArea('oxon')")["room"] == ctx.session.ctx.area_rooms["oxon"]
    assert panel.interceptor.blocked == [] and panel.js_errors == []


def test_incident_created_by_another_console_appears_on_map(qtbot, console, other):
    _, panel = console
    inc = other.incidents.create(channel="999", incident_type="RTC", summary="Two cars, one on its roof",
                                 lat=MK[0], lon=MK[1], grade="G1")
    on_map = wait_js(qtbot, panel, f"crmap.getIncident({inc.id})", lambda i: i is not None)
    assert (on_map["urn"], on_map["grade"], on_map["type"]) == (inc.urn, "G1", "RTC")
    assert (on_map["lat"], on_map["lon"]) == pytest.approx(MK)
    assert on_map["colour"] == palette.GRADE_COLOURS["G1"]


def test_unit_position_from_another_session_moves_marker(qtbot, console, other):
    _, panel = console
    assert other.units.update_position(UNIT, OXFORD[0] + 0.01, OXFORD[1] + 0.02)
    unit = wait_js(qtbot, panel, f"crmap.getUnit('{UNIT}')",
                   lambda u: u["lat"] == pytest.approx(OXFORD[0] + 0.01))
    assert unit["lon"] == pytest.approx(OXFORD[1] + 0.02)
    assert unit["trail"][-1] == pytest.approx([OXFORD[0] + 0.01, OXFORD[1] + 0.02])
    assert unit["capabilities"] == ["IRV"] and unit["stale"] is False


def test_clicking_incident_marker_selects_it_for_the_console(qtbot, console, other):
    ctx, panel = console
    inc = other.incidents.create(channel="999", incident_type="BURGLARY", summary="Break-in in progress",
                                 lat=READING[0], lon=READING[1], grade="G2")
    wait_js(qtbot, panel, f"crmap.getIncident({inc.id})", lambda i: i is not None)
    wait_js(qtbot, panel, "crmap.bridgeConnected()", bool)
    with qtbot.waitSignal(ctx.selection.incidentSelected, timeout=3000) as blocker:
        panel.evaluate(f"crmap._clickIncident({inc.id})", lambda _r: None)
    assert blocker.args == [inc.id]
    # ...and the console's selection highlights it on the map (as when picked in the list)
    assert wait_js(qtbot, panel, f"crmap.getIncident({inc.id})", lambda i: i["selected"])["id"] == inc.id


def test_clicking_unit_and_right_click_reach_console_selection(qtbot, console):
    ctx, panel = console
    wait_js(qtbot, panel, "crmap.bridgeConnected()", bool)
    with qtbot.waitSignal(ctx.selection.unitSelected, timeout=3000) as blocker:
        panel.evaluate(f"crmap._clickUnit('{UNIT}')", lambda _r: None)
    assert blocker.args == [UNIT]
    panel.evaluate(f"crmap._contextMenu({MK[0]}, {MK[1]})", lambda _r: None)
    qtbot.waitUntil(lambda: panel._menu is not None, timeout=3000)
    with qtbot.waitSignal(ctx.selection.newIncidentAt, timeout=3000) as blocker:
        panel._menu.actions()[0].trigger()
    assert blocker.args == [pytest.approx(MK[0]), pytest.approx(MK[1])]


def test_closed_incident_leaves_the_map(qtbot, console, other):
    _, panel = console
    inc = other.incidents.create(channel="999", incident_type="CONCERN", summary="Concern for welfare",
                                 lat=OXFORD[0], lon=OXFORD[1], grade="G3")
    wait_js(qtbot, panel, f"crmap.getIncident({inc.id})", lambda i: i is not None)
    other.incidents.close(inc.id, closing_code="NFA", result="Person found safe and well")
    wait_js(qtbot, panel, f"crmap.getIncident({inc.id})", lambda i: i is None)


def test_silent_avl_is_greyed_after_sixty_seconds(qtbot, console, other):
    ctx, panel = console
    real_clock = ctx.clock
    assert other.units.update_position("MK11", MK[0], MK[1])
    wait_js(qtbot, panel, "crmap.getUnit('MK11')", lambda u: u["lat"] == pytest.approx(MK[0]))
    ctx.clock = lambda: real_clock() + timedelta(seconds=61)
    try:
        panel.feed.check_stale()
        unit = wait_js(qtbot, panel, "crmap.getUnit('MK11')", lambda u: u["stale"])
        assert unit["colour"] == palette.STALE_COLOUR
    finally:
        ctx.clock = real_clock
    panel.feed.check_stale()  # back on the real clock its fix is fresh again
    assert wait_js(qtbot, panel, "crmap.getUnit('MK11')", lambda u: not u["stale"])["colour"] != palette.STALE_COLOUR


def test_base_map_is_built_once_and_rebuilt_when_owners_change(tmp_path):
    areas = cache.load_geojson(cache.MAPS_DIR / "areas.geojson")
    first = cache.ensure_base_map(areas, palette.ROOM_COLOURS, training=False, root=tmp_path)
    stamp = first.stat().st_mtime_ns
    assert cache.ensure_base_map(areas, palette.ROOM_COLOURS, training=False, root=tmp_path) == first
    assert first.stat().st_mtime_ns == stamp
    moved = json.loads(json.dumps(areas))
    moved["features"][0]["properties"]["room"] = "south" if areas["features"][0]["properties"]["room"] == "north" else "north"
    again = cache.ensure_base_map(moved, palette.ROOM_COLOURS, training=False, root=tmp_path)
    trained = cache.ensure_base_map(areas, palette.ROOM_COLOURS, training=True, root=tmp_path)
    assert len({first.parent, again.parent, trained.parent}) == 3
    assert trained.parent.name.startswith("training-") and first.parent.name.startswith("live-")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.parent.name for p in (first, again, trained))
