"""Fuzz talk-group writes: allocate, release, move units, patch/unpatch, radio log."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from . import FUZZ
from .harness import check_call, live, session_for
from .strategies import bad_id, junk, mix, nasty_text, text_arg, wrong_type

GROUPS = "SELECT name FROM talk_groups ORDER BY name"
POOL = "SELECT name FROM talk_groups WHERE kind = 'incident' ORDER BY name"
HELD = "SELECT name FROM talk_groups WHERE incident_id IS NOT NULL ORDER BY name"
PARTNERS = "SELECT name FROM talk_groups WHERE kind IN ('partner', 'hailing') ORDER BY name"
OPEN = "SELECT id FROM incidents WHERE status <> 'closed' ORDER BY id"
HOLDERS = "SELECT incident_id FROM talk_groups WHERE incident_id IS NOT NULL ORDER BY name"
CALLSIGNS = "SELECT callsign FROM units ORDER BY callsign"
BAD_NAME = st.one_of(nasty_text(), wrong_type(), st.sampled_from(("TV-NOPE", "tv-mk-pri", "-X", "A" * 41)))


@FUZZ
@given(data=st.data())
def test_allocate_never_leaks(world, data):
    s = session_for(data, world, "despatch")
    iid = live(data, world, OPEN, bad_id(), "incident_id")
    name = live(data, world, POOL, BAD_NAME, "name", bad_pct=30) if data.draw(st.booleans()) else None
    check_call(world, s.talkgroups.allocate, iid, name=name)


@FUZZ
@given(data=st.data())
def test_release_never_leaks(world, data):
    s = session_for(data, world, "despatch")
    check_call(world, s.talkgroups.release, live(data, world, HOLDERS, bad_id(), "incident_id"),
               live(data, world, HELD, BAD_NAME, "name"))


@FUZZ
@given(data=st.data())
def test_move_units_never_leaks(world, data):
    s = session_for(data, world, "despatch")
    name = live(data, world, GROUPS, BAD_NAME, "name")
    known = world.ids(CALLSIGNS)
    one = st.integers(0, 10**6).map(lambda i: known[i % len(known)])
    calls = data.draw(mix(st.lists(mix(one, st.one_of(nasty_text(), wrong_type()), bad_pct=10),
                                   max_size=4),
                          st.one_of(junk(), st.lists(one, min_size=60, max_size=70))), label="callsigns")
    check_call(world, s.talkgroups.move_units, name, calls)


@FUZZ
@given(data=st.data())
def test_patch_and_unpatch_never_leak(world, data):
    s = session_for(data, world, "despatch")
    a = live(data, world, HELD, BAD_NAME, "a")
    b = live(data, world, PARTNERS, BAD_NAME, "b")
    if data.draw(st.booleans(), label="swap"):
        a, b = b, a
    fn = s.talkgroups.patch if data.draw(st.booleans(), label="patch") else s.talkgroups.unpatch
    check_call(world, fn, a, b)


@FUZZ
@given(data=st.data())
def test_log_transmission_never_leaks(world, data):
    s = session_for(data, world, "despatch")
    cs = data.draw(st.one_of(st.none(), mix(st.sampled_from(("MK01", "OX02")), junk())), label="callsign")
    check_call(world, s.talkgroups.log_transmission, live(data, world, GROUPS, BAD_NAME, "name"),
               data.draw(text_arg(300), label="text"), callsign=cs)
