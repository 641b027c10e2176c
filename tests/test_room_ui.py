"""Room-aware console UI: rooms in the status bar, banner when areas change hands, DB red, scope."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QVBoxLayout, QWidget

from controlroom.errors import InvalidInput
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.kit.room_banner import MINE, VIRTUAL, RoomBanner, ScopeToggle, scope
from ui.shell.status_bar import ConsoleStatusBar


@pytest.fixture
def console(qtbot, open_as):
    s = open_as("despatch.north")
    ctx = ConsoleContext(session=s, bridge=EventBridge(s))
    host = QWidget()
    lay = QVBoxLayout(host)
    banner, bar = RoomBanner(ctx), ConsoleStatusBar(ctx)
    lay.addWidget(banner)
    lay.addWidget(QWidget(), 1)
    lay.addWidget(bar)
    host.resize(1400, 160)
    qtbot.addWidget(host)
    host.show()
    assert s.events.listener.wait_connected()
    yield ctx, host, banner, bar
    insp = open_as("inspector.north")
    try:
        insp.rooms.hand_back(reason="tidy")
    except InvalidInput:
        pass
    ctx.bridge.close()


def test_status_bar_shows_rooms_staffed_and_their_areas(qtbot, console):
    ctx, host, banner, bar = console
    qtbot.waitUntil(lambda: "North (you): ● staffed" in bar.rooms.text(), timeout=5000)
    assert "mk" in bar.rooms.text() and "oxon" in bar.rooms.text()
    assert ctx.session.rooms._hb_thread is not None  # the console beats while it is open


def test_banner_and_status_bar_follow_an_area_transfer_live(qtbot, console, open_as):
    ctx, host, banner, bar = console
    assert banner.isHidden()
    open_as("super.south").rooms.transfer_area("berks-east", "south", reason="North flooded")
    qtbot.waitUntil(lambda: banner.isVisible() and "berks-east" in banner.label.text(), timeout=3000)
    assert "North flooded" in banner.label.text() and "South" in banner.label.text()
    qtbot.waitUntil(lambda: "⇄" in bar.rooms.text(), timeout=3000)
    host.grab().save("/tmp/9-room-banner-transfer.png")
    banner.close_btn.click()
    assert banner.isHidden()


def test_database_outage_turns_status_bar_red_and_banner_stays_until_back(qtbot, console):
    ctx, host, banner, bar = console
    ctx.bridge.connectionChanged.emit(False)  # what the listener emits when the server goes
    qtbot.waitUntil(lambda: banner.isVisible(), timeout=2000)
    assert "UNREACHABLE" in bar.db.text() and "background" in bar.db.styleSheet()
    assert "What you type is kept" in banner.label.text() and banner.close_btn.isHidden()
    host.grab().save("/tmp/9-db-outage.png")
    ctx.bridge.connectionChanged.emit(True)
    qtbot.waitUntil(lambda: "restored" in banner.label.text(), timeout=2000)
    assert "connected" in bar.db.text() and bar.db.styleSheet() == ""


def test_my_room_toggle_is_shared_by_every_list(qtbot, console):
    ctx = console[0]
    a, b = ScopeToggle(ctx), ScopeToggle(ctx)
    qtbot.addWidget(a), qtbot.addWidget(b)
    seen = []
    scope(ctx).changed.connect(seen.append)
    assert scope(ctx).accepts("south")  # virtual room by default
    a.buttons[MINE].click()
    assert b.buttons[MINE].isChecked() and seen == [MINE]
    assert scope(ctx).accepts("north") and not scope(ctx).accepts("south")
    b.buttons[VIRTUAL].click()
    assert a.buttons[VIRTUAL].isChecked() and seen == [MINE, VIRTUAL]
