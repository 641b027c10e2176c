"""Issue 18 item 9: the smaller things a shift trips over, each as the operator sees it."""
from __future__ import annotations

import pytest

from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.incidents.form import IncidentForm


def make_form(qtbot, session) -> IncidentForm:
    form = IncidentForm(ConsoleContext(session=session, bridge=EventBridge(session)))
    qtbot.addWidget(form)
    return form


def test_grade_box_follows_a_regrade_made_by_the_command_line_or_another_console(qtbot, open_as):
    handler = open_as("handler.north")
    inc = handler.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight outside the station",
                                   lat=52.0406, lon=-0.7594)
    form = make_form(qtbot, handler)
    form.open_incident(inc.id)
    qtbot.waitUntil(lambda: form.incident is not None and form.incident.id == inc.id, timeout=5000)
    assert form.grade.currentData() is None  # ungraded
    open_as("despatch.north").incidents.grade(inc.id, "G2")  # what `G2 <urn>` does
    qtbot.waitUntil(lambda: "G2" in form.header.text(), timeout=5000)
    assert form.grade.currentData() == "G2", form.grade.currentText()


def test_ungraded_incident_counts_down_to_being_graded():
    from datetime import datetime, timedelta, timezone

    from controlroom.kernel import config
    from controlroom.services.views import IncidentView
    from controlroom.kernel import palette
    from ui.incidents.model import COL, IncidentTableModel

    t0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    now = [t0]
    model = IncidentTableModel(lambda: now[0])
    model.load([IncidentView(id=1, urn="TV-20261123-00001", channel="101", incident_type="THEFT", summary="Bike",
                             lat=52.04, lon=-0.76, area_code="mk", room_code="north", grade=None, status="open",
                             version=1, created_at=t0, deadline_at=None)], {})
    limit = float(config.grade_policy()["grade_within_minutes"])
    cell = model.index(0, COL["Countdown"])
    now[0] = t0 + timedelta(minutes=limit) - timedelta(minutes=2)
    assert model.data(cell) == "grade 02:00"
    assert model.countdown_colour(0) == palette.COUNTDOWN_WARN.lower() if limit * 0.75 <= limit - 2 else True
    now[0] = t0 + timedelta(minutes=limit, seconds=30)
    assert model.data(cell) == "grade late +00:30"
    assert model.countdown_colour(0) == palette.COUNTDOWN_BREACH.lower()
    assert model.breached_ids(now[0]) == []  # nothing for the service to record: no grade target yet


def _wait(pred, timeout=15.0):
    import time
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)


def test_one_demo_avl_per_database_and_another_console_takes_over(fresh_db_url, open_as):
    from controlroom.demo.activity import DemoAvl

    first = DemoAvl(fresh_db_url, interval=0.3).start()   # two demo consoles, two sessions
    second = DemoAvl(fresh_db_url, interval=0.3).start()
    try:
        _wait(lambda: first.holding or second.holding)
        holder, other = (first, second) if first.holding else (second, first)
        _wait(lambda: holder.ticks >= 3)
        assert not other.holding and other.ticks == 0 and other.sent == 0  # it moved nothing
        holder.stop()  # the holding console closes (releases the lease)
        _wait(lambda: other.holding and other.ticks >= 1)
        assert other.sent > 0
    finally:
        first.stop()
        second.stop()
    s = open_as("auditor", url=fresh_db_url)
    with s.ctx.read() as conn:
        from sqlalchemy import text
        taken = conn.execute(text("SELECT count(*) FROM events WHERE kind = 'sim.lease_taken'")).scalar()
    assert taken == 2  # the first holder, then the takeover; renewals are not events


