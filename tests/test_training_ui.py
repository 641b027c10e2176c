"""Training consoles are unmistakable; the trainer window drives a scenario and exports a debrief."""
from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget

from controlroom.demo.debrief import WATERMARK
from controlroom.demo.scenario import ManualClock
from controlroom.session import open_session
from ui.kit import ops
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.shell.main_window import MainWindow
from ui.training.trainer_window import TrainerWindow
from ui.shell.training_band import BAND_TEXT, make_training_band

from .test_training import _fresh_training_db

_n = itertools.count(1)


@pytest.fixture(scope="module")
def trn_url(pg_server) -> str:
    return _fresh_training_db(pg_server, "trn_test_training_ui")


@pytest.fixture
def settings_dir(tmp_path):
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path))
    return tmp_path


@pytest.fixture
def open_trn(trn_url):
    opened = []

    def _open(username: str):
        s = open_session(trn_url, username, "demo", f"TU-{next(_n):03d}", training=True)
        opened.append(s)
        return s

    yield _open
    ops.wait_all()
    for s in opened:
        s.close()


def context(session) -> ConsoleContext:
    return ConsoleContext(session=session, bridge=EventBridge(session))


def bands(win: QWidget) -> list[QWidget]:
    return [w for w in win.findChildren(QWidget, "trainingBand") if w.isVisibleTo(win)]


def test_training_console_shows_the_red_band_and_title_live_console_does_not(qtbot, open_trn, open_as,
                                                                             settings_dir):
    trn = MainWindow(context(open_trn("handler.north")))
    live = MainWindow(context(open_as("handler.north")))
    for w in (trn, live):
        qtbot.addWidget(w)
        w.show()
    assert trn.windowTitle().startswith("TRAINING — ") and not live.windowTitle().startswith("TRAINING")
    assert len(bands(trn)) == 1 and bands(live) == []
    band = bands(trn)[0]
    assert band.label.text() == BAND_TEXT and band.height() > 20
    assert band.grab().toImage().pixelColor(3, 3).name() == "#c62828"  # red whatever the theme


def test_band_follows_the_scenario_clock_the_trainer_announces(qtbot, open_trn):
    trainee = context(open_trn("despatch.north"))
    band = make_training_band(trainee)
    qtbot.addWidget(band)
    open_trn("trainer").exercise.announce("started", scenario="firearms_major", position=720, speed=4,
                                          state="running")
    qtbot.waitUntil(lambda: "firearms_major" in band.scenario.text(), timeout=5000)
    assert "x4" in band.scenario.text() and "T+0:12:00" in band.scenario.text()
    late = make_training_band(context(open_trn("handler.south")))  # signs in mid-exercise
    qtbot.addWidget(late)
    qtbot.waitUntil(lambda: "T+0:12:00" in late.scenario.text(), timeout=5000)


def test_trainer_window_runs_a_scenario_and_exports_a_watermarked_debrief(qtbot, open_trn, tmp_path):
    clock = ManualClock()
    win = TrainerWindow(context(open_trn("trainer")), clock=clock, confirm=False)
    qtbot.addWidget(win)
    trainee = open_trn("handler.north")
    win.load("firearms_major")
    qtbot.waitUntil(lambda: not win._busy and win.start_btn.isEnabled(), timeout=10000)
    assert win.script.rowCount() == len(win.player.scenario.events)
    win.set_speed(16)
    qtbot.waitUntil(lambda: win.player.speed == 16 and not win._busy, timeout=5000)
    win.start()
    qtbot.waitUntil(lambda: win.player.state == "running" and not win._busy, timeout=5000)
    assert win.pause_btn.isEnabled() and not win.start_btn.isEnabled()
    clock.advance(50)  # x16: 800 s of scenario, past the firearms call at T+12:00
    qtbot.waitUntil(lambda: "f1" in win.player.refs, timeout=10000)
    trainee.incidents.add_log(win.player.refs["f1"].id, "Trainee: armed units informed")
    qtbot.waitUntil(lambda: win.actions.rowCount() == 1, timeout=5000)
    assert win.actions.data(win.actions.index(0, 1)) == "handler.north"
    assert win.expects.rowCount() == len(win.player.scenario.expectations)
    win.pause()
    qtbot.waitUntil(lambda: win.player.state == "paused", timeout=5000)
    pos = win.player.position
    clock.advance(100)
    assert win.player.position == pos
    for fmt in ("txt", "html", "pdf"):
        out = win.export_debrief(tmp_path / f"debrief.{fmt}", fmt)
        assert out.stat().st_size > 500
    assert WATERMARK in (tmp_path / "debrief.txt").read_text()
    assert "Trainee: armed units informed" in (tmp_path / "debrief.html").read_text()
    assert (tmp_path / "debrief.pdf").read_bytes().startswith(b"%PDF")
    win.reset()
    qtbot.waitUntil(lambda: win.player.state == "ready" and not win._busy, timeout=10000)
    qtbot.waitUntil(lambda: win.actions.rowCount() == 0, timeout=5000)
    assert trainee.incidents.list_open() == []


def test_trainer_panel_is_a_placeholder_on_a_live_console(qtbot, open_as):
    from ui.training.trainer_window import make_panel
    w = make_panel(context(open_as("trainer")))
    qtbot.addWidget(w)
    assert not isinstance(w, TrainerWindow) and "training consoles only" in w.text()
