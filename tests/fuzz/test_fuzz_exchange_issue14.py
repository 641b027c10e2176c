"""Fuzz partner imports (EIDO) and the issue 14 writes: sign-offs, prompts, paper back-records."""
from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from . import FUZZ
from .harness import check_call, live, session_for
from .strategies import aware_time, bad_id, junk, mix, nasty_text, plain_text, text_arg, wrong_type

ANY = "SELECT id FROM incidents ORDER BY id"
OPEN = "SELECT id FROM incidents WHERE status <> 'closed' ORDER BY id"
SIGNOFFS = "SELECT id FROM grade_signoffs ORDER BY id"
PROMPTS = "SELECT id FROM incident_prompts ORDER BY id"


def mutate(data: Any, doc: Any, depth: int = 0) -> Any:
    """Replace, delete or keep one node somewhere down the document."""
    action = data.draw(st.integers(0, 9), label="action")
    if action < 2 or depth > 6 or not isinstance(doc, (dict, list)) or not doc:
        return data.draw(st.one_of(junk(), st.sampled_from((None, "", [], {}, -1, 1e400))), label="value")
    keys = list(doc) if isinstance(doc, dict) else list(range(len(doc)))
    key = keys[data.draw(st.integers(0, len(keys) - 1), label="key")]
    if action == 2:
        del doc[key]
        return doc
    doc[key] = mutate(data, doc[key], depth + 1)
    return doc


@FUZZ
@given(data=st.data())
def test_import_eido_never_leaks(world, data):
    s = session_for(data, world)
    base = world.sessions["inspector"].exchange.export_incident(1)
    # as another force would send it, under a fresh reference (our own documents are refused)
    doc = json.loads(json.dumps(base).replace("thamesvalley.police.uk", "other.police.uk"))
    ref = data.draw(st.uuids(), label="ref").hex
    doc["$id"] = f"urn:emergency:uid:incidentid:{ref}:other.police.uk"
    doc["incidentComponent"]["internalIncidentId"] = ref
    for _ in range(data.draw(st.integers(0, 3), label="mutations")):
        doc = mutate(data, doc)
    form = data.draw(st.sampled_from(("dict", "json", "bytes", "junk")), label="form")
    if form == "json":
        doc = json.dumps(doc, default=str)
    elif form == "bytes":
        doc = json.dumps(doc, default=str).encode()[: data.draw(st.integers(0, 10**6))]
    elif form == "junk":
        doc = data.draw(st.one_of(junk(), st.just("{"), st.just(b"\xff\xfe"), st.just("[]")), label="doc")
    check_call(world, s.exchange.import_eido, doc)


@FUZZ
@given(data=st.data())
def test_signoff_request_approve_reject_never_leak(world, data):
    s = session_for(data, world, data.draw(st.sampled_from(("handler", "super")), label="main"))
    which = data.draw(st.sampled_from(("request", "approve", "reject")), label="which")
    if which == "request":
        check_call(world, s.signoff.request, live(data, world, OPEN, bad_id(), "incident_id"),
                   grade=data.draw(mix(st.sampled_from(("G2", "G3", "G4", 3)), junk()), label="grade"),
                   reason=data.draw(text_arg(), label="reason"))
        return
    sid = live(data, world, SIGNOFFS, bad_id(), "signoff_id")
    if which == "approve":
        check_call(world, s.signoff.approve, sid, note=data.draw(st.one_of(st.none(), text_arg())))
    else:
        check_call(world, s.signoff.reject, sid, reason=data.draw(text_arg(), label="reason"))


@FUZZ
@given(data=st.data())
def test_prompts_and_victim_updates_never_leak(world, data):
    s = session_for(data, world, "despatch")
    which = data.draw(st.sampled_from(("ack", "eta", "victim")), label="which")
    if which == "ack":
        check_call(world, s.prompts.acknowledge, live(data, world, PROMPTS, bad_id(), "prompt_id"))
        return
    iid = live(data, world, ANY, bad_id(), "incident_id")
    if which == "eta":
        check_call(world, s.prompts.set_caller_eta, iid, promised_at=data.draw(aware_time(), label="at"))
    else:
        check_call(world, s.prompts.record_victim_update, iid, text=data.draw(text_arg(), label="text"),
                   new_eta=data.draw(st.one_of(st.none(), aware_time()), label="eta"))


@FUZZ
@given(data=st.data())
def test_paper_back_record_never_leaks(world, data):
    s = session_for(data, world, "despatch")
    check_call(world, s.paper.back_record, live(data, world, ANY, bad_id(), "incident_id"),
               text=data.draw(text_arg(), label="text"), original_at=data.draw(aware_time(), label="at"),
               written_by=data.draw(st.one_of(st.none(), plain_text(20), nasty_text(), wrong_type()),
                                    label="by"))
