"""The console shell: status bar facts, dock layout kept per user, themes, command line, ops."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt

from controlroom.errors import Unavailable
from ui.kit import ops
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.shell.main_window import MainWindow


@pytest.fixture
def settings_dir(tmp_path, monkeypatch):
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path))
    return tmp_path


def make_window(qtbot, session, **kw) -> MainWindow:
    ctx = ConsoleContext(session=session, bridge=EventBridge(session))
    win = MainWindow(ctx, **kw)
    qtbot.addWidget(win)
    return win


def test_status_bar_shows_user_role_room_and_connection(qtbot, open_as, settings_dir):
    win = make_window(qtbot, open_as("despatch.south"))
    bar = win.status
    assert "despatch.south" in bar.user.text()
    assert bar.role.text() == "Despatcher"
    assert "South" in bar.room.text()
    qtbot.waitUntil(lambda: "connected" in bar.db.text(), timeout=5000)
    bar.set_db_state(False)
    assert "UNREACHABLE" in bar.db.text() and bar.db.property("state") == "down"


def test_live_console_title_has_no_training_mark(qtbot, open_as, settings_dir):
    win = make_window(qtbot, open_as("handler.north"))
    assert not win.windowTitle().startswith("TRAINING") and win.band is None


def test_dock_layout_is_saved_per_user_and_restored(qtbot, open_as, settings_dir):
    session = open_as("despatch.north")
    win = make_window(qtbot, session)
    win.show()
    dock = win.docks["units"]
    win.addDockWidget(Qt.LeftDockWidgetArea, dock)
    assert win.dockWidgetArea(dock) == Qt.LeftDockWidgetArea
    win.close()
    again = make_window(qtbot, session)
    again.show()
    assert again.dockWidgetArea(again.docks["units"]) == Qt.LeftDockWidgetArea
    other = make_window(qtbot, open_as("handler.north"))
    other.show()
    assert other.dockWidgetArea(other.docks["units"]) == Qt.RightDockWidgetArea


def test_night_shift_theme_applies_and_is_remembered(qtbot, open_as, settings_dir):
    from PySide6.QtWidgets import QApplication
    session = open_as("inspector.north")
    win = make_window(qtbot, session)
    win.apply_theme("dark")
    assert "161b22" in QApplication.instance().styleSheet()
    again = make_window(qtbot, session)
    assert again.theme == "dark"
    again.apply_theme("light")


def test_unknown_command_says_so(qtbot, open_as, settings_dir):
    win = make_window(qtbot, open_as("handler.north"))
    win.command_line.run("XYZZY 1 2")
    assert "Unknown command" in win.command_line.message.text()


def test_ops_report_errors_on_the_gui_thread_without_blocking(qtbot):
    seen = []

    def boom():
        raise Unavailable("database down")

    ops.run_op(None, boom, on_error=seen.append)
    qtbot.waitUntil(lambda: bool(seen), timeout=3000)
    assert isinstance(seen[0], Unavailable)
    ops.run_op(None, lambda: 41 + 1, on_done=seen.append)
    qtbot.waitUntil(lambda: 42 in seen, timeout=3000)
