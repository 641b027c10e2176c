"""The role soak's console process: four consoles (handler, despatcher, supervisor, inspector) in
their default layouts on one training database, the compressed 8-hour shift played into it, and
every panel of every console repainted (`grab()`) once a second. One JSON line per second on
stdout (`STAT {...}`), then `DONE {...}`. Run by tests/perf/test_soak_roles.py in a child process
so that an abort (`none_dealloc`) is a figure, not a dead test runner.

    python -m tests.perf.soak_consoles URL SECONDS SETTINGS_DIR
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time

ROLES = ("handler.north", "despatch.north", "super.north", "inspector.north")


def singleton_refs() -> list[int]:
    return [sys.getrefcount(x) for x in (None, True, False)]


def main(url: str, seconds: float, settings_dir: str) -> int:
    import psutil
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    import ui  # noqa: F401  (the binding workarounds, unless CONTROLROOM_QT_WORKAROUNDS=off)
    from controlroom.demo.scenario import ScenarioPlayer, load_scenario
    from controlroom.session import open_session
    from ui.kit import qt_workarounds
    from ui.kit.context import ConsoleContext
    from ui.kit.event_bridge import EventBridge
    from ui.shell.main_window import MainWindow

    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, settings_dir)
    app = QApplication.instance() or QApplication([])
    windows = []
    for i, user in enumerate(ROLES):
        s = open_session(url, user, "demo", f"T-SOAK-{i}", training=True)
        w = MainWindow(ConsoleContext(session=s, bridge=EventBridge(s)), restore=False)
        w.resize(1680, 1000)
        w.show()
        windows.append(w)
    trainer = open_session(url, "trainer", "demo", "T-SOAK-TR", training=True)
    scenario = load_scenario("quiet_shift")
    factor = scenario.duration / seconds
    player = ScenarioPlayer(trainer, scenario, clock=lambda: time.monotonic() * factor)
    player.reset()
    stop = threading.Event()

    def drive() -> None:  # what the trainer window's timer does
        player.start()
        while not stop.is_set() and player.state == "running":
            player.tick()
            stop.wait(0.05)

    driver = threading.Thread(target=drive, name="scenario-player", daemon=True)
    proc = psutil.Process()
    t0 = time.monotonic()
    state = {"grabs": 0, "panels": sum(len(w.docks) for w in windows)}

    def tick() -> None:
        for w in windows:  # forced repaint: the window, and every dock's panel even when tabbed away
            w.grab()
            for dock in w.docks.values():
                if dock.widget() is not None:
                    dock.widget().grab()
                    state["grabs"] += 1
        stat = {"t": round(time.monotonic() - t0, 1), "rss": proc.memory_info().rss,
                "refs": singleton_refs(), "grabs": state["grabs"], "fired": len(player.fired)}
        print("STAT " + json.dumps(stat), flush=True)
        if not driver.is_alive() and stat["t"] > 5 or stat["t"] > seconds + 120:
            timer.stop()
            app.quit()

    timer = QTimer()
    timer.setInterval(1000)
    timer.timeout.connect(tick)
    timer.start()
    driver.start()
    print("START " + json.dumps({"panels": state["panels"], "patched": qt_workarounds.PATCHED,
                                 "reserve": qt_workarounds.STATE["reserve"]}), flush=True)
    app.exec()
    stop.set()
    driver.join(timeout=10)
    print("DONE " + json.dumps({"summary": player.summary(), "state": player.state,
                                "wall": round(time.monotonic() - t0, 1)}), flush=True)
    for w in windows:
        w.ctx.bridge.close()
        w.close()
        w.ctx.session.close()
    trainer.close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
    os.environ.setdefault("QSG_RHI_BACKEND", "null")
    sys.exit(main(sys.argv[1], float(sys.argv[2]), sys.argv[3]))
