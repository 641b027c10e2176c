"""Fuzz command writes: firearms declaration/command/authorisation, roles, major, NDM log, METHANE."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from . import FUZZ
from .harness import check_call, live, session_for
from .strategies import bad_id, junk, mix, nasty_text, plain_text, text_arg, wrong_type

ANY = "SELECT id FROM incidents ORDER BY id"
FIREARMS = "SELECT id FROM incidents WHERE firearms ORDER BY id"
ROLES = ("ITFC", "TFC", "OFC", "STFC", "SFC", "GOLD", "SILVER", "BRONZE", "silver")
METHANE_KEYS = ("m", "e", "t", "h", "a", "n", "emergency_services", "exact_location", "hazards",
                "casualties", "M", "Hazards", "bogus", "", "\x00", "x" * 300)


def incident(data, world, query=ANY):
    return live(data, world, query, bad_id(), "incident_id")


@FUZZ
@given(data=st.data())
def test_firearms_declare_accept_acknowledge_never_leak(world, data):
    s = session_for(data, world)
    fn = data.draw(st.sampled_from((s.command.declare_firearms, s.command.accept_firearms_command,
                                    s.command.acknowledge_firearms_alert)), label="fn")
    check_call(world, fn, incident(data, world))


@FUZZ
@given(data=st.data())
def test_authorise_armed_deployment_never_leaks(world, data):
    s = session_for(data, world)
    check_call(world, s.command.authorise_armed_deployment, incident(data, world, FIREARMS),
               threat_assessment=data.draw(text_arg(), label="threat"),
               working_strategy=data.draw(text_arg(), label="strategy"),
               rationale=data.draw(text_arg(), label="rationale"))


@FUZZ
@given(data=st.data())
def test_assign_role_never_leaks(world, data):
    s = session_for(data, world)
    role = data.draw(mix(st.sampled_from(ROLES), st.one_of(nasty_text(), wrong_type())), label="role")
    check_call(world, s.command.assign_role, incident(data, world), role,
               holder=data.draw(text_arg(40), label="holder"),
               accredited=data.draw(mix(st.booleans(), junk(), bad_pct=15), label="accredited"),
               reason=data.draw(st.one_of(st.none(), text_arg()), label="reason"))


@FUZZ
@given(data=st.data())
def test_declare_major_never_leaks(world, data):
    s = session_for(data, world)
    kind = data.draw(mix(st.sampled_from(("major", "critical", " Major ")), st.one_of(nasty_text(), wrong_type())))
    check_call(world, s.command.declare_major, incident(data, world), kind=kind)


@FUZZ
@given(data=st.data())
def test_log_decision_never_leaks(world, data):
    s = session_for(data, world)
    stage = data.draw(mix(st.integers(1, 5), st.one_of(st.sampled_from((0, 6, True, 2.0, "3")), junk())))
    check_call(world, s.command.log_decision, incident(data, world), stage=stage,
               decision=data.draw(text_arg(), label="decision"), rationale=data.draw(text_arg(), label="why"),
               options_considered=data.draw(st.one_of(st.none(), text_arg()), label="options"))


@FUZZ
@given(data=st.data())
def test_methane_never_leaks(world, data):
    s = session_for(data, world)
    fields = data.draw(st.dictionaries(mix(st.sampled_from(METHANE_KEYS[:10]), st.sampled_from(METHANE_KEYS)),
                                       mix(plain_text(60), st.one_of(junk(), st.integers())), max_size=4),
                       label="fields")
    check_call(world, s.command.methane, incident(data, world), **fields)
