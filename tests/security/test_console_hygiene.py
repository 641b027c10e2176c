"""Console hygiene (issue 19): typed text is never HTML, the idle lock covers every window and is
the force's policy, an armed authorisation needs the inspector's password again."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QLabel as QtLabel, QWidget

from ui.kit import ops
from ui.command.panel import make_panel
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.kit.idle_lock import IdleLock, install_idle_lock

from ..conftest import MK

HOAX = "<span style='color:green;font-size:30pt'>HOAX CALL – STAND DOWN</span><img src=x>"


@pytest.fixture(autouse=True)
def _drain_ops():
    yield
    ops.wait_all(5000)


def _firearms(session, summary=HOAX):
    inc = session.incidents.create(channel="999", incident_type="ASSAULT", summary=summary,
                                   lat=MK[0], lon=MK[1], grade="G1")
    session.command.declare_firearms(inc.id)
    return inc


def _labels_showing(text: str) -> list[QtLabel]:
    out = []
    for top in QApplication.topLevelWidgets():
        for lab in [top, *top.findChildren(QtLabel)] if isinstance(top, QtLabel) else top.findChildren(QtLabel):
            if text in lab.text():
                out.append(lab)
    return out


def test_html_typed_into_a_summary_is_shown_as_text_in_every_label(qtbot, open_as):
    insp = open_as("inspector.north")
    ctx = ConsoleContext(session=insp, bridge=EventBridge(insp))
    panel = make_panel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    other = open_as("handler.north")
    inc = _firearms(other)  # another console declares: the inspector's alert pops up
    qtbot.waitUntil(lambda: panel.alert.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: panel.current == inc.id, timeout=5000)
    alert, title = panel.alert.body, panel.title
    for lab in (alert, title):
        assert lab.textFormat() == Qt.PlainText and HOAX in lab.text(), lab.objectName()
    shown = _labels_showing("HOAX CALL")
    assert shown and all(lab.textFormat() == Qt.PlainText for lab in shown), \
        [(lab.objectName(), lab.textFormat()) for lab in shown]


def test_despatch_heading_and_qa_title_show_html_as_text(qtbot, open_as):
    from ui.despatch.tab import DespatchTab
    from ui.audit.workspace import AuditorWorkspace
    s = open_as("despatch.north")
    inc = s.incidents.create(channel="999", incident_type="ASSAULT", summary=HOAX, lat=MK[0], lon=MK[1],
                             grade="G2")
    ctx = ConsoleContext(session=s, bridge=EventBridge(s))
    tab = DespatchTab(ctx)
    qtbot.addWidget(tab)
    tab.set_incident(inc.id)
    qtbot.waitUntil(lambda: inc.urn in tab.heading.text(), timeout=5000)
    assert tab.heading.textFormat() == Qt.PlainText
    aud = open_as("auditor")
    actx = ConsoleContext(session=aud, bridge=EventBridge(aud))
    ws = AuditorWorkspace(actx)
    qtbot.addWidget(ws)
    assert ws.qa_title.textFormat() == Qt.PlainText
    ws.qa_title.setText(f"{inc.urn} — {HOAX}")
    assert "<span" in ws.qa_title.text()  # shown literally, never interpreted


def test_idle_lock_hides_every_window_and_holds_a_new_alert_until_unlock(qtbot, open_as):
    insp = open_as("inspector.south")
    ctx = ConsoleContext(session=insp, bridge=EventBridge(insp))
    window = QWidget()
    window.ctx = ctx
    qtbot.addWidget(window)
    window.resize(500, 300)
    window.show()
    panel = make_panel(ctx)
    qtbot.addWidget(panel)
    lock = IdleLock(window, insp.verify_password, idle_ms=60_000, who="inspector.south")
    other = open_as("handler.north")
    _firearms(other, summary="Shots fired, first alert")
    qtbot.waitUntil(lambda: panel.alert.isVisible(), timeout=5000)
    lock.lock()
    assert not panel.alert.isVisible()  # the alert's incident details are covered too
    with qtbot.waitSignal(panel.alert.alerted, timeout=5000):
        _firearms(other, summary="Second declaration while locked")
    qtbot.wait(400)
    assert not panel.alert.isVisible()
    assert not insp.verify_password("wrong")
    assert insp.verify_password("demo")
    lock._checked(True)
    assert panel.alert.isVisible()


def test_idle_timeout_is_database_policy_not_the_operators_settings(qtbot, open_as, db_url):
    s = open_as("handler.north")
    QSettings("controlroom", "console").setValue("idle_lock/minutes", 0)  # the operator tries
    try:
        window = QWidget()
        window.ctx = ConsoleContext(session=s, bridge=EventBridge(s))
        qtbot.addWidget(window)
        lock = install_idle_lock(window)
        assert lock is not None and lock.timer.interval() == 10 * 60_000
        assert s.policy("idle_lock_minutes") == "10"
    finally:
        QSettings("controlroom", "console").remove("idle_lock/minutes")


def test_recording_an_armed_authorisation_needs_the_password_again(qtbot, open_as):
    insp = open_as("inspector.north")
    inc = _firearms(insp, summary="Man with a gun")
    ctx = ConsoleContext(session=insp, bridge=EventBridge(insp))
    panel = make_panel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.current == inc.id, timeout=5000)
    for box, text in ((panel.threat, "Armed male"), (panel.strategy, "Contain"), (panel.rationale, "Threat to life")):
        box.setPlainText(text)
    panel.ask_password = lambda: "not-my-password"
    qtbot.mouseClick(panel.authorise_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: "NOT recorded" in panel.message.text(), timeout=5000)
    assert not insp.command.current_command(inc.id).armed_authorised
    panel.ask_password = lambda: "demo"
    qtbot.mouseClick(panel.authorise_btn, Qt.LeftButton)
    qtbot.waitUntil(lambda: insp.command.current_command(inc.id).armed_authorised, timeout=5000)


def test_a_locked_console_covers_only_its_own_windows_and_stops_when_closed(qtbot, open_as):
    """Two consoles in one process (a training room beside live; the test suite): locking one never
    hides the other's window, and a console closed while locked stops covering anything."""
    a, b = open_as("despatch.north"), open_as("despatch.south")
    win_a, win_b, loose = QWidget(), QWidget(), QWidget()
    for w in (win_a, win_b, loose):
        qtbot.addWidget(w)
        w.resize(300, 200)
        w.show()
    lock_a = IdleLock(win_a, a.verify_password, idle_ms=60_000, who="despatch.north")
    lock_b = IdleLock(win_b, b.verify_password, idle_ms=60_000, who="despatch.south")
    lock_a.lock()
    qtbot.wait(450)  # the cover re-runs every 200 ms
    assert lock_a.is_locked and not loose.isVisible()  # a free window (an alert) is covered
    assert win_b.isVisible() and not lock_b.is_locked  # the other console is not
    win_a.close()  # the locked console is closed (signed out, crashed window)
    loose.show()
    qtbot.wait(450)
    assert loose.isVisible() and not lock_a._cover.isActive()
    win_a.hide()
    lock_a.timer.timeout.emit()  # an idle timeout on a closed window locks nothing
    assert not lock_a.is_locked
