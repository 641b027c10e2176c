"""Fuzz every incident write: success, or a readable ControlRoomError and an untouched database."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from . import FUZZ
from .harness import check_call, live, session_for
from .strategies import (bad_id, coordinates, junk, mix, nasty_text, plain_text, text_arg,
                         wrong_type)

CHANNELS = ("999", "101", "online", "internal")
TYPES = ("DOMESTIC", "BURGLARY", "RTC", "CONCERN", "FIREARMS")
FLAGS = ("firearms", "domestic_abuse", "vulnerable_person", "repeat_victim", "missing_person")
OPEN = "SELECT id FROM incidents WHERE status <> 'closed' ORDER BY id"
CLOSED = "SELECT id FROM incidents WHERE status = 'closed' ORDER BY id"
ANY = "SELECT id FROM incidents ORDER BY id"


def code(valid: tuple[str, ...]) -> st.SearchStrategy:
    return mix(st.sampled_from(valid), st.one_of(nasty_text(), wrong_type(), st.just("NOPE")))


def grade() -> st.SearchStrategy:
    return mix(st.sampled_from(("G1", "G2", "G3", "G4", "g2", 3, None)),
               st.one_of(st.sampled_from(("G0", "G5", 0, 5, True, 2.0, "G 1")), junk()))


def flags() -> st.SearchStrategy:
    return st.dictionaries(st.one_of(st.sampled_from(FLAGS), st.sampled_from(("status", "version", "x"))),
                           mix(st.booleans(), junk()), max_size=3)


@FUZZ
@given(data=st.data())
def test_create_never_leaks_or_writes_on_failure(world, data):
    s = session_for(data, world)
    lat, lon = data.draw(coordinates(), label="latlon")
    check_call(world, s.incidents.create, channel=data.draw(code(CHANNELS)),
               incident_type=data.draw(code(TYPES)), summary=data.draw(text_arg(200)), lat=lat, lon=lon,
               grade=data.draw(grade()), caller_name=data.draw(st.one_of(st.none(), text_arg(40))),
               caller_phone=data.draw(mix(st.sampled_from(("07700 900123", "+44 (0)1865 123456", None)))),
               address=data.draw(st.one_of(st.none(), text_arg(80))), **data.draw(flags(), label="flags"))


@FUZZ
@given(data=st.data())
def test_update_never_leaks_or_writes_on_failure(world, data):
    s = session_for(data, world)
    iid = live(data, world, ANY, bad_id(), "incident_id")
    stale = data.draw(st.integers(0, 99), label="stale?")
    if stale < 20:
        version = data.draw(bad_id(), label="version")
    else:  # the version on screen, or one a colleague has since overtaken
        current = world.ids("SELECT version FROM incidents WHERE id = %s", (iid,)) \
            if isinstance(iid, int) and not isinstance(iid, bool) and 0 < iid < 2**63 else []
        version = (current[0] if current else 1) - (1 if stale < 35 else 0)
    fields = data.draw(st.dictionaries(
        st.sampled_from(("summary", "address", "caller_name", "caller_phone", "channel", "incident_type",
                         "grade", "status", "id", "urn", "nonsense") + FLAGS),
        st.one_of(plain_text(60), junk(), st.booleans()), max_size=4), label="fields")
    if data.draw(st.booleans(), label="move"):
        fields["lat"], fields["lon"] = data.draw(coordinates(), label="latlon")
    check_call(world, s.incidents.update, iid, expected_version=version, **fields)


@FUZZ
@given(data=st.data())
def test_grade_and_regrade_never_leak(world, data):
    s = session_for(data, world)
    iid = live(data, world, ANY, bad_id(), "incident_id")
    fn = data.draw(st.sampled_from((s.incidents.grade, s.incidents.regrade)), label="fn")
    check_call(world, fn, iid, data.draw(grade(), label="grade"),
               rationale=data.draw(st.one_of(st.none(), text_arg()), label="rationale"))


@FUZZ
@given(data=st.data())
def test_close_and_reopen_never_leak(world, data):
    s = session_for(data, world)
    if data.draw(st.booleans(), label="close"):
        iid = live(data, world, OPEN, bad_id(), "incident_id")
        check_call(world, s.incidents.close, iid,
                   closing_code=data.draw(code(("NFA", "ADVICE", "CRIME", "nfa", "DUPLICATE"))),
                   qualifier=data.draw(st.one_of(st.none(), code(("no_offences", "by_phone", "linked")))),
                   result=data.draw(text_arg()))
    else:
        iid = live(data, world, CLOSED, bad_id(), "incident_id")
        check_call(world, s.incidents.reopen, iid, reason=data.draw(text_arg()))


@FUZZ
@given(data=st.data())
def test_link_never_leaks(world, data):
    s = session_for(data, world)
    a = live(data, world, ANY, bad_id(), "a")
    b = live(data, world, ANY, bad_id(), "b")
    check_call(world, s.incidents.link, a, b, reason=data.draw(text_arg()),
               kind=data.draw(code(("related", "duplicate"))))


@FUZZ
@given(data=st.data())
def test_thrive_never_leaks(world, data):
    s = session_for(data, world)
    iid = live(data, world, ANY, bad_id(), "incident_id")
    fields = {f: data.draw(text_arg(), label=f) for f in
              ("threat", "harm", "risk", "investigation", "vulnerability", "engagement")}
    check_call(world, s.incidents.thrive, iid, risk_level=data.draw(
        st.one_of(st.none(), code(("high", "medium", "low")))), **fields)


@FUZZ
@given(data=st.data())
def test_add_log_never_leaks(world, data):
    s = session_for(data, world)
    iid = live(data, world, ANY, bad_id(), "incident_id")
    check_call(world, s.incidents.add_log, iid, data.draw(text_arg(400), label="text"),
               kind=data.draw(mix(st.sampled_from(("note", "call")), st.one_of(nasty_text(), wrong_type()))))


@FUZZ
@given(data=st.data())
def test_lookups_by_hostile_reference_never_leak(world, data):
    s = session_for(data, world)
    check_call(world, s.incidents.get_by_urn, data.draw(st.one_of(nasty_text(), wrong_type())))
    check_call(world, s.incidents.get, data.draw(bad_id()))
    check_call(world, s.incidents.record_breaches)


@FUZZ
@given(data=st.data())
def test_refusals_with_hostile_references_are_still_audited(world, data):
    s = world.sessions["auditor"]  # may write nothing: every call is refused and must be audited
    ref = data.draw(st.one_of(st.sampled_from(("x" * 65, "a\x00b", "é" * 100_000, "1\x00")), nasty_text(),
                              bad_id()), label="ref")
    fn = data.draw(st.sampled_from((lambda: s.incidents.add_log(ref, "x"),
                                    lambda: s.incidents.grade(ref, "G1"),
                                    lambda: s.incidents.reopen(ref, reason="x"),
                                    lambda: s.despatch.assign(1, ref),
                                    lambda: s.talkgroups.log_transmission(ref, "x"),
                                    lambda: s.units.set_status(ref, "available"))), label="call")
    check_call(world, fn)
