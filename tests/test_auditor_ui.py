"""Auditor workspace and console idle lock (pytest-qt, real database)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QWidget

from ui.kit import ops
from ui.shell import panels
from ui.audit.workspace import make_panel
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.kit.idle_lock import IdleLock

from .conftest import MK


@pytest.fixture(autouse=True)
def _drain_ops():
    yield
    ops.wait_all(5000)


def workspace(qtbot, session):
    ctx = ConsoleContext(session=session, bridge=EventBridge(session))
    w = make_panel(ctx)
    qtbot.addWidget(w)
    w.resize(1100, 600)
    w.show()
    return w


def test_workspace_is_registered_for_auditors_only():
    spec = next(p for p in panels.PANELS if p.key == "audit")
    assert spec.roles == ("auditor",)


def test_search_by_user_and_incident_shows_real_audit_rows(qtbot, open_as):
    handler = open_as("handler.north")
    inc = handler.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight outside pub",
                                   lat=MK[0], lon=MK[1], grade="G1")
    w = workspace(qtbot, open_as("auditor"))
    w.user.setText("handler.north")
    w.search()
    qtbot.waitUntil(lambda: w.model.rowCount() > 0, timeout=5000)
    assert {r.username for r in w.model.rows} == {"handler.north"}
    w.user.clear()
    w.incident.setText(inc.urn)
    w.search()
    qtbot.waitUntil(lambda: w.model.rows and all(r.entity == f"incident:{inc.id}" for r in w.model.rows),
                    timeout=5000)
    assert w.model.data(w.model.index(0, 5), Qt.DisplayRole) == "incident.created"
    w.incident.setText("TV-19990101-99999")
    w.search()
    qtbot.waitUntil(lambda: "No incident with URN" in w.message.text(), timeout=5000)


def test_chain_verification_result_is_shown(qtbot, open_as):
    w = workspace(qtbot, open_as("auditor"))
    w.verify_btn.click()
    qtbot.waitUntil(lambda: w.verify_label.text().startswith("Chain intact"), timeout=10000)
    assert w.verified.ok and w.verified.checked > 0 and w.verified.first_broken is None


def test_qa_sample_checklist_and_findings_are_recorded(qtbot, open_as):
    handler = open_as("handler.north")
    inc = handler.incidents.create(channel="101", incident_type="THEFT", summary="Phone stolen",
                                   lat=MK[0], lon=MK[1], grade="G3")
    handler.incidents.close(inc.id, closing_code="CRIME", qualifier="crime_number_issued", result="Crime recorded")
    aud = open_as("auditor")
    w = workspace(qtbot, aud)
    w.tabs.setCurrentIndex(1)
    w.percent.setValue(100)
    w.draw_btn.click()
    qtbot.waitUntil(lambda: w.sample_list.count() > 0, timeout=5000)
    row = next(i for i, item in enumerate(w.sample) if item.id == inc.id)
    w.sample_list.setCurrentRow(row)
    for box in w.checks.values():
        box.setChecked(True)
    w.findings.setPlainText("THRIVE proportionate; crime recorded correctly")
    w.record_btn.click()
    qtbot.waitUntil(lambda: w.qa_message.text().startswith("Findings recorded"), timeout=5000)
    assert aud.audit.reviews(incident_id=inc.id)[0].checklist == {k: True for k in w.checks}


def type_into_window(window, text: str) -> None:
    """Keys as the platform delivers them: to the top-level QWindow, which routes them to focus."""
    for ch in text:
        QTest.keyClick(window.windowHandle(), ch)


def test_idle_console_locks_and_unlocks_only_with_the_password(qtbot, open_as):
    session = open_as("despatch.south")
    window = QWidget()
    field = QLineEdit(window)
    qtbot.addWidget(window)
    window.resize(600, 400)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    field.setFocus()
    lock = IdleLock(window, session.verify_password, idle_ms=300, who="despatch.south")
    type_into_window(window, "ab")  # activity postpones the lock
    assert field.text() == "ab" and not lock.is_locked
    with qtbot.waitSignal(lock.locked, timeout=3000):
        pass
    assert lock.is_locked and lock.overlay.geometry() == window.rect()
    QTest.mouseClick(window.windowHandle(), Qt.LeftButton, pos=field.geometry().center())
    type_into_window(window, "wrong")
    assert field.text() == "ab" and lock.overlay.password.text() == "wrong"  # nothing behind the cover
    lock.try_unlock()
    qtbot.waitUntil(lambda: lock.overlay.message.text().startswith("Wrong password"), timeout=5000)
    assert lock.is_locked
    type_into_window(window, "demo")
    with qtbot.waitSignal(lock.unlocked, timeout=5000):
        QTest.keyClick(window.windowHandle(), Qt.Key_Return)
    assert not lock.is_locked
    field.setFocus()
    field.end(False)
    type_into_window(window, "c")
    assert field.text() == "abc"  # input reaches the console again
