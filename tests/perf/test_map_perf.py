"""Map benchmark: 2,000 units, 400 AVL fixes/s for 30 s through the real event path into a console.

The writer is a separate process (as the AVL gateway is in service), calling
`session.units.update_positions` (one statement per tick, one `unit.position` event per fix).
The console side is the real make_panel(ctx): MapPanel + MapFeed on an EventBridge.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

from tests import qt_env  # noqa: F401  (headless Qt/Chromium settings, before PySide6 is imported)
import pytest

pytestmark = pytest.mark.perf

UNITS = 2000
RATE = 400          # fixes per second
DURATION = float(os.environ.get("MAP_PERF_SECONDS", "30"))  # seconds of writing
TICK = 0.05         # the writer sends RATE * TICK fixes per statement
WARM_UP = 8.0       # seconds before the memory baseline is taken
IDLE = 5.0          # seconds of probing with no traffic (the machine's own scheduling noise)


def writer(url: str, rate: int, duration: float, tick: float) -> None:
    """Run in a subprocess: random-walk units at `rate` fixes/s; print a JSON summary."""
    from datetime import datetime, timezone

    from controlroom.session import open_session

    rng = random.Random(5)
    s = open_session(url, "despatch.north", "demo", "AVL-GW-1")
    units = {u.callsign: [u.lat, u.lon] for u in s.units.list() if u.lat is not None}
    callsigns = sorted(units)
    per_tick = max(1, round(rate * tick))
    sent, t0, k = 0, time.monotonic(), 0
    while time.monotonic() - t0 < duration:
        batch = []
        for cs in rng.sample(callsigns, per_tick):
            pos = units[cs]
            pos[0] += rng.uniform(-0.0008, 0.0008)
            pos[1] += rng.uniform(-0.0012, 0.0012)
            batch.append((cs, pos[0], pos[1], datetime.now(timezone.utc)))
        sent += s.units.update_positions(batch)
        k += 1
        sleep = t0 + k * tick - time.monotonic()  # fixed schedule: no drift, catch up if late
        if sleep > 0:
            time.sleep(sleep)
    elapsed = time.monotonic() - t0
    last = {cs: units[cs] for cs in callsigns[:5]}
    s.close()
    print(json.dumps({"sent": sent, "elapsed": elapsed, "last": last}))


def _add_units(url: str, total: int) -> int:
    """Top the seeded force up to `total` units near the seeded ones (same areas, fresh fixes)."""
    from sqlalchemy import text

    from controlroom.db.engine import make_engine
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            seeded = conn.execute(text("SELECT callsign, home_area_code, lat, lon FROM units "
                                       "WHERE lat IS NOT NULL ORDER BY callsign")).all()
            rng = random.Random(7)
            rows = []
            for i in range(total - len(seeded)):
                _, area, lat, lon = seeded[i % len(seeded)]
                rows.append({"cs": f"B{i:04d}", "a": area, "lat": lat + rng.uniform(-0.02, 0.02),
                             "lon": lon + rng.uniform(-0.03, 0.03),
                             "st": rng.choice(["available", "available", "at_station", "en_route"])})
            conn.execute(text("INSERT INTO units (callsign, capabilities, home_area_code, area_code, status, "
                              "lat, lon, position_at, status_at) VALUES (:cs, ARRAY['IRV'], :a, :a, :st, "
                              ":lat, :lon, now(), now())"), rows)
            conn.execute(text("UPDATE units SET position_at = now()"))
            return conn.execute(text("SELECT count(*) FROM units WHERE lat IS NOT NULL")).scalar_one()
    finally:
        engine.dispose()


def _rss(proc) -> tuple[int, int]:
    """(this process RSS, its child processes' RSS: the QtWebEngine renderer/GPU/utility)."""
    kids = 0
    for c in proc.children(recursive=True):
        try:
            kids += c.memory_info().rss
        except Exception:  # a helper process may exit between listing and reading
            pass
    return proc.memory_info().rss, kids


def _cpu(proc) -> tuple[float, float, float]:
    """CPU seconds so far: (GUI thread, whole console process, QtWebEngine child processes)."""
    gui = next((t.user_time + t.system_time for t in proc.threads() if t.id == proc.pid), 0.0)
    kids = 0.0
    for c in proc.children(recursive=True):
        try:
            kids += sum(c.cpu_times()[:2])
        except Exception:  # a helper process may exit between listing and reading
            pass
    return gui, sum(proc.cpu_times()[:2]), kids


def test_two_thousand_units_at_400_fixes_per_second(qapp, qtbot, fresh_db_url, tmp_path):
    import psutil
    from PySide6.QtCore import QElapsedTimer, Qt, QTimer

    from controlroom.session import open_session
    from ui.kit.context import ConsoleContext
    from ui.kit.event_bridge import EventBridge
    from ui.map.panel import make_panel

    placed = _add_units(fresh_db_url, UNITS)
    assert placed == UNITS
    os.environ["CONTROLROOM_MAP_CACHE"] = str(tmp_path / "mapcache")
    session = open_session(fresh_db_url, "despatch.north", "demo", "N-PERF-1")
    ctx = ConsoleContext(session=session, bridge=EventBridge(session))
    panel = make_panel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1400, 900)
    panel.show()
    received = [0]
    ctx.bridge.event.connect(lambda ev: received.__setitem__(0, received[0] + (ev.kind == "unit.position")))

    from tests.test_map_live import js, wait_js
    qtbot.waitUntil(lambda: panel.is_loaded and panel.feed.loaded, timeout=60000)
    wait_js(qtbot, panel, "crmap.unitCount()", lambda n: n == UNITS, timeout=30000)

    # Timer-drift probe: a 10 ms precise timer; lateness = how long the event loop was blocked.
    clock, stalls, last = QElapsedTimer(), [], [0.0]
    clock.start()
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(10)

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        if last[0]:
            stalls.append(max(0.0, now - last[0] - 10.0))
        last[0] = now
    probe.timeout.connect(tick)

    proc = psutil.Process()
    code = (f"import sys; sys.path.insert(0, {os.getcwd()!r}); from tests.perf.test_map_perf import writer; "
            f"writer({fresh_db_url!r}, {RATE}, {DURATION}, {TICK})")
    # Noise floor: the same probe with the map loaded but no AVL traffic (shared, busy machine).
    probe.start()
    qtbot.wait(int(IDLE * 1000))
    probe.stop()
    idle_stalls, last[0] = sorted(stalls), 0.0
    stalls.clear()
    w = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        qtbot.waitUntil(lambda: received[0] > 0, timeout=20000)
        probe.start()
        t_start, calls_start = time.monotonic(), panel.js_calls
        cpu_start = _cpu(proc)
        qtbot.wait(int(WARM_UP * 1000))
        rss_warm = _rss(proc)
        t_warm, calls_warm = time.monotonic(), panel.js_calls
        while w.poll() is None:
            qtbot.wait(200)
        t_end, calls_end = time.monotonic(), panel.js_calls
        cpu_end = _cpu(proc)
        rss_end = _rss(proc)
        probe.stop()
        out, _ = w.communicate(timeout=30)
    finally:
        if w.poll() is None:
            w.kill()
    summary = json.loads(out.strip().splitlines()[-1])
    t_written = time.monotonic()
    qtbot.waitUntil(lambda: received[0] >= summary["sent"], timeout=30000)
    lag = time.monotonic() - t_written
    # The page ends where the writer left each unit.
    for cs, (lat, lon) in summary["last"].items():
        unit = wait_js(qtbot, panel, f"crmap.getUnit('{cs}')", lambda u: abs(u["lat"] - lat) < 1e-9, timeout=5000)
        assert unit["lon"] == pytest.approx(lon)
    on_page = js(qtbot, panel, "crmap.unitCount()")

    stalls.sort()
    max_stall = stalls[-1]
    p99 = stalls[int(0.99 * (len(stalls) - 1))]
    js_rate = (calls_end - calls_start) / (t_end - t_start)
    js_rate_steady = (calls_end - calls_warm) / (t_end - t_warm)
    grow_ui = (rss_end[0] - rss_warm[0]) / 2**20
    grow_web = (rss_end[1] - rss_warm[1]) / 2**20
    print()
    print(f"map_units: {on_page} units")
    print(f"map_fixes_written: {summary['sent'] / summary['elapsed']:.0f} per_s ({summary['sent']} in {summary['elapsed']:.1f} s)")
    print(f"map_fixes_received: {received[0] / (t_end - t_start):.0f} per_s")
    print(f"map_delivery_tail_after_writer_stopped: {lag * 1000:.0f} ms")
    print(f"map_ui_max_stall: {max_stall:.1f} ms (target <= 50)")
    print(f"map_ui_p99_stall: {p99:.1f} ms")
    print(f"map_ui_max_stall_idle_baseline: {idle_stalls[-1]:.1f} ms (no traffic, same machine load)")
    print(f"map_ui_p99_stall_idle_baseline: {idle_stalls[int(0.99 * (len(idle_stalls) - 1))]:.1f} ms")
    print(f"map_js_calls: {js_rate:.2f} per_s (steady {js_rate_steady:.2f}; target <= 4)")
    print(f"map_rss_ui_growth_after_warmup: {grow_ui:.1f} MB (from {rss_warm[0] / 2**20:.0f} MB)")
    print(f"map_rss_webengine_growth_after_warmup: {grow_web:.1f} MB (from {rss_warm[1] / 2**20:.0f} MB)")
    span = t_end - t_start
    print(f"map_cpu_gui_thread: {100 * (cpu_end[0] - cpu_start[0]) / span:.1f} % of a core")
    print(f"map_cpu_console_process: {100 * (cpu_end[1] - cpu_start[1]) / span:.1f} % of a core")
    print(f"map_cpu_webengine_renderer: {100 * (cpu_end[2] - cpu_start[2]) / span:.1f} % of a core")
    print(f"map_page_js_errors: {len(panel.js_errors)} count")

    panel.shutdown()
    ctx.bridge.close()
    session.close()
    os.environ.pop("CONTROLROOM_MAP_CACHE", None)
    assert summary["sent"] >= 0.9 * RATE * DURATION
    assert max_stall <= 50
    assert js_rate <= 4.1
    assert grow_ui < 15 and grow_web < 30
    assert panel.js_errors == [] and panel.interceptor.blocked == []
