"""Units and despatch: status model, race-safe assignment, divert, ARV rule, recommendation."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from controlroom.errors import Conflict, InvalidInput, NotPermitted

from .conftest import MK, OXFORD
from .helpers import wait_for

M4_J11 = (51.419, -1.0)  # on the M4 near Reading: motorways area, south room



def sql(url: str, statement: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []


def park_all(url: str, *, status: str = "off_duty") -> None:
    """Known start: every unit free, booked `status`, far away in Oxford (tests place the ones they use)."""
    sql(url, "UPDATE units SET incident_id = NULL, status = %s, lat = %s, lon = %s, area_code = 'oxon'",
        (status, OXFORD[0], OXFORD[1]))


def place(url: str, callsign: str, lat: float, lon: float, status: str = "available") -> None:
    sql(url, "UPDATE units SET lat = %s, lon = %s, status = %s, incident_id = NULL WHERE callsign = %s",
        (lat, lon, status, callsign))


def new_incident(s, *, at=MK, kind="ASSAULT", **flags):
    return s.incidents.create(channel="999", incident_type=kind, summary=f"{kind} test", lat=at[0],
                              lon=at[1], grade="G1", **flags)


@pytest.fixture
def url(fresh_db_url):
    park_all(fresh_db_url)
    return fresh_db_url


@pytest.fixture
def desk(url, open_as):
    return open_as("despatch.north", url=url)


def test_assign_sends_unit_en_route_and_starts_incident_timers(url, desk):
    place(url, "MK11", *MK)
    inc = new_incident(desk)
    res = desk.despatch.assign(inc.id, "MK11")
    assert (res.unit.status, res.unit.incident_id) == ("en_route", inc.id)
    assert res.incident.status == "despatched" and res.incident.despatched_at is not None
    arrived = desk.despatch.arrived(inc.id, "MK11")
    assert arrived.incident.status == "at_scene" and arrived.incident.arrived_at is not None
    assert arrived.unit.status == "at_scene" and arrived.assignment.arrived_at is not None
    cleared = desk.despatch.clear(inc.id, "MK11", result="Words of advice given")
    assert (cleared.unit.status, cleared.unit.incident_id) == ("available", None)
    # no unit attends any more: open again (not closed — the despatcher closes it), times kept
    assert cleared.incident.status == "open" and cleared.incident.arrived_at is not None
    assert desk.incidents.get(inc.id).status == "open"
    [a] = desk.despatch.assignments(inc.id)
    assert a.cleared_at is not None and a.result == "Words of advice given"
    log = [e.text for e in desk.incidents.log(inc.id)]
    assert any("MK11 assigned" in t for t in log) and any("MK11 cleared" in t for t in log)


def test_two_consoles_racing_for_one_unit_exactly_one_wins_each_of_200_rounds(url, open_as):
    place(url, "MK12", *MK)
    a, b = open_as("despatch.north", url=url), open_as("despatch.south", url=url)
    inc_a, inc_b = new_incident(a), new_incident(b)
    barrier = threading.Barrier(2)
    outcomes: dict[str, list] = {"a": [], "b": []}

    def racer(name, session, incident_id):
        for _ in range(200):
            barrier.wait(timeout=10)
            try:
                session.despatch.assign(incident_id, "MK12")
                outcomes[name].append("won")
            except Conflict as exc:
                outcomes[name].append(str(exc))
            barrier.wait(timeout=10)
            if outcomes[name][-1] == "won":
                session.despatch.clear(incident_id, "MK12", result="Round over")
            barrier.wait(timeout=10)

    threads = [threading.Thread(target=racer, args=("a", a, inc_a.id)),
               threading.Thread(target=racer, args=("b", b, inc_b.id))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(outcomes["a"]) == len(outcomes["b"]) == 200
    for ra, rb in zip(outcomes["a"], outcomes["b"]):
        assert [ra, rb].count("won") == 1
        loser = rb if ra == "won" else ra
        assert "MK12 is already on incident TV-" in loser  # the Conflict names the incident
    assert sql(url, "SELECT count(*) FROM assignments WHERE callsign = 'MK12'")[0][0] == 200
    assert sql(url, "SELECT count(*) FROM assignments WHERE callsign = 'MK12' AND cleared_at IS NULL")[0][0] == 0


def test_database_refuses_a_second_open_assignment_even_bypassing_the_service(url):
    inc_ids = [r[0] for r in sql(url, "INSERT INTO incidents (urn, channel, incident_type, summary, lat, lon, "
                                      "area_code, room_code, created_by, updated_by) VALUES "
                                      "('X-1','999','ASSAULT','x',52,-0.7,'mk','north','t','t'), "
                                      "('X-2','999','ASSAULT','x',52,-0.7,'mk','north','t','t') RETURNING id")]
    sql(url, "INSERT INTO assignments (incident_id, callsign, assigned_by) VALUES (%s, 'MK13', 't')", (inc_ids[0],))
    with pytest.raises(psycopg.errors.UniqueViolation):
        sql(url, "INSERT INTO assignments (incident_id, callsign, assigned_by) VALUES (%s, 'MK13', 't')",
            (inc_ids[1],))


def test_busy_unit_is_refused_with_conflict_naming_its_incident(url, desk):
    place(url, "MK14", *MK)
    first, second = new_incident(desk), new_incident(desk)
    desk.despatch.assign(first.id, "MK14")
    with pytest.raises(Conflict, match=first.urn):
        desk.despatch.assign(second.id, "MK14")
    sql(url, "UPDATE units SET status = 'off_duty' WHERE callsign = 'MK15'")
    with pytest.raises(Conflict, match="MK15 is off duty"):
        desk.despatch.assign(second.id, "MK15")


def test_divert_moves_unit_and_records_it_on_both_incidents(url, desk):
    place(url, "MK16", *MK)
    old, new = new_incident(desk), new_incident(desk, kind="ROBBERY")
    desk.despatch.assign(old.id, "MK16")
    desk.despatch.arrived(old.id, "MK16")
    res = desk.despatch.divert(new.id, "MK16") if hasattr(desk.despatch, "divert") else None
    res = res or desk.despatch.assign(new.id, "MK16", divert=True)
    assert res.unit.incident_id == new.id and res.unit.status == "en_route"
    assert res.from_incident is not None and res.from_incident.id == old.id
    [was] = desk.despatch.assignments(old.id)
    [now] = desk.despatch.assignments(new.id)
    assert was.cleared_at is not None and new.urn in was.result
    assert now.diverted_from == old.id and now.cleared_at is None
    assert any(f"diverted to {new.urn}" in e.text for e in desk.incidents.log(old.id))
    assert any(f"diverted from {old.urn}" in e.text for e in desk.incidents.log(new.id))


def test_call_handler_may_not_assign_or_divert(url, open_as):
    handler = open_as("handler.north", url=url)
    inc = new_incident(handler)
    with pytest.raises(NotPermitted):
        handler.despatch.assign(inc.id, "MK11")


@pytest.mark.parametrize("start, target", [
    ("available", "at_scene"),      # nobody is at scene without an incident
    ("available", "transporting"),
    ("off_duty", "en_route"),       # en route only by being assigned
    ("refreshments", "refreshments"),
])
def test_illegal_status_transition_is_invalid_input_and_writes_nothing(url, desk, start, target):
    place(url, "MK17", *MK, status=start)
    before = sql(url, "SELECT count(*) FROM unit_status_log")[0][0]
    with pytest.raises(InvalidInput) as err:
        desk.units.set_status("MK17", target)
    assert err.value.field == "status" and "MK17" in str(err.value)
    assert desk.units.get("MK17").status == start
    assert sql(url, "SELECT count(*) FROM unit_status_log")[0][0] == before


def test_unit_on_an_incident_must_be_cleared_before_booking_available(url, desk):
    place(url, "MK11", *MK)
    inc = new_incident(desk)
    desk.despatch.assign(inc.id, "MK11")
    with pytest.raises(InvalidInput, match=f"still on incident {inc.urn}"):
        desk.units.set_status("MK11", "available")
    assert desk.units.set_status("MK11", "at_scene").status == "at_scene"  # the arrival
    assert desk.units.set_status("MK11", "transporting", note="Prisoner to custody").status == "transporting"
    assert desk.despatch.clear(inc.id, "MK11", result="Arrested").unit.status == "available"
    assert desk.units.set_status("MK11", "refreshments").status == "refreshments"


def test_armed_unit_refused_for_unauthorised_firearms_incident_then_allowed(url, desk, open_as):
    place(url, "ARV11", *MK)
    inc = new_incident(desk, kind="FIREARMS", firearms=True)
    with pytest.raises(NotPermitted, match=f"Armed deployment not authorised for {inc.urn}"):
        desk.despatch.assign(inc.id, "ARV11")
    assert desk.units.get("ARV11").status == "available"
    refused = open_as("auditor", url=url).audit.search(action="despatch.assign")
    assert refused and refused[0].outcome == "refused"
    sql(url, "UPDATE incidents SET armed_authorised_at = now(), armed_authorised_by = 'inspector.north' "
             "WHERE id = %s", (inc.id,))
    assert desk.despatch.assign(inc.id, "ARV11").unit.status == "en_route"


def test_recommend_gives_nearest_available_arv_and_skips_busy_and_off_duty(url, desk):
    near, mid, far = (52.045, -0.76), (52.06, -0.78), (51.95, -0.70)
    place(url, "ARV11", *near, status="off_duty")
    place(url, "ARV12", *mid)
    place(url, "ARV21", *far)
    place(url, "MK11", *MK)  # an IRV at the door: not armed, not recommended
    other = new_incident(desk)
    sql(url, "UPDATE units SET incident_id = %s, status = 'at_scene', lat = %s, lon = %s WHERE callsign = 'ARV31'",
        (other.id, *MK))
    inc = new_incident(desk, kind="FIREARMS", firearms=True)
    recs = desk.despatch.recommend(inc.id)
    assert [r.callsign for r in recs][:2] == ["ARV12", "ARV21"]
    assert all("ARV" in r.capabilities and r.status == "available" for r in recs)
    assert recs[0].distance_m < recs[1].distance_m and 0 < recs[0].eta_s < recs[1].eta_s
    # A move and a status change in this console show at once; another console's via events.
    desk.units.update_position("ARV21", *MK)
    assert desk.despatch.recommend(inc.id)[0].callsign == "ARV21"
    desk.units.set_status("ARV21", "refreshments")
    assert "ARV21" not in [r.callsign for r in desk.despatch.recommend(inc.id)]


def test_recommend_follows_other_consoles_changes_through_the_event_stream(url, desk, open_as):
    place(url, "DOG61", 51.95, -0.70)
    place(url, "DOG62", 52.16, -0.95)
    inc = new_incident(desk, kind="MISSING")
    assert desk.despatch.recommend(inc.id, capability="DOG")[0].callsign == "DOG61"
    other = open_as("despatch.south", url=url)
    other.units.update_position("DOG62", *MK)
    assert wait_for(lambda: desk.despatch.recommend(inc.id, capability="DOG")[0].callsign == "DOG62")
    other.units.set_status("DOG62", "off_duty")
    assert wait_for(lambda: [r.callsign for r in desk.despatch.recommend(inc.id, capability="DOG")] == ["DOG61"])


def test_rtc_on_the_motorway_gets_roads_policing_and_other_room_units_are_marked(url, desk):
    place(url, "RP51", 51.418, -0.9685)
    place(url, "MK11", *M4_J11)
    place(url, "BE11", 51.4154, -0.7536)  # Bracknell: Berkshire East, a north-room area
    sql(url, "UPDATE units SET area_code = 'berks-east' WHERE callsign = 'BE11'")
    sql(url, "UPDATE units SET area_code = 'motorways' WHERE callsign IN ('RP51', 'MK11')")
    rtc = new_incident(desk, at=M4_J11, kind="RTC")
    assert (rtc.area_code, rtc.room_code) == ("motorways", "south")
    assert [r.callsign for r in desk.despatch.recommend(rtc.id)] == ["RP51"]
    town_rtc = new_incident(desk, kind="RTC")  # in Milton Keynes the response car goes first
    recs = desk.despatch.recommend(town_rtc.id)
    assert recs and all("IRV" in r.capabilities for r in recs)
    irvs = {r.callsign: r for r in desk.despatch.recommend(rtc.id, capability="IRV")}
    assert [irvs["MK11"].room_code, irvs["MK11"].other_room] == ["south", False]
    assert [irvs["BE11"].room_code, irvs["BE11"].other_room] == ["north", True]
    assert irvs["MK11"].eta_s < irvs["BE11"].eta_s


def test_position_update_derives_area_emits_unaudited_event_and_ignores_stale_fixes(url, desk, open_as):
    watcher = open_as("handler.north", url=url)
    seen = []
    watcher.events.subscribe(lambda ev: ev.kind == "unit.position" and seen.append(ev))
    t0 = datetime.now(timezone.utc)
    assert desk.units.update_position("MK11", *OXFORD, at=t0) is True
    assert desk.units.get("MK11").area_code == "oxon"
    assert desk.units.update_position("MK11", *MK, at=t0 - timedelta(seconds=5)) is False
    assert desk.units.get("MK11").area_code == "oxon"
    assert wait_for(lambda: seen)
    assert seen[0].payload["callsign"] == "MK11" and seen[0].payload["area_code"] == "oxon"
    assert sql(url, "SELECT count(*) FROM audit_log WHERE action = 'unit.position'")[0][0] == 0
    with pytest.raises(InvalidInput):
        desk.units.update_position("NOPE99", *MK)
    n = desk.units.update_positions([("MK11", *MK, t0 + timedelta(seconds=1)),
                                     ("MK12", *MK, t0 + timedelta(seconds=1))])
    assert n == 2 and desk.units.get("MK12").area_code == "mk"


def test_timeline_shows_statuses_incidents_and_positions(url, desk):
    place(url, "MK12", *MK)
    inc = new_incident(desk)
    desk.units.update_position("MK12", 52.05, -0.77)
    desk.despatch.assign(inc.id, "MK12")
    desk.despatch.arrived(inc.id, "MK12")
    desk.despatch.clear(inc.id, "MK12", result="No trace")
    kinds = [e.kind for e in desk.units.timeline("MK12")]
    assert {"position", "assigned", "arrived", "cleared", "status"} <= set(kinds)
    assert kinds.index("assigned") < kinds.index("arrived") < kinds.index("cleared")


def test_list_filters_by_area_status_and_capability(url, desk):
    place(url, "ARV11", *MK)
    sql(url, "UPDATE units SET area_code = 'mk' WHERE callsign = 'ARV11'")
    arvs = desk.units.list(capability="ARV")
    assert arvs and all("ARV" in u.capabilities for u in arvs)
    assert [u.callsign for u in desk.units.list(area="mk", status="available", capability="ARV")] == ["ARV11"]
    with pytest.raises(InvalidInput):
        desk.units.list(status="napping")


def test_avl_simulator_moves_units_through_the_service(url):
    from controlroom.demo import avl as avl_sim
    sql(url, "UPDATE units SET status = 'available'")
    before = dict(sql(url, "SELECT callsign, lat FROM units"))
    sent = avl_sim.run(url, units=5, rate=50, seconds=0.5, username="despatch.north", password="demo")
    assert sent >= 10
    moved = [cs for cs, lat in sql(url, "SELECT callsign, lat FROM units") if lat != before[cs]]
    assert 1 <= len(moved) <= 5
    assert sql(url, "SELECT count(*) FROM events WHERE kind = 'unit.position'")[0][0] == sent
