"""Officer safety (issue 20): emergencies, escalation, welfare checks, one alert queue in the DB."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from controlroom.errors import Conflict, InvalidInput, NotPermitted

from .conftest import MK
from .helpers import new, sql, wait_for


def _north_unit(s) -> str:
    """A free unit of the north room (the one that owns Milton Keynes)."""
    for u in s.units.list(status="available"):
        if s.ctx.area_rooms.get(u.area_code or u.home_area_code) == "north" and "ARV" not in u.capabilities:
            return u.callsign
    raise AssertionError("no free north unit in the demo data")


def _policy(url, kind, seconds):
    sql(url, "UPDATE alert_policy SET escalate_after_s = %s WHERE kind = %s", (seconds, kind))


def _events_seen(session, kinds):
    seen = []
    session.events.subscribe(lambda ev: seen.append(ev) if ev.kind in kinds else None)
    session.events.start()
    return seen


def test_emergency_reaches_the_room_and_the_other_rooms_supervisor(open_as, db_url):
    despatch = open_as("despatch.north")
    handler = open_as("handler.north")
    super_south = open_as("super.south")
    despatch_south = open_as("despatch.south")
    seen = {s.user.username: _events_seen(s, {"alert.raised"}) for s in (handler, super_south, despatch_south)}
    for s in (handler, super_south, despatch_south):
        assert s.events.wait_connected() if hasattr(s.events, "wait_connected") else True
    cs = _north_unit(despatch)
    alert = despatch.units.emergency(cs, at=datetime.now(timezone.utc), lat=MK[0], lon=MK[1],
                                     source="airwave-gateway")
    assert alert.kind == "emergency" and alert.state == "raised" and alert.room_code == "north"
    assert despatch.units.get(cs).status == "emergency"
    for s in (handler, super_south, despatch_south):
        assert wait_for(lambda s=s: any(e.entity_id == str(alert.id) for e in seen[s.user.username]))
    # who is to show it: the whole north room, the south supervisor, not the south despatcher
    got = {s.user.username: any(a.id == alert.id for a in s.alerts.open(for_me=True))
           for s in (handler, super_south, despatch_south)}
    assert got == {"handler.north": True, "super.south": True, "despatch.south": False}
    # a second press of the button is the same emergency, not a second alarm
    again = despatch.units.emergency(cs, at=None, source="airwave-gateway")
    assert again.id == alert.id
    despatch.alerts.clear(alert.id, result="officer_safe")


def test_emergency_overrides_status_until_cleared_with_a_result(open_as):
    despatch = open_as("despatch.north")
    cs = _north_unit(despatch)
    alert = despatch.units.emergency(cs, at=None, source="test")
    with pytest.raises((Conflict, InvalidInput)):
        despatch.units.set_status(cs, "refreshments")
    with pytest.raises(InvalidInput, match="result"):
        despatch.alerts.clear(alert.id, result="fine")
    with pytest.raises(InvalidInput, match="units sent"):
        despatch.alerts.clear(alert.id, result="assistance_sent")
    helper = next(u.callsign for u in despatch.units.list(status="available") if u.callsign != cs)
    done = despatch.alerts.clear(alert.id, result="assistance_sent", units=[helper])
    assert done.state == "cleared" and done.result_units == (helper,) and done.cleared_by == "despatch.north"
    assert despatch.units.get(cs).status == "available"
    assert all(a.id != alert.id for a in despatch.alerts.open())


def test_acknowledgement_by_one_despatcher_is_seen_by_all(open_as):
    d1 = open_as("despatch.north")
    sup = open_as("super.north")
    acks = _events_seen(sup, {"alert.acknowledged"})
    cs = _north_unit(d1)
    alert = d1.units.emergency(cs, at=None, source="test")
    taken = d1.alerts.acknowledge(alert.id)
    assert taken.acknowledged_by == "despatch.north" and taken.state == "acknowledged"
    assert wait_for(lambda: any(e.entity_id == str(alert.id) for e in acks))
    assert sup.alerts.get(alert.id).acknowledged_by == "despatch.north"
    with pytest.raises(Conflict, match="already taken"):
        sup.alerts.acknowledge(alert.id)
    d1.alerts.clear(alert.id, result="officer_safe")


def test_call_handler_cannot_take_an_emergency(open_as):
    d = open_as("despatch.north")
    h = open_as("handler.north")
    alert = d.units.emergency(_north_unit(d), at=None, source="test")
    with pytest.raises(NotPermitted):
        h.alerts.acknowledge(alert.id)
    d.alerts.clear(alert.id, result="officer_safe")


def test_escalation_happens_at_the_timeout_and_not_before(open_as, db_url):
    _policy(db_url, "emergency", [2, 2])
    try:
        d = open_as("despatch.north")
        alert = d.units.emergency(_north_unit(d), at=None, source="test")
        start = alert.raised_at
        # the console's clock says 1 s: nothing is due
        mine = lambda alerts: [a for a in alerts if a.id == alert.id]  # noqa: E731
        assert mine(d.alerts.escalate_due(now=start + timedelta(seconds=1))) == []
        assert d.alerts.get(alert.id).level == 0
        # a console whose clock runs ahead cannot make the database escalate early
        assert mine(d.alerts.escalate_due(now=start + timedelta(seconds=60))) == []
        assert d.alerts.get(alert.id).level == 0
        assert wait_for(lambda: mine(d.alerts.escalate_due()) != [], timeout=6)
        up = d.alerts.get(alert.id)
        assert up.level == 1 and "supervisor" in up.audience
        d.alerts.clear(alert.id, result="officer_safe")
    finally:
        _policy(db_url, "emergency", [10, 10])


def test_alert_raised_while_a_console_is_down_is_shown_when_it_signs_in(open_as):
    d = open_as("despatch.north")
    alert = d.units.emergency(_north_unit(d), at=None, source="test")
    later = open_as("super.north")  # signs in after the alarm went off
    mine = later.alerts.open(for_me=True)
    assert any(a.id == alert.id and a.needs_acknowledgement for a in mine)
    d.alerts.clear(alert.id, result="officer_safe")


def test_new_g1_and_firearms_declarations_are_persistent_alerts(open_as):
    h = open_as("handler.north")
    inc = new(h, at=MK, grade="G1")
    alerts = [a for a in h.alerts.open() if a.incident_id == inc.id]
    assert [a.kind for a in alerts] == ["g1_new"]
    assert alerts[0].reaches("call_handler", "north") and not alerts[0].reaches("call_handler", "south")
    h.alerts.acknowledge(alerts[0].id)
    assert h.alerts.get(alerts[0].id).acknowledged_by == "handler.north"


def test_welfare_check_due_only_after_the_interval(open_as, db_url):
    d = open_as("despatch.north")
    cs = _north_unit(d)
    inc = new(d, at=MK, incident_type="BURGLARY")
    d.despatch.assign(inc.id, cs)
    d.despatch.arrived(inc.id, cs)
    with pytest.raises(Conflict, match="not due"):
        with d.ctx.single() as tx:
            tx.call("api.welfare_check_raise", callsign=cs)
    assert [a for a in d.alerts.raise_welfare_due() if a.callsign == cs] == []
    sql(db_url, "UPDATE units SET status_at = now() - interval '31 minutes' WHERE callsign = %s", (cs,))
    raised = [a for a in d.alerts.raise_welfare_due() if a.callsign == cs]
    assert len(raised) == 1 and raised[0].kind == "welfare"
    assert d.alerts.raise_welfare_due() == [] or all(a.callsign != cs for a in d.alerts.raise_welfare_due())
    d.alerts.clear(raised[0].id, result="officer_safe")


def test_the_replay_shows_the_alert_queue_as_it_stood(open_as):
    from controlroom.replay.state import REDUCERS, VirtualRoomState

    d = open_as("despatch.north")
    cs = _north_unit(d)
    alert = d.units.emergency(cs, at=None, source="test")
    d.alerts.acknowledge(alert.id)
    with d.ctx.read() as conn:
        from sqlalchemy import text
        rows = conn.execute(text("SELECT seq, kind, entity_id, room_code, payload, at, console_id, username "
                                 "FROM events WHERE kind LIKE 'alert.%' OR kind = 'unit.status' ORDER BY seq")).all()
    state = VirtualRoomState()
    from controlroom.db.listener import Event
    for r in rows:
        ev = Event(*r)
        REDUCERS[ev.kind](state, ev, ev.payload)
    assert state.alerts[alert.id]["state"] == "acknowledged"
    assert state.alerts[alert.id]["acknowledged_by"] == "despatch.north"
    assert state.units[cs]["status"] == "emergency"
    d.alerts.clear(alert.id, result="officer_safe")


def test_the_avl_simulator_can_press_the_emergency_button(db_url, open_as):
    from controlroom.demo.avl import run

    watcher = open_as("super.north")
    before = {a.id for a in watcher.alerts.open()}
    run(db_url, units=3, rate=20, seconds=1.5, username="despatch.north", password="demo",
        emergency_every=0.2)
    raised = [a for a in watcher.alerts.open() if a.id not in before and a.kind == "emergency"]
    assert raised and all(a.source.startswith("AVL simulator") for a in raised)
    for a in raised:
        watcher.alerts.clear(a.id, result="officer_safe")
