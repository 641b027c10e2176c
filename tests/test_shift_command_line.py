"""Issue 18 item 6, replayed: the command line as seen on a real console window.

Replies were near-white on light grey in the day theme; HELP widened the main window to 5,518 px
and pushed Units and Talk groups off screen; a long REC reply squeezed the input to a few
characters; after an error the command stayed unselected, so the next one was appended to it.
"""
from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QPalette

from ui.kit import ops
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.shell.main_window import MainWindow

from .conftest import MK


def luminance(c: QColor) -> float:
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())


def contrast(a: QColor, b: QColor) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def painted_background(win: MainWindow, widget) -> QColor:
    """The colour the operator actually sees behind `widget`: the most common pixel there."""
    img = win.grab(widget.geometry().translated(widget.parentWidget().mapTo(win, widget.pos()) - widget.pos())
                   ).toImage()
    counts = Counter(img.pixel(x, y) for x in range(0, img.width(), 3) for y in range(0, img.height(), 3))
    return QColor.fromRgb(counts.most_common(1)[0][0])


@pytest.fixture
def window(qtbot, open_as, tmp_path):
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path))
    made = []

    def make(user: str = "despatch.north", theme: str = "light") -> MainWindow:
        s = open_as(user)
        win = MainWindow(ConsoleContext(session=s, bridge=EventBridge(s)), theme=theme, restore=False)
        qtbot.addWidget(win)
        win.resize(1366, 768)
        win.show()
        qtbot.waitExposed(win)
        made.append(win)
        return win
    yield make
    ops.wait_all()
    if made:
        made[-1].apply_theme("light")


def run(qtbot, line, text: str) -> None:
    line.edit.setText(text)
    with qtbot.waitSignal(line.executed, timeout=10000):
        line.run_current()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_replies_and_errors_are_readable_in_both_themes(qtbot, window, theme):
    win = window(theme=theme)
    line = win.command_line
    for text, error in (("HELP", False), ("XYZZY", True)):
        run(qtbot, line, text)
        qtbot.wait(50)
        reply = line.message
        assert bool(reply.property("error")) is error
        fg = reply.palette().color(QPalette.Text)
        bg = painted_background(win, reply)
        assert contrast(fg, bg) >= 4.5, f"{theme} {text}: {fg.name()} on {bg.name()} is {contrast(fg, bg):.2f}:1"
        bg_palette = reply.palette().color(QPalette.Base)
        assert contrast(fg, bg_palette) >= 4.5
    edit_fg, edit_bg = line.edit.palette().color(QPalette.Text), line.edit.palette().color(QPalette.Base)
    assert contrast(edit_fg, edit_bg) >= 4.5


def test_help_scrolls_in_the_reply_area_and_never_resizes_the_window(qtbot, window):
    win = window()
    width, edit_width = win.width(), win.command_line.edit.width()
    run(qtbot, win.command_line, "HELP")
    qtbot.wait(100)
    reply = win.command_line.message
    assert "REC" in reply.text() and "HELP" in reply.text()
    assert win.width() == width, f"HELP widened the main window to {win.width()} px"
    assert reply.verticalScrollBar().maximum() > 0  # the rest of the reply is a scroll away
    assert win.command_line.edit.width() >= min(edit_width, 360)
    assert win.docks["units"].isVisible() and win.docks["units"].geometry().right() <= win.width()


def test_long_rec_reply_never_squeezes_the_input(qtbot, window):
    win = window()
    s = win.ctx.session
    inc = s.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight", lat=MK[0], lon=MK[1],
                             grade="G1")
    width = win.width()
    run(qtbot, win.command_line, f"REC {inc.urn}")
    qtbot.wait(100)
    assert win.command_line.edit.width() >= 360 and win.width() == width


def test_after_an_error_the_command_is_selected_so_the_next_one_replaces_it(qtbot, window):
    from PySide6.QtCore import Qt
    win = window()
    line = win.command_line
    line.edit.setFocus()
    qtbot.keyClicks(line.edit, "G2 99999 regrade")
    with qtbot.waitSignal(line.executed, timeout=10000):
        qtbot.keyClick(line.edit, Qt.Key_Return)
    assert line.message.property("error") is True
    assert line.edit.selectedText() == "G2 99999 regrade"
    qtbot.keyClicks(line.edit, "HELP")
    assert line.edit.text() == "HELP"
