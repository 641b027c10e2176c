"""Soak: the quiet 8-hour shift played by the scenario player, compressed, into a training database
while a full offscreen console (MainWindow, real ConsoleContext) follows it. RSS after warm-up
must not grow > 5 %; any Qt warning or unhandled exception (any thread) fails the run.

SOAK_SECONDS: wall-clock length of the compressed shift (default 120; the full bench runs 600).
"""
from __future__ import annotations

import os
import sys
import threading
import time

import psutil
import pytest

from tools.bench.common import load_average
from controlroom.demo.scenario import ScenarioPlayer, load_scenario
from controlroom.session import open_session

from ..test_training import _fresh_training_db
from .test_load import StallProbe

pytestmark = pytest.mark.perf

SECONDS = float(os.environ.get("SOAK_SECONDS", "120"))
WARMUP = 0.25  # first quarter of the run: caches, fonts, map page, model growth to steady state


class Hooks:
    """Unhandled exceptions on any thread, recorded not printed (Qt warnings: pytest-qt's qtlog,
    whose handler is already installed; a second Python message handler crashed under QtWebEngine)."""

    def __init__(self) -> None:
        self.exceptions: list[str] = []

    def __enter__(self) -> "Hooks":
        self._prev_sys, self._prev_thread = sys.excepthook, threading.excepthook
        sys.excepthook = lambda t, v, tb: self.exceptions.append(f"{t.__name__}: {v}")
        threading.excepthook = lambda a: self.exceptions.append(
            f"{a.exc_type.__name__} in {getattr(a.thread, 'name', '?')}: {a.exc_value}")
        return self

    def __exit__(self, *exc: object) -> None:
        sys.excepthook, threading.excepthook = self._prev_sys, self._prev_thread


def qt_warnings(qtlog) -> list[str]:
    from PySide6.QtCore import QtMsgType
    bad = (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
    return [f"{r.type.name}: {r.message}" for r in qtlog.records if r.type in bad]


def test_eight_hour_shift_compressed_leaks_nothing_and_warns_nothing(qtbot, qtlog, pg_server, tmp_path):
    from ui.kit.context import ConsoleContext
    from ui.kit.event_bridge import EventBridge
    from ui.shell.main_window import MainWindow

    os.environ["CONTROLROOM_MAP_CACHE"] = str(tmp_path / "mapcache")
    url = _fresh_training_db(pg_server, "trn_soak")
    scenario = load_scenario("quiet_shift")
    factor = scenario.duration / SECONDS  # scenario seconds per wall second
    trainer = open_session(url, "trainer", "demo", "T-SOAK", training=True)
    trainee = open_session(url, "despatch.north", "demo", "T-SOAK-N", training=True)
    proc = psutil.Process()
    rss: list[tuple[float, int]] = []
    stop = threading.Event()
    with Hooks() as hooks:
        ctx = ConsoleContext(session=trainee, bridge=EventBridge(trainee))
        window = MainWindow(ctx)
        window.resize(1680, 1000)
        window.show()
        qtbot.wait(1500)  # the map page loads
        player = ScenarioPlayer(trainer, scenario, clock=lambda: time.monotonic() * factor)
        player.reset()

        def drive() -> None:  # what the trainer window's timer does, off the trainee's GUI thread
            player.start()
            while not stop.is_set() and player.state == "running":
                player.tick()
                stop.wait(0.05)

        driver = threading.Thread(target=drive, name="scenario-player", daemon=True)
        probe = StallProbe(10)
        probe.start()
        t0 = time.monotonic()
        driver.start()
        while driver.is_alive() and time.monotonic() - t0 < SECONDS + 120:
            qtbot.wait(1000)
            rss.append((time.monotonic() - t0, proc.memory_info().rss))
        stop.set()
        driver.join(timeout=10)
        qtbot.wait(1000)  # the last events reach the console
        probe.stop()
        wall = time.monotonic() - t0
        window.close()
        ctx.bridge.close()
        window.deleteLater()  # the map's web page must go before its profile (Qt warns otherwise)
        qtbot.wait(300)
    trainer.close()
    trainee.close()
    os.environ.pop("CONTROLROOM_MAP_CACHE", None)

    warm = [r for t, r in rss if t >= WARMUP * wall]
    base, end, peak = warm[0], warm[-1], max(warm)
    growth = (end - base) / base * 100
    summary = player.summary()
    print()
    print(f"soak_shift_compressed_into: {wall:.0f} s (x{factor:.0f}; 8 h scenario)")
    print(f"soak_scenario_events: {summary['ok']} ok / {summary['failed']} failed / {summary['skipped']} skipped")
    print(f"soak_rss_after_warmup: {base / 2**20:.0f} MB")
    print(f"soak_rss_end: {end / 2**20:.0f} MB (peak {peak / 2**20:.0f} MB)")
    print(f"soak_rss_growth_after_warmup: {growth:.1f} % (target <= 5)")
    print(f"soak_gui_max_stall: {max(probe.stalls, default=0):.0f} ms")
    warnings = qt_warnings(qtlog)
    print(f"soak_qt_warnings: {len(warnings)} count")
    print(f"soak_unhandled_exceptions: {len(hooks.exceptions)} count")
    print(f"load_average_after: {load_average()}")
    assert not hooks.exceptions, hooks.exceptions[:5]
    assert not warnings, warnings[:5]
    assert player.state == "finished" and summary["failed"] == 0, [f for f in player.fired if f.outcome != "ok"][:5]
    assert growth <= 5.0
