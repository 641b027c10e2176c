"""Fallback mode indicator: an amber band on every live console while a room works from training."""
from __future__ import annotations

from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.shell.fallback_banner import FallbackBanner


def make_banner(qtbot, session) -> FallbackBanner:
    ctx = ConsoleContext(session=session, bridge=EventBridge(session))
    banner = FallbackBanner(ctx)
    qtbot.addWidget(banner)
    return banner


def test_inspector_switching_fallback_shows_then_hides_the_band_on_another_console(qtbot, open_as):
    banner = make_banner(qtbot, open_as("despatch.south"))
    qtbot.waitUntil(lambda: len(banner.states) == 2, timeout=5000)  # initial read: both rooms off
    assert banner.isHidden()
    insp = open_as("inspector.north")
    insp.exercise.set_fallback(on=True, reason="North room evacuated: fire alarm")
    qtbot.waitUntil(banner.isVisible, timeout=5000)
    text = banner.label.text()
    assert "FALLBACK ROOM ACTIVE" in text and "North" in text and "inspector.north" in text
    assert "since " in text and "fire alarm" in text
    insp.exercise.set_fallback(on=False)
    qtbot.waitUntil(banner.isHidden, timeout=5000)


def test_console_opened_while_fallback_is_on_shows_it_at_once(qtbot, open_as):
    insp = open_as("inspector.south")
    insp.exercise.set_fallback(on=True, reason="Power cut at Abingdon")
    try:
        banner = make_banner(qtbot, open_as("handler.north"))
        qtbot.waitUntil(banner.isVisible, timeout=5000)
        assert "South" in banner.label.text() and "inspector.south" in banner.label.text()
    finally:
        insp.exercise.set_fallback(on=False)
