"""Load: 20 consoles (separate processes) working incidents at >= 200 actions/s on one database,
while 2 offscreen GUI consoles (real EventBridge + incident list model) receive every event.

LOAD_SECONDS (default 60; the full bench runs 300), LOAD_CONSOLES (20), LOAD_RATE (200 actions/s).
"""
from __future__ import annotations

import os
import time
from collections import defaultdict
from datetime import datetime, timezone

import pytest

from tools.bench.common import Fleet, add_units, count_events, load_average, max_seq, pct

pytestmark = pytest.mark.perf

SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
CONSOLES = int(os.environ.get("LOAD_CONSOLES", "20"))
RATE = float(os.environ.get("LOAD_RATE", "200"))
HOT = ["HOT1", "HOT2", "HOT3"]  # every console competes for these: the expected Conflicts


class StallProbe:
    """A QTimer that should fire every `interval_ms`; lateness is how long the GUI thread was busy."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import QTimer
        self.interval = interval_ms / 1000
        self.stalls: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.stalls.clear()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.stalls.append(max(0.0, now - self._last - self.interval) * 1000)
        self._last = now


class GuiConsole:
    """What a console's incident list does with events, plus a propagation probe on the GUI thread."""

    def __init__(self, session) -> None:
        from ui.kit.event_bridge import EventBridge
        from ui.incidents.model import IncidentTableModel
        self.session = session
        self.model = IncidentTableModel(lambda: datetime.now(timezone.utc))
        self.model.load(session.incidents.list_open(), session.incidents.assigned_units())
        self.bridge = EventBridge(session)
        self.seqs: set[int] = set()
        self.delays: list[float] = []
        self.counting = False
        self.bridge.event.connect(self._on_event)

    def _on_event(self, ev) -> None:
        self.model.apply(ev)
        self.seqs.add(ev.seq)
        if self.counting and ev.at is not None:
            self.delays.append((time.time() - ev.at.timestamp()) * 1000)


def test_twenty_consoles_at_two_hundred_actions_per_second(qtbot, open_as, fresh_db_url):
    n = CONSOLES
    own = {i: [f"L{i:02d}A", f"L{i:02d}B"] for i in range(n)}
    add_units(fresh_db_url, [cs for v in own.values() for cs in v] + HOT)
    guis = [GuiConsole(open_as(u, url=fresh_db_url)) for u in ("despatch.north", "despatch.south")]
    for g in guis:
        assert g.session.events.listener.wait_connected()
    fleet = Fleet()
    users = ["despatch.north", "despatch.south"]
    for i in range(n):
        fleet.spawn(f"console{i:02d}", "tools.bench.worker", "--url", fresh_db_url, "--user", users[i % 2],
                    "--console", f"LOAD-{i:02d}", "--rate", f"{RATE / n:.4f}", "--duration", str(SECONDS),
                    "--units", ",".join(own[i]), "--hot", ",".join(HOT), "--seed", str(i), "--wait-go")
    probe = StallProbe()
    try:
        fleet.wait_ready(timeout=180)
        qtbot.wait(300)
        first_seq = max_seq(fresh_db_url)
        for g in guis:
            g.counting = True
        probe.start()
        fleet.go()
        deadline = time.monotonic() + SECONDS + 60
        while fleet.running() and time.monotonic() < deadline:
            qtbot.wait(50)
        last_seq = max_seq(fresh_db_url)
        qtbot.waitUntil(lambda: all(max(g.seqs, default=0) >= last_seq for g in guis), timeout=30_000)
        probe.stop()
        results = fleet.results()
    finally:
        fleet.kill()
        for g in guis:
            g.bridge.close()

    lat: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    samples: list[str] = []
    for r in results:
        for k, v in r["lat"].items():
            lat[k] += v
        for k, v in r["errors"].items():
            errors[k] += v
        samples += r["error_samples"]
    actions = sum(r["actions"] for r in results)
    elapsed = max(r["elapsed"] for r in results)
    written = count_events(fresh_db_url, first_seq)
    print()
    print(f"load_consoles: {n} processes (+2 GUI consoles)")
    print(f"load_duration: {elapsed:.1f} s")
    print(f"load_throughput: {actions / elapsed:.1f} actions/s (target >= {RATE:.0f})")
    print(f"load_events_written: {written} events")
    for k in ("create", "update", "assign", "arrive", "clear", "close"):
        v = lat.get(k, [])
        print(f"load_{k} p50: {pct(v, 50):.2f} ms")
        print(f"load_{k} p95: {pct(v, 95):.2f} ms")
        print(f"load_{k} p99: {pct(v, 99):.2f} ms")
    every = [d for g in guis for d in g.delays]
    print(f"load_propagation p50: {pct(every, 50):.2f} ms")
    print(f"load_propagation p99: {pct(every, 99):.2f} ms")
    print(f"load_propagation max: {max(every, default=float('nan')):.1f} ms")
    print(f"load_gui_max_stall: {max(probe.stalls, default=0):.1f} ms")
    print(f"load_gui_p99_stall: {pct(probe.stalls, 99):.1f} ms")
    print(f"load_conflicts: {errors.get('Conflict', 0)} count")
    print(f"load_other_errors: {sum(v for k, v in errors.items() if k != 'Conflict')} count")
    print(f"load_worst_console_behind_schedule: {max(r['max_behind_s'] for r in results):.2f} s")
    print(f"load_open_rows_in_gui_list: {guis[0].model.rowCount()} rows")
    print(f"load_average_after: {load_average()}")
    unexpected = {k: v for k, v in errors.items() if k != "Conflict"}
    assert not unexpected, f"unexpected errors {unexpected}: {samples}"
    for g in guis:  # every committed event reached both GUI consoles
        assert len({s for s in g.seqs if s > first_seq}) == written
    assert actions / elapsed >= 0.95 * RATE, f"only {actions / elapsed:.0f} actions/s"
