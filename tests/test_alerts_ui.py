"""The alarm band and alerts panel (issue 20), driven like an operator with pytest-qt."""
from __future__ import annotations

from PySide6.QtCore import Qt

from ui.shell.alarm_banner import AlarmBanner
from ui.alerts.panel import AlertsPanel, alert_store
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge


def _console(qtbot, session, *, locked=lambda: False):
    session.events.start()
    ctx = ConsoleContext(session=session, bridge=EventBridge(session))
    store = alert_store(ctx)
    banner = AlarmBanner(ctx, store, is_locked=locked)
    panel = AlertsPanel(ctx, store)
    ctx.extras["alarm_banner"] = banner
    for w in (banner, panel):
        qtbot.addWidget(w)
    panel.show()
    return ctx, banner, panel


def _north_unit(s):
    for u in s.units.list(status="available"):
        if s.ctx.area_rooms.get(u.area_code or u.home_area_code) == "north" and "ARV" not in u.capabilities:
            return u.callsign
    raise AssertionError("no free north unit")


def test_emergency_raises_the_band_with_sound_and_is_taken_by_name(qtbot, open_as):
    radio = open_as("despatch.north")          # the gateway's entry point, through a session
    ctx, banner, panel = _console(qtbot, open_as("despatch.north"))
    _, sup_banner, _ = _console(qtbot, open_as("super.south"))
    cs = _north_unit(radio)
    alert = radio.units.emergency(cs, at=None, source="airwave")
    qtbot.waitUntil(lambda: banner.current is not None and banner.current.id == alert.id, timeout=5000)
    assert not banner.isHidden() and "EMERGENCY" in banner.text.text() and cs in banner.text.text()
    assert "emergency" in banner.sounder.played
    assert banner.text.textFormat() == Qt.PlainText
    qtbot.waitUntil(lambda: sup_banner.current is not None, timeout=5000)  # the other room's supervisor
    assert panel.model.rowCount() >= 1
    qtbot.mouseClick(banner.take, Qt.LeftButton)
    qtbot.waitUntil(lambda: banner.current is not None and banner.current.state == "acknowledged", timeout=5000)
    qtbot.waitUntil(lambda: sup_banner.current is not None and sup_banner.current.acknowledged_by == "despatch.north",
                    timeout=5000)
    assert "taken by despatch.north" in sup_banner.text.text()
    banner.clear(banner.current, "officer_safe", [])
    qtbot.waitUntil(lambda: banner.current is None and banner.isHidden(), timeout=5000)
    assert all(r.id != alert.id for r in panel.model.rows)


def test_a_locked_console_cannot_acknowledge(qtbot, open_as):
    radio = open_as("despatch.north")
    ctx, banner, _ = _console(qtbot, open_as("despatch.north"), locked=lambda: True)
    alert = radio.units.emergency(_north_unit(radio), at=None, source="airwave")
    qtbot.waitUntil(lambda: banner.current is not None and banner.current.id == alert.id, timeout=5000)
    qtbot.mouseClick(banner.take, Qt.LeftButton)
    assert "locked" in banner.error.text()
    qtbot.wait(300)
    assert radio.alerts.get(alert.id).state == "raised"
    radio.alerts.clear(alert.id, result="officer_safe")


def test_alerts_open_before_sign_in_are_shown_at_sign_in(qtbot, open_as):
    radio = open_as("despatch.north")
    alert = radio.units.emergency(_north_unit(radio), at=None, source="airwave")
    ctx, banner, panel = _console(qtbot, open_as("super.north"))
    qtbot.waitUntil(lambda: banner.current is not None and banner.current.id == alert.id, timeout=5000)
    assert any(r.id == alert.id for r in panel.model.rows)
    radio.alerts.clear(alert.id, result="officer_safe")


def test_html_in_an_alert_title_is_shown_as_text(qtbot, open_as):
    from .conftest import MK
    h = open_as("handler.north")
    ctx, banner, panel = _console(qtbot, open_as("handler.north"))
    inc = h.incidents.create(channel="999", incident_type="ASSAULT", grade="G1", lat=MK[0], lon=MK[1],
                             summary="<b style='color:green'>HOAX CALL – STAND DOWN</b>")
    qtbot.waitUntil(lambda: banner.current is not None and banner.current.incident_id == inc.id, timeout=5000)
    assert banner.text.textFormat() == Qt.PlainText


def test_supervisor_overrides_a_consoles_mute(qtbot, open_as):
    ctx, banner, _ = _console(qtbot, open_as("handler.north"))
    sup_ctx, _, sup_panel = _console(qtbot, open_as("super.north"))
    banner.mute_sounds()
    qtbot.waitUntil(lambda: banner.sounder.muted_until is not None, timeout=5000)
    assert banner.sounder.muted(ctx.clock())
    assert not sup_panel.unmute.isHidden()
    qtbot.mouseClick(sup_panel.unmute, Qt.LeftButton)
    qtbot.waitUntil(lambda: banner.sounder.muted_until is None, timeout=5000)


def test_talk_group_of_the_officer_is_shown(qtbot, open_as):
    radio = open_as("despatch.north")
    ctx, banner, _ = _console(qtbot, open_as("despatch.north"))
    alert = radio.units.emergency(_north_unit(radio), at=None, source="airwave")
    assert alert.talk_group
    qtbot.waitUntil(lambda: banner.current is not None and banner.current.id == alert.id, timeout=5000)
    assert f"talk group {alert.talk_group}" in banner.text.text()
    radio.alerts.clear(alert.id, result="officer_safe")
