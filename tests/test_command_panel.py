"""Command panel and the inspector's firearms alert, against a real database and event stream."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ui.kit import ops
from ui.command.panel import NOT_AUTHORISED, make_panel
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge

from .conftest import MK


def console(qtbot, session):
    ctx = ConsoleContext(session=session, bridge=EventBridge(session))
    panel = make_panel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    return ctx, panel


def incident(session, summary="Shots heard near the station"):
    return session.incidents.create(channel="999", incident_type="ASSAULT", summary=summary,
                                    lat=MK[0], lon=MK[1], grade="G1")


@pytest.fixture(autouse=True)
def _drain_ops():
    yield
    ops.wait_all(5000)


def test_inspector_alert_appears_when_another_session_declares_firearms(qtbot, open_as, monkeypatch):
    beeps = []
    monkeypatch.setattr("ui.command.firearms_alert.QApplication.beep", lambda: beeps.append(1))
    ctx, panel = console(qtbot, open_as("inspector.south"))
    alert = panel.alert
    assert not alert.isVisible()
    handler = open_as("handler.north")
    inc = incident(handler)
    with qtbot.waitSignal(alert.alerted, timeout=5000) as sig:
        handler.command.declare_firearms(inc.id)
    assert sig.args == [inc.id]
    assert alert.isVisible() and inc.urn in alert.body.text() and beeps
    assert "north room" in alert.body.text() and not alert.take.isVisible()  # not our room
    alert.close()
    assert alert.isVisible()  # closing is not acknowledging
    with qtbot.waitSignal(alert.acknowledged, timeout=5000):
        qtbot.mouseClick(alert.ack, Qt.LeftButton)
    assert not alert.isVisible()
    assert any("acknowledged by inspector.south" in e.text for e in handler.incidents.log(inc.id))


def test_non_inspector_console_gets_no_alert(qtbot, open_as):
    _ctx, panel = console(qtbot, open_as("despatch.north"))
    assert not hasattr(panel, "alert")
    assert not panel.authorise_btn.isEnabled()


def test_panel_shows_not_authorised_until_authorised_then_chain_and_decisions(qtbot, open_as):
    insp = open_as("inspector.north")
    inc = incident(insp)
    insp.command.declare_firearms(inc.id)
    ctx, panel = console(qtbot, insp)
    qtbot.waitUntil(lambda: panel.current == inc.id, timeout=5000)
    assert panel.banner.isVisible() and NOT_AUTHORISED in panel.banner.text()
    row = panel.model.row_of(inc.id)
    assert panel.model.data(panel.model.index(row, 3)) == "NOT AUTHORISED"

    other = open_as("inspector.north")  # another console of the same room records it
    other.command.accept_firearms_command(inc.id)
    qtbot.waitUntil(lambda: "ITFC" in panel.chain.text(), timeout=5000)
    other.command.authorise_armed_deployment(inc.id, threat_assessment="Armed male",
                                             working_strategy="Contain", rationale="Threat to life")
    qtbot.waitUntil(lambda: panel.banner.text().startswith("ARMED DEPLOYMENT AUTHORISED"), timeout=5000)
    assert NOT_AUTHORISED not in panel.banner.text()
    other.command.assign_role(inc.id, "TFC", holder="Ch Insp Priya Shah", accredited=True)
    qtbot.waitUntil(lambda: "Priya Shah" in panel.chain.text(), timeout=5000)
    assert "ITFC" not in panel.chain.text()  # stood down on handover
    other.command.log_decision(inc.id, stage=2, decision="Deploy two ARVs", rationale="Threat to life")
    qtbot.waitUntil(lambda: panel.decisions.rowCount() == 1, timeout=5000)
    assert "2 Assess threat" in panel.decisions.data(panel.decisions.index(0, 1))
    other.command.methane(inc.id, hazards="Handgun seen")
    qtbot.waitUntil(lambda: panel.versions.count() == 1, timeout=5000)
    assert "Handgun seen" in panel.methane_text.toPlainText()


def test_panel_refusal_is_shown_to_the_operator(qtbot, open_as):
    insp = open_as("inspector.north")
    inc = incident(insp)
    insp.command.declare_firearms(inc.id)
    _ctx, panel = console(qtbot, insp)
    qtbot.waitUntil(lambda: panel.current == inc.id, timeout=5000)
    panel.threat.setPlainText("Armed male")  # strategy and rationale left empty
    panel.ask_password = lambda: "demo"  # the inspector re-enters their password
    qtbot.mouseClick(panel.authorise_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: "required" in panel.message.text(), timeout=5000)
    assert NOT_AUTHORISED in panel.banner.text()


def test_declaration_waiting_for_an_inspector_is_shown_at_sign_in(qtbot, open_as, monkeypatch):
    """Issue 18 item 3: declared while no inspector console was running (or it crashed)."""
    monkeypatch.setattr("ui.command.firearms_alert.QApplication.beep", lambda: None)
    handler = open_as("handler.north")
    inc = incident(handler, summary="Man with a handgun, declared before the inspector signed in")
    handler.command.declare_firearms(inc.id)
    ctx, panel = console(qtbot, open_as("inspector.north"))   # signs in afterwards
    alert = panel.alert
    qtbot.waitUntil(lambda: any(str(p.get("id")) == str(inc.id) for p in alert.pending), timeout=5000)
    assert alert.isVisible()
    while alert.pending and str(alert.pending[0].get("id")) != str(inc.id):
        alert.pending.append(alert.pending.pop(0))
        alert._render()
    assert inc.urn in alert.body.text() and alert.take.isVisible()  # our room: take command
    with qtbot.waitSignal(alert.acknowledged, timeout=5000):
        alert.acknowledge(take_command=True)
    waiting = [a for a in handler.alerts.open() if a.kind == "firearms_itfc" and a.incident_id == inc.id]
    assert waiting == []  # ITFC accepted: the alert is cleared for every console
    ctx2, panel2 = console(qtbot, open_as("inspector.north"))  # a restart no longer re-alerts it
    qtbot.wait(500)
    assert all(str(p.get("id")) != str(inc.id) for p in panel2.alert.pending)