def test_lapsed_lease_is_taken_over_and_a_live_one_is_not(fresh_db_url, open_as):
    import time

    a, b = open_as("despatch.north", url=fresh_db_url), open_as("despatch.south", url=fresh_db_url)
    assert a.units.take_sim_lease(name="demo-avl", holder="A", ttl_s=1)
    assert not b.units.take_sim_lease(name="demo-avl", holder="B", ttl_s=5)  # A's is alive
    assert a.units.take_sim_lease(name="demo-avl", holder="A", ttl_s=1)      # the holder renews
    time.sleep(1.3)                                                          # A crashed: no renewal
    assert b.units.take_sim_lease(name="demo-avl", holder="B", ttl_s=5)
    assert not a.units.take_sim_lease(name="demo-avl", holder="A", ttl_s=1)


def test_unit_booked_at_scene_is_reported_at_its_incident(fresh_db_url, open_as):
    from controlroom.demo.activity import DemoAvl
    from controlroom.geo import haversine_m

    d = open_as("despatch.north", url=fresh_db_url)
    h = open_as("handler.north", url=fresh_db_url)
    unit = next(u for u in d.units.list(status="available") if u.lat is not None and u.area_code == "mk")
    lat, lon = unit.lat + 0.03, unit.lon + 0.03  # about 4 km away, as seen on the map
    inc = h.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight", lat=lat, lon=lon)
    d.incidents.grade(inc.id, "G2")
    d.despatch.assign(inc.id, unit.callsign)
    d.despatch.arrived(inc.id, unit.callsign)
    avl = DemoAvl(fresh_db_url, interval=0.2).start()
    try:
        _wait(lambda: avl.ticks >= 2)
    finally:
        avl.stop()
    now = next(u for u in d.units.list() if u.callsign == unit.callsign)
    assert haversine_m(now.lat, now.lon, lat, lon) < 50, haversine_m(now.lat, now.lon, lat, lon)


def test_unit_en_route_drives_towards_its_incident():
    import random

    from controlroom.demo import avl as avl_sim
    from controlroom.geo import haversine_m

    m = avl_sim.Mover("MK21", 52.00, -0.80, 0.0, target=(52.03, -0.77))
    start = haversine_m(m.lat, m.lon, *m.target)
    avl_sim.step(m, 60, random.Random(1), lambda *_: True)
    assert start - haversine_m(m.lat, m.lon, *m.target) == pytest.approx(avl_sim.SPEED_MPS * 60, rel=0.02)
    avl_sim.step(m, 3600, random.Random(1), lambda *_: True)
    assert (m.lat, m.lon) == m.target  # arrives and stops there


def test_presence_label_stylesheet_parses(qtbot, qtlog, open_as):
    from ui.kit.presence_widgets import PresenceLabel

    s = open_as("despatch.north")
    label = PresenceLabel(ConsoleContext(session=s, bridge=EventBridge(s)))
    qtbot.addWidget(label)
    label.setText("handler.north is viewing")
    label.show()
    label.grab()  # polished and drawn: Qt parses the style sheet here
    assert not [r.message for r in qtlog.records if "Could not parse stylesheet" in r.message]


def test_no_console_logs_a_style_sheet_it_cannot_parse(qtbot, qtlog, open_as, tmp_path, monkeypatch):
    """Every role's console, started and drawn: Qt parses every widget's style sheet without complaint."""
    from PySide6.QtCore import QSettings

    from ui.shell.main_window import MainWindow

    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path))
    monkeypatch.setenv("CONTROLROOM_MAP_CACHE", str(tmp_path / "mapcache"))
    for user in ("handler.north", "inspector.north"):
        s = open_as(user)
        win = MainWindow(ConsoleContext(session=s, bridge=EventBridge(s)), restore=False)
        qtbot.addWidget(win)
        win.show()
        qtbot.wait(300)
        win.grab()
        for dock in win.docks.values():
            dock.widget().grab()
        win.close()
        win.ctx.bridge.close()
    bad = {r.message.split("(")[0] for r in qtlog.records if "Could not parse stylesheet" in r.message}
    assert not bad, bad
