"""Fuzz unit status/AVL writes and despatch (assign, divert, arrive, clear)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from controlroom.models.resources import UNIT_STATUSES

from . import FUZZ
from .harness import check_call, live, session_for
from .strategies import aware_time, bad_id, coordinates, junk, mix, nasty_text, text_arg, wrong_type

CALLSIGNS = "SELECT callsign FROM units ORDER BY callsign"
ON_INCIDENT = "SELECT callsign FROM units WHERE incident_id IS NOT NULL ORDER BY callsign"
OPEN = "SELECT id FROM incidents WHERE status <> 'closed' ORDER BY id"
ASSIGNED = "SELECT incident_id FROM units WHERE incident_id IS NOT NULL ORDER BY callsign"


def callsign(data, world, query=CALLSIGNS):
    bad = st.one_of(nasty_text(), wrong_type(), st.sampled_from(("ZZ999", "mk01 ", "MK-01", "")))
    return live(data, world, query, bad, "callsign")


@FUZZ
@given(data=st.data())
def test_set_status_never_leaks(world, data):
    s = session_for(data, world, "despatch")
    status = data.draw(mix(st.sampled_from(UNIT_STATUSES), st.one_of(nasty_text(), wrong_type(),
                                                                      st.just("AVAILABLE"))))
    check_call(world, s.units.set_status, callsign(data, world), status,
               note=data.draw(st.one_of(st.none(), text_arg())))


@FUZZ
@given(data=st.data())
def test_update_position_never_leaks(world, data):
    s = session_for(data, world, "despatch")
    lat, lon = data.draw(coordinates(), label="latlon")
    check_call(world, s.units.update_position, callsign(data, world), lat, lon,
               at=data.draw(st.one_of(st.none(), aware_time()), label="at"))


@FUZZ
@given(data=st.data())
def test_update_positions_batch_never_leaks(world, data):
    s = session_for(data, world, "despatch")
    fix = st.tuples(st.one_of(st.sampled_from(("MK01", "OX01", "RD01")), nasty_text(), wrong_type()),
                    *[st.floats(-1.3, 52.1) for _ in range(2)], aware_time())
    odd = st.one_of(junk(), st.tuples(st.text(max_size=4)), st.lists(st.integers(), max_size=6))
    batch = data.draw(st.one_of(st.lists(mix(fix, odd, bad_pct=15), max_size=5), junk()), label="batch")
    check_call(world, s.units.update_positions, batch)


@FUZZ
@given(data=st.data())
def test_assign_and_divert_never_leak(world, data):
    s = session_for(data, world, "despatch")
    iid = live(data, world, OPEN, bad_id(), "incident_id")
    check_call(world, s.despatch.assign, iid, callsign(data, world),
               divert=data.draw(mix(st.booleans(), junk(), bad_pct=10), label="divert"))


@FUZZ
@given(data=st.data())
def test_arrived_and_clear_never_leak(world, data):
    s = session_for(data, world, "despatch")
    iid = live(data, world, ASSIGNED, bad_id(), "incident_id", bad_pct=30)
    cs = callsign(data, world, ON_INCIDENT)
    if data.draw(st.booleans(), label="arrive"):
        check_call(world, s.despatch.arrived, iid, cs)
    else:
        check_call(world, s.despatch.clear, iid, cs, result=data.draw(text_arg(), label="result"))


@FUZZ
@given(data=st.data())
def test_recommend_with_hostile_arguments_never_leaks(world, data):
    s = session_for(data, world, "despatch")
    iid = live(data, world, OPEN, bad_id(), "incident_id")
    check_call(world, s.despatch.recommend, iid,
               capability=data.draw(st.one_of(st.none(), mix(st.sampled_from(("IRV", "ARV")), junk()))))
