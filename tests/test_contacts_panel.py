"""Contacts panel: live queue in hand-out order, waiting times from the clock, take/answer/flag."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ui.contacts.panel import ContactsPanel
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge


@pytest.fixture
def panel(qtbot, open_as, fresh_db_url):
    s = open_as("handler.north", url=fresh_db_url)
    now = datetime.now(timezone.utc)
    ctx = ConsoleContext(session=s, bridge=EventBridge(s), clock=lambda: now)
    p = ContactsPanel(ctx)
    qtbot.addWidget(p)
    p.test_now = now
    return p


def column(p, col):
    return [p.proxy.data(p.proxy.index(r, col)) for r in range(p.proxy.rowCount())]


def test_queue_shows_contacts_in_hand_out_order_with_waiting_times(qtbot, panel, open_as, fresh_db_url):
    other = open_as("handler.south", url=fresh_db_url)
    now = panel.test_now
    other.contacts.receive("101", from_="07700900001", at=now - timedelta(seconds=125))
    other.contacts.receive("999", from_="07700900002", at=now - timedelta(seconds=7))
    other.contacts.receive("sms", from_="07700900003", text="he has a knife", at=now - timedelta(seconds=30))
    qtbot.waitUntil(lambda: panel.proxy.rowCount() == 3, timeout=5000)
    assert column(panel, 0) == ["P1", "P1", "P3"]      # the flagged SMS was raised to P1 and is older
    assert column(panel, 3) == ["0:30", "0:07", "2:05"]
    assert column(panel, 5)[0].startswith("⚠")
    assert "to review" in panel.summary.text()


def test_take_next_answer_and_confirm_flag_from_the_panel(qtbot, panel):
    s = panel.ctx.session
    sms = s.contacts.receive("sms", from_="07700900004", text="my dad is not breathing")
    qtbot.waitUntil(lambda: panel.proxy.rowCount() == 1, timeout=5000)
    panel.table.selectRow(0)
    assert panel.buttons["confirm"].isEnabled() and not panel.buttons["answer"].isEnabled()
    panel.buttons["confirm"].click()
    qtbot.waitUntil(lambda: panel.model.rows[0].review_outcome == "confirmed", timeout=5000)
    panel.buttons["next"].click()
    qtbot.waitUntil(lambda: panel.model.rows[0].state == "taken", timeout=5000)
    assert panel.selected().id == sms.id and panel.buttons["answer"].isEnabled()
    panel.buttons["answer"].click()
    qtbot.waitUntil(lambda: panel.model.rows[0].state == "answered", timeout=5000)
    # the event can reach the model before the call's own reply sets the message: wait for both
    qtbot.waitUntil(lambda: "answered" in panel.message.text(), timeout=5000)


def test_resolved_contact_leaves_the_panel_and_errors_are_shown(qtbot, panel, open_as, fresh_db_url):
    s = panel.ctx.session
    c = s.contacts.receive("101", from_="07700900005")
    qtbot.waitUntil(lambda: panel.proxy.rowCount() == 1, timeout=5000)
    other = open_as("handler.south", url=fresh_db_url)
    other.contacts.next_contact()
    qtbot.waitUntil(lambda: panel.model.rows[0].taken_by == "handler.south", timeout=5000)
    panel.table.selectRow(0)
    assert not panel.buttons["answer"].isEnabled()   # held by someone else
    panel._call(lambda: s.contacts.answer(c.id), "x")
    qtbot.waitUntil(lambda: "handler.south" in panel.message.text(), timeout=5000)
    other.contacts.resolve(c.id, resolution="advice given")
    qtbot.waitUntil(lambda: panel.proxy.rowCount() == 0, timeout=5000)
