"""Fuzz room continuity (transfer, take over, hand back) and the contact queue."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from . import FUZZ
from .harness import check_call, live, session_for
from .strategies import (aware_time, bad_id, coordinates, junk, mix, nasty_text, plain_text, text_arg,
                         wrong_type)

AREAS = "SELECT code FROM areas ORDER BY code"
ROOMS = "SELECT code FROM rooms ORDER BY code"
CONTACTS = "SELECT id FROM contacts ORDER BY id"
HELD = "SELECT id FROM contacts WHERE state IN ('taken', 'answered', 'assessed') ORDER BY id"
FLAGGED = "SELECT id FROM contacts WHERE needs_review ORDER BY id"
CHANNELS = ("999", "999-text", "101", "sms", "online", "email")
BAD_CODE = st.one_of(nasty_text(), wrong_type(), st.sampled_from(("MK", "north ", "atlantis")))


@FUZZ
@given(data=st.data())
def test_room_transfers_never_leak(world, data):
    s = session_for(data, world)
    which = data.draw(st.sampled_from(("transfer", "take_over", "hand_back")), label="which")
    reason = data.draw(text_arg(), label="reason")
    if which == "transfer":
        check_call(world, s.rooms.transfer_area, live(data, world, AREAS, BAD_CODE, "area"),
                   live(data, world, ROOMS, BAD_CODE, "room"), reason=reason)
    elif which == "take_over":
        check_call(world, s.rooms.take_over_all, reason=reason)
    else:
        check_call(world, s.rooms.hand_back, reason=data.draw(st.one_of(st.none(), text_arg())))


@FUZZ
@given(data=st.data())
def test_receive_never_leaks(world, data):
    s = session_for(data, world, "handler")
    channel = data.draw(mix(st.sampled_from(CHANNELS), BAD_CODE), label="channel")
    frm = data.draw(mix(st.sampled_from(("07700 900123", "+447700900123", "a@b.example")), junk()),
                    label="from_")
    text = data.draw(st.one_of(st.none(), text_arg(200),
                               st.sampled_from(("he has a gun", "help me please", "knife!!"))), label="text")
    check_call(world, s.contacts.receive, channel, from_=frm, text=text,
               at=data.draw(st.one_of(st.none(), aware_time()), label="at"))


@FUZZ
@given(data=st.data())
def test_queue_moves_never_leak(world, data):
    s = session_for(data, world, "handler")
    which = data.draw(st.sampled_from(("next", "answer", "abandon", "callback", "confirm", "dismiss")))
    if which == "next":
        skills = data.draw(st.one_of(st.none(), st.lists(mix(st.sampled_from(CHANNELS), BAD_CODE), max_size=3),
                                     junk()), label="skills")
        check_call(world, s.contacts.next_contact, skills=skills)
        return
    cid = live(data, world, FLAGGED if which in ("confirm", "dismiss") else CONTACTS, bad_id(), "contact_id")
    at = data.draw(st.one_of(st.none(), aware_time()), label="at")
    if which == "answer":
        check_call(world, s.contacts.answer, cid, at=at)
    elif which == "abandon":
        check_call(world, s.contacts.abandon, cid, at=at)
    elif which == "callback":
        check_call(world, s.contacts.request_callback, cid)
    elif which == "confirm":
        check_call(world, s.contacts.confirm_emergency, cid)
    else:
        check_call(world, s.contacts.dismiss_emergency, cid, reason=data.draw(text_arg(), label="reason"))


@FUZZ
@given(data=st.data())
def test_assess_resolve_and_to_incident_never_leak(world, data):
    s = world.sessions["handler"] if data.draw(st.integers(0, 9)) else session_for(data, world, "handler")
    if data.draw(st.booleans(), label="take first"):
        check_call(world, s.contacts.next_contact)
    cid = live(data, world, HELD, bad_id(), "contact_id")
    which = data.draw(st.sampled_from(("assess", "resolve", "to_incident")), label="which")
    at = data.draw(st.one_of(st.none(), aware_time()), label="at")
    if which == "assess":
        keys = ("threat", "harm", "risk", "investigation", "vulnerability", "engagement")
        thrive = data.draw(mix(st.fixed_dictionaries({k: plain_text(30) for k in keys}),
                               st.one_of(junk(), st.dictionaries(st.sampled_from(keys + ("x",)),
                                                                 st.one_of(plain_text(9), junk()), max_size=6))),
                           label="thrive")
        check_call(world, s.contacts.assess, cid, thrive=thrive, at=at)
    elif which == "resolve":
        check_call(world, s.contacts.resolve, cid, resolution=data.draw(text_arg(), label="resolution"), at=at)
    else:
        lat, lon = data.draw(coordinates(), label="latlon")
        t = data.draw(mix(st.sampled_from(("CONCERN", "DOMESTIC")), BAD_CODE), label="type")
        flags = data.draw(st.dictionaries(st.sampled_from(("firearms", "bogus")), mix(st.booleans(), junk()),
                                          max_size=1), label="flags")
        check_call(world, s.contacts.to_incident, cid, incident_type=t, lat=lat, lon=lon,
                   summary=data.draw(st.one_of(st.none(), text_arg()), label="summary"),
                   grade=data.draw(st.one_of(st.none(), mix(st.sampled_from(("G2", "G3")), junk()))),
                   address=data.draw(st.one_of(st.none(), text_arg()), label="address"),
                   caller_name=data.draw(st.one_of(st.none(), plain_text(20), junk()), label="name"), **flags)


@FUZZ
@given(data=st.data())
def test_fallback_switch_never_leaks(world, data):
    s = session_for(data, world)
    check_call(world, s.exercise.set_fallback, on=data.draw(mix(st.booleans(), junk(), bad_pct=20), label="on"),
               reason=data.draw(st.one_of(st.none(), text_arg()), label="reason"))


@FUZZ
@given(data=st.data())
def test_reclaim_orphans_and_presence_never_leak(world, data):
    s = session_for(data, world, "handler")
    limit = st.one_of(st.none(), st.floats(1, 3600), st.sampled_from((0, -1, 10**30)), junk())
    check_call(world, s.handoff.reclaim_orphans, dead_after_s=data.draw(mix(st.none(), limit), label="dead"))
    iid = data.draw(st.one_of(st.none(), st.integers(1, 4), bad_id()), label="incident_id")
    check_call(world, s.presence.open_incident, iid, typing=data.draw(st.one_of(st.booleans(), junk())))
