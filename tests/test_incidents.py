"""Incidents end to end (issue 4): grading, THRIVE, update conflicts, close/reopen, links, breaches,
duplicates/history and gazetteer suggestions, all on real PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest

from controlroom.errors import Conflict, InvalidInput, NotPermitted

from .conftest import MK, OXFORD
from .helpers import new, spot, sql

# ---- grading and deadlines ----------------------------------------------------------------
def test_g1_deadline_is_15_minutes_urban_and_20_rural(open_as):
    s = open_as("handler.north")
    urban = new(s, at=MK, grade="G1")
    rural = new(s, at=(51.93, -0.98), grade="G1")  # open Buckinghamshire countryside
    assert urban.deadline_at - urban.created_at == timedelta(minutes=15)
    assert rural.deadline_at - rural.created_at == timedelta(minutes=20)


def test_call_handler_may_grade_and_upgrade_but_not_downgrade_a_g1(open_as):
    handler, sup = open_as("handler.south"), open_as("super.south")
    inc = new(handler)
    assert inc.grade is None and inc.deadline_at is None
    g3 = handler.incidents.grade(inc.id, "G3")
    assert g3.grade == "G3" and g3.deadline_at - g3.created_at == timedelta(hours=48)
    g1 = handler.incidents.grade(inc.id, 1, rationale="Caller now reports a knife")
    assert g1.grade == "G1" and g1.version == g3.version + 1
    with pytest.raises(NotPermitted, match="downgrade a G1"):
        handler.incidents.grade(inc.id, "G2", rationale="Knife not seen after all")
    assert handler.incidents.get(inc.id).grade == "G1"
    g2 = sup.incidents.grade(inc.id, "G2", rationale="Offender left, no weapon seen")
    assert g2.grade == "G2" and g2.deadline_at - g2.created_at == timedelta(minutes=60)
    texts = [e.text for e in handler.incidents.log(inc.id) if e.kind == "grade"]
    assert texts == ["Graded G3", "Upgraded G1 (was G3): Caller now reports a knife",
                     "Downgraded G2 (was G1): Offender left, no weapon seen"]
    refusals = open_as("auditor").audit.search(action="incident.downgrade_g1")
    assert any(r.outcome == "refused" and r.username == "handler.south" for r in refusals)


def test_regrade_needs_a_rationale_and_a_real_grade(open_as):
    s = open_as("handler.north")
    inc = new(s, grade="G2")
    with pytest.raises(InvalidInput, match="rationale") as err:
        s.incidents.grade(inc.id, "G1")
    assert err.value.field == "rationale"
    with pytest.raises(InvalidInput, match="not valid") as err:
        s.incidents.grade(inc.id, 9, rationale="x")
    assert err.value.field == "grade"
    assert s.incidents.get(inc.id).version == inc.version


def test_grade_event_carries_the_new_row_and_rationale(open_as):
    s = open_as("handler.north")
    inc = new(s, grade="G3")
    seen = []
    s.events.subscribe(seen.append)
    s.incidents.grade(inc.id, "G2", rationale="Vulnerable caller")
    from .test_foundation import wait_for
    assert wait_for(lambda: any(e.kind == "incident.graded" for e in seen))
    ev = next(e for e in seen if e.kind == "incident.graded")
    assert ev.payload["grade"] == "G2" and ev.payload["urn"] == inc.urn
    assert ev.payload["previous_grade"] == "G3" and ev.payload["rationale"] == "Vulnerable caller"
    assert ev.payload["room_code"] == "south" and ev.payload["version"] == inc.version + 1


# ---- update with optimistic version -------------------------------------------------------
def test_stale_update_is_a_conflict_naming_who_changed_it(open_as):
    a, b = open_as("handler.north"), open_as("despatch.north")
    inc = new(a)
    b.incidents.update(inc.id, expected_version=inc.version, summary="Fight, two males, one injured")
    with pytest.raises(Conflict, match=r"changed by despatch\.north at \d\d:\d\d:\d\d") as err:
        a.incidents.update(inc.id, expected_version=inc.version, address="12 High St")
    assert "Reload" in str(err.value)
    cur = a.incidents.get(inc.id)
    assert cur.summary == "Fight, two males, one injured" and cur.address is None and cur.version == 2


def test_update_moves_location_and_rederives_area_room_and_deadline(open_as):
    s = open_as("handler.north")
    inc = new(s, at=MK, grade="G1")
    moved = s.incidents.update(inc.id, expected_version=1, lat=OXFORD[0], lon=OXFORD[1],
                               domestic_abuse=True)
    assert (moved.area_code, moved.room_code, moved.domestic_abuse) == ("oxon", "south", True)
    assert moved.deadline_at - moved.created_at == timedelta(minutes=15)


@pytest.mark.parametrize("fields, field", [
    ({"summary": ""}, "summary"),
    ({"summary": "x" * 10_240}, "summary"),
    ({"incident_type": "UFO"}, "incident_type"),
    ({"lat": 51.5072, "lon": -0.1276}, "location"),
    ({"grade": "G1"}, "grade"),
    ({"firearms": "yes"}, "firearms"),
    ({"address": "a" * 10_240}, "address"),
])
def test_bad_update_is_refused_and_writes_nothing(open_as, fields, field):
    s = open_as("handler.north")
    inc = new(s)
    with pytest.raises(InvalidInput) as err:
        s.incidents.update(inc.id, expected_version=1, **fields)
    assert err.value.field == field and len(str(err.value)) > 10
    assert s.incidents.get(inc.id) == inc


# ---- close / reopen -----------------------------------------------------------------------
def test_close_is_refused_while_units_are_assigned(open_as, db_url):
    s = open_as("despatch.south")
    inc = new(s)
    sql(db_url, "UPDATE units SET incident_id = %s, status = 'at_scene' WHERE callsign IN ('OX11', 'OX12')",
        (inc.id,))
    with pytest.raises(InvalidInput, match="OX11, OX12") as err:
        s.incidents.close(inc.id, closing_code="NFA", result="All quiet")
    assert err.value.field == "units" and s.incidents.get(inc.id).status == "open"
    sql(db_url, "UPDATE units SET incident_id = NULL, status = 'available' WHERE incident_id = %s", (inc.id,))
    closed = s.incidents.close(inc.id, closing_code="arrest", qualifier="one_arrest", result="Male arrested")
    assert (closed.status, closed.closing_code, closed.closing_qualifier) == ("closed", "ARREST", "one_arrest")
    assert closed.closed_at is not None and inc.id not in {i.id for i in s.incidents.list_open()}
    assert s.incidents.log(inc.id)[-1].text == "Closed ARREST (one_arrest): Male arrested"


@pytest.mark.parametrize("kwargs, field", [
    ({"closing_code": "SORTED"}, "closing_code"),
    ({"closing_code": None}, "closing_code"),
    ({"closing_code": "NFA", "qualifier": "one_arrest"}, "qualifier"),
    ({"closing_code": "NFA", "result": "  "}, "result"),
    ({"closing_code": "NFA", "result": "r" * 10_240}, "result"),
])
def test_close_without_valid_code_or_result_is_refused(open_as, kwargs, field):
    s = open_as("despatch.north")
    inc = new(s)
    args = {"result": "Words of advice"} | kwargs
    with pytest.raises(InvalidInput) as err:
        s.incidents.close(inc.id, **args)
    assert err.value.field == field
    assert s.incidents.get(inc.id).status == "open"


def test_call_handler_closes_only_incidents_that_never_had_a_unit(open_as, db_url):
    h = open_as("handler.north")
    never = new(h)
    assert h.incidents.close(never.id, closing_code="ADVICE", result="Advice given by phone").status == "closed"
    had = new(h)
    sql(db_url, "UPDATE incidents SET despatched_at = now(), status = 'despatched' WHERE id = %s", (had.id,))
    with pytest.raises(NotPermitted, match="units deployed"):
        h.incidents.close(had.id, closing_code="NFA", result="x")
    assert open_as("despatch.north").incidents.close(had.id, closing_code="NFA", result="x").status == "closed"


def test_reopen_clears_result_and_keeps_the_log(open_as):
    d = open_as("despatch.south")
    inc = new(d)
    d.incidents.close(inc.id, closing_code="NFA", result="Nothing found")
    with pytest.raises(NotPermitted):
        open_as("handler.south").incidents.reopen(inc.id, reason="Caller rang back")
    again = d.incidents.reopen(inc.id, reason="Caller rang back: male has returned")
    assert (again.status, again.closing_code, again.closed_at) == ("open", None, None)
    assert [e.kind for e in d.incidents.log(inc.id)][-2:] == ["closed", "reopened"]
    with pytest.raises(InvalidInput, match="not closed"):
        d.incidents.reopen(inc.id, reason="again")


# ---- links and THRIVE ---------------------------------------------------------------------
def test_link_duplicates_once_in_either_direction(open_as):
    s = open_as("super.north")
    a, b = new(s), new(s)
    link = s.incidents.link(b.id, a.id, reason="Same fight, second caller", kind="duplicate")
    assert (link.a_id, link.b_id, link.kind) == (min(a.id, b.id), max(a.id, b.id), "duplicate")
    with pytest.raises(InvalidInput, match="already linked"):
        s.incidents.link(a.id, b.id, reason="again")
    with pytest.raises(InvalidInput, match="itself"):
        s.incidents.link(a.id, a.id, reason="x")
    assert [(l.other_urn, l.reason) for l in s.incidents.links(a.id)] == [(b.urn, "Same fight, second caller")]
    assert any("Linked (duplicate)" in e.text for e in s.incidents.log(b.id))


def test_thrive_is_versioned_and_keeps_every_assessment(open_as):
    s = open_as("handler.north")
    inc = new(s, incident_type="DOMESTIC", domestic_abuse=True)
    base = dict(threat="Partner threatening", harm="Minor injury", risk="Escalating", investigation="DA crime",
                vulnerability="Children present", engagement="Victim engaging")
    v1 = s.incidents.thrive(inc.id, **base)
    v2 = s.incidents.thrive(inc.id, **base | {"risk": "High: weapon mentioned"}, risk_level="high")
    assert (v1.version, v2.version) == (1, 2)
    assert [t.risk for t in s.incidents.thrive_history(inc.id)] == ["Escalating", "High: weapon mentioned"]
    with pytest.raises(InvalidInput) as err:
        s.incidents.thrive(inc.id, **base | {"harm": ""})
    assert err.value.field == "harm" and len(s.incidents.thrive_history(inc.id)) == 2


# ---- SLA breaches -------------------------------------------------------------------------
def test_breach_is_recorded_once_however_many_consoles_notice(open_as, db_url):
    a, b = open_as("handler.north"), open_as("despatch.south")
    inc = new(a, grade="G1")
    met = new(a, grade="G1")
    sql(db_url, "UPDATE incidents SET deadline_at = now() - interval '1 minute' WHERE id IN (%s, %s)",
        (inc.id, met.id))
    sql(db_url, "UPDATE incidents SET arrived_at = now() - interval '2 minutes' WHERE id = %s", (met.id,))
    first = [x for x in a.incidents.record_breaches() if x.incident_id in (inc.id, met.id)]
    second = [x for x in b.incidents.record_breaches() if x.incident_id in (inc.id, met.id)]
    assert [x.urn for x in first] == [inc.urn] and second == []
    assert len(a.incidents.breaches(inc.id)) == 1 and a.incidents.breaches(met.id) == []
    events = sql(db_url, "SELECT payload->'breach'->>'grade' FROM events WHERE kind = 'incident.breached' "
                         "AND entity_id = %s", (str(inc.id),))
    assert events == [("G1",)]
    assert open_as("auditor").incidents.record_breaches() == []


# ---- duplicates, history, repeat callers --------------------------------------------------
def test_duplicates_history_and_repeat_caller_are_found(open_as, db_url):
    s = open_as("handler.south")
    here = spot()
    first = new(s, at=here, caller_phone="07700 900123", summary="Shouting next door")
    near = new(s, at=(here[0] + 0.001, here[1]), summary="Screams heard")           # ~110 m
    far = new(s, at=(here[0] + 0.004, here[1]), summary="Too far to matter")         # ~450 m
    other_caller = new(s, at=spot(), caller_phone="07700900123", summary="Same caller elsewhere")
    old = new(s, at=(here[0] + 0.0002, here[1]), summary="Domestic last spring")      # ~22 m, closed
    s2 = open_as("despatch.south")
    s2.incidents.close(old.id, closing_code="NFA", result="Words of advice")
    sql(db_url, "UPDATE incidents SET created_at = now() - interval '3 months' WHERE id = %s", (old.id,))
    stale = new(s, at=(here[0] - 0.0001, here[1]), summary="Two years ago")
    sql(db_url, "UPDATE incidents SET created_at = now() - interval '2 years' WHERE id = %s", (stale.id,))

    rel = s.incidents.find_related(lat=here[0], lon=here[1], caller_phone="07700-900-123")
    dup_ids = {d.id: d.reason for d in rel.duplicates}
    assert dup_ids == {first.id: "nearby", near.id: "nearby", other_caller.id: "same caller"}
    assert far.id not in dup_ids and old.id not in dup_ids
    assert [h.id for h in rel.history] == [old.id] and rel.history[0].closing_code == "NFA"
    assert rel.history[0].distance_m == pytest.approx(22, abs=3)
    assert rel.repeat_caller_count == 2

    created = new(s, at=here, caller_phone="07700900123", summary="Third call")
    last = s.incidents.last_related
    assert created.id not in {d.id for d in last.duplicates} and last.repeat_caller_count == 2
    assert {first.id, near.id} <= {d.id for d in last.duplicates}


def test_duplicates_ignore_incidents_older_than_an_hour(open_as, db_url):
    s = open_as("handler.north")
    here = spot()
    inc = new(s, at=here)
    sql(db_url, "UPDATE incidents SET created_at = now() - interval '61 minutes' WHERE id = %s", (inc.id,))
    rel = s.incidents.find_related(lat=here[0], lon=here[1])
    assert inc.id not in {d.id for d in rel.duplicates} and inc.id in {h.id for h in rel.history}


# ---- gazetteer ----------------------------------------------------------------------------
def test_gazetteer_suggests_places_despite_typos_with_area_and_room(open_as):
    s = open_as("handler.north")
    top = s.incidents.suggest_places("Aylesbry")[0]
    assert (top.name, top.area, top.room) == ("Aylesbury", "bucks", "north")
    assert s.incidents.suggest_places("oxf")[0].name.startswith("Oxf")
    j = s.incidents.suggest_places("M4 J11")
    assert j[0].kind == "junction" and j[0].area_code == "motorways" and j[0].room_code == "south"
    assert len(s.incidents.suggest_places("a", limit=3)) <= 3
    assert s.incidents.suggest_places("   ") == []


def test_pasted_coordinates_give_area_and_room(open_as):
    s = open_as("handler.north")
    [p] = s.incidents.suggest_places("51.7520, -1.2577")
    assert (p.kind, p.area_code, p.room_code) == ("coordinates", "oxon", "south")
    [outside] = s.incidents.suggest_places("51.5072,-0.1276")
    assert not outside.inside_force and outside.room is None
