"""Issue 14 panels: reconciliation view (row-by-row updates), banding dashboard (bars from the
service, CSV export), prompts panel (sign-offs for supervisors). Real PostgreSQL, pytest-qt."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import psycopg

from ui.dashboards.banding import BandingDashboard
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.standards.prompts_panel import PromptsPanel
from ui.standards.reconciliation_panel import ReconciliationPanel

from .conftest import MK, OXFORD

SHOTS = os.environ.get("CR_SCREENSHOTS")  # a directory: save the panels' pictures there


def sql(url, statement, params=()):
    with psycopg.connect(url, autocommit=True) as c:
        cur = c.execute(statement, params)
        return cur.fetchall() if cur.description else None


def ctx_for(s):
    return ConsoleContext(session=s, bridge=EventBridge(s))


def test_reconciliation_lists_gone_console_and_late_incident_without_resets(qtbot, open_as, fresh_db_url):
    h = open_as("handler.north", url=fresh_db_url, console_id="C-NORTH-07")
    sup = open_as("super.north", url=fresh_db_url)
    panel = ReconciliationPanel(ctx_for(sup), refresh_ms=200)
    qtbot.addWidget(panel)
    resets, inserted = [], []
    panel.model.modelReset.connect(lambda: resets.append(1))
    panel.model.rowsInserted.connect(lambda *_: inserted.append(1))
    inc = h.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight in street", lat=MK[0],
                             lon=MK[1], grade="G1", address="Midsummer Boulevard")
    sql(fresh_db_url, "UPDATE incidents SET created_at = now() - interval '25 minutes', "
                      "deadline_at = now() - interval '10 minutes' WHERE id = %s", (inc.id,))
    g2 = h.incidents.create(channel="101", incident_type="BURGLARY", summary="Break-in", lat=OXFORD[0],
                            lon=OXFORD[1], grade="G2")
    sql(fresh_db_url, "UPDATE incidents SET created_at = now() - interval '75 minutes', "
                      "deadline_at = now() - interval '15 minutes', status = 'despatched', despatched_at = now() "
                      "- interval '50 minutes' WHERE id = %s", (g2.id,))
    h.contacts.receive("999", from_="07700 900901")
    c = h.contacts.next_contact()
    sql(fresh_db_url, "UPDATE consoles SET last_seen = now() - interval '3 minutes' WHERE id = 'C-NORTH-07'")
    qtbot.waitUntil(lambda: len(panel.model.items) >= 3, timeout=5000)
    problems = {(i.entity, i.problem) for i in panel.model.items}
    assert ("contact", "held_by_gone_console") in problems
    assert ("incident", "awaiting_despatch_past_target") in problems
    m = panel.model
    row = next(r for r, i in enumerate(m.items) if i.entity == "contact")
    assert m.data(m.index(row, 4)) == "handler.north / C-NORTH-07"
    assert "console that is gone" in panel.summary.text()
    if SHOTS:
        panel.resize(900, 260)
        panel.grab().save(os.path.join(SHOTS, "14-reconciliation.png"))
    panel.reclaim()
    qtbot.waitUntil(lambda: any(i.problem == "reclaimed_waiting" and i.id == c.id for i in m.items), timeout=5000)
    assert resets == [] and inserted


def _contacts(url, hours=12):
    """A realistic day: 999s mostly < 10 s, a bad hour, 101 abandonment around the standard."""
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    rows = []
    for h in range(hours):
        start = now - timedelta(hours=hours - h)
        for i in range(30):
            slow = h == 7 and i % 3 == 0
            wait = 4 + (i % 5) if not slow else 25 + i * 3
            rows.append(("999", start + timedelta(minutes=i * 2), wait, False))
        for i in range(40):
            rows.append(("101", start + timedelta(minutes=i), 45, i < (1 + h % 4)))
    with psycopg.connect(url, autocommit=True) as c:
        for ch, at, wait, ab in rows:
            c.execute("INSERT INTO contacts (channel, base_priority, priority, state, from_addr, from_key, received_at, "
                      "queue_time, taken_by, taken_at, answered_at, abandoned_at) VALUES (%s, 1, 1, %s, 'x', 'x', %s, %s, "
                      "%s, %s, %s, %s)",
                      (ch, "abandoned" if ab else "answered", at, at, None if ab else "handler.north",
                       None if ab else at, None if ab else at + timedelta(seconds=wait),
                       at + timedelta(seconds=30) if ab else None))


def test_banding_dashboard_shows_bands_and_exports_csv(qtbot, open_as, fresh_db_url, tmp_path):
    _contacts(fresh_db_url)
    sup = open_as("super.south", url=fresh_db_url)
    dash = BandingDashboard(ctx_for(sup))
    qtbot.addWidget(dash)
    qtbot.waitUntil(lambda: len(dash.rows) > 0, timeout=5000)
    heights = list(dash.band_bars[0].opts["height"])
    assert len(heights) == 12 and min(heights) < 90 <= max(heights)
    assert dash.answer_label.text().startswith("999 answered < 10 s: 97.2 % of 360 — MET")  # 350 of 360
    assert "101 abandoned" in dash.abandon_label.text()
    path = dash.export(str(tmp_path / "b.csv"))
    assert open(path).read().startswith("period_start,measure,offered")
    if SHOTS:
        dash.resize(1000, 380)
        dash.grab().save(os.path.join(SHOTS, "14-banding.png"))
    dash.period.setCurrentText("day")
    qtbot.waitUntil(lambda: len(list(dash.band_bars[0].opts["height"])) in (1, 2), timeout=5000)


def test_prompts_panel_shows_pending_sign_off_to_supervisor(qtbot, open_as):
    d, sup = open_as("despatch.south"), open_as("super.south")
    inc = d.incidents.create(channel="999", incident_type="ASSAULT", summary="x", lat=OXFORD[0], lon=OXFORD[1],
                             grade="G2")
    d.signoff.request(inc.id, grade="G3", reason="No injuries, offender gone")
    panel = PromptsPanel(ctx_for(sup))
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.signoffs.count() == 1, timeout=5000)
    assert "G2 → G3 asked by despatch.south" in panel.signoffs.item(0).text()
    panel.signoffs.setCurrentRow(0)
    panel.approve()
    qtbot.waitUntil(lambda: panel.signoffs.count() == 0, timeout=5000)
    assert sup.incidents.get(inc.id).grade == "G3"
