"""Issue 14 standards on real PostgreSQL: supervised downgrades, THRIVE reassessment prompts and the
close policy, ageing / victim-update prompts, answer banding against a hand-computed fixture,
paper fallback (printable log, blank sheets, back-records with original times)."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from controlroom.errors import InvalidInput, NotPermitted

from .conftest import MK
from .helpers import new, sql

THRIVE = dict(threat="Ex-partner outside", harm="Assault likely", risk="High", investigation="Bodycam",
              vulnerability="Lives alone", engagement="Caller wants attendance")


# ---- supervised downgrades ----------------------------------------------------------------
def test_g2_downgrade_by_despatcher_is_refused_and_requests_sign_off(open_as):
    d, sup = open_as("despatch.south"), open_as("super.south")
    inc = new(d, grade="G2")
    with pytest.raises(NotPermitted, match=r"supervisor's sign-off has been requested \(request \d+"):
        d.incidents.grade(inc.id, "G3", rationale="Offender has left, no injuries")
    assert d.incidents.get(inc.id).grade == "G2"
    [req] = sup.signoff.pending(room="south")
    assert (req.incident_id, req.from_grade, req.to_grade, req.requested_by) == (inc.id, "G2", "G3", "despatch.south")
    # asking again does not pile up requests
    with pytest.raises(NotPermitted):
        d.incidents.grade(inc.id, "G3", rationale="Offender has left, no injuries")
    assert len(sup.signoff.pending()) == 1
    # the requester cannot sign off, nor can a despatcher
    with pytest.raises(NotPermitted):
        d.signoff.approve(req.id)
    done = sup.signoff.approve(req.id, note="Agreed")
    assert done.grade == "G3" and done.deadline_at - done.created_at == timedelta(hours=48)
    decided = sup.signoff.get(req.id)
    assert (decided.status, decided.requested_by, decided.decided_by) == ("approved", "despatch.south", "super.south")
    line = [e.text for e in d.incidents.log(inc.id) if e.kind == "grade"][-1]
    assert "requested by despatch.south" in line and "signed off by super.south" in line
    assert sup.signoff.pending() == []
    with pytest.raises(InvalidInput, match="already approved"):
        sup.signoff.approve(req.id)


def test_supervisor_cannot_sign_off_own_request_and_rejection_keeps_grade(open_as):
    h, sup, sup2 = open_as("handler.north"), open_as("super.north"), open_as("super.south")
    inc = new(h, at=MK, grade="G1")
    req = h.signoff.request(inc.id, grade="G3", reason="Caller says it was a misunderstanding")
    with pytest.raises(NotPermitted, match="downgrade a G1"):
        h.incidents.grade(inc.id, "G3", rationale="Misunderstanding")
    rejected = sup2.signoff.reject(req.id, reason="Callback first")
    assert (rejected.status, rejected.decided_by) == ("rejected", "super.south")
    assert h.incidents.get(inc.id).grade == "G1"
    own = sup.signoff.request(inc.id, grade="G2", reason="Weapon not seen")
    with pytest.raises(NotPermitted, match="second person"):
        sup.signoff.approve(own.id)


def test_downgrade_needs_a_written_reason_and_g3_downgrade_needs_no_sign_off(open_as):
    d = open_as("despatch.north")
    inc = new(d, at=MK, grade="G3")
    with pytest.raises(InvalidInput, match="rationale"):
        d.incidents.grade(inc.id, "G4")
    assert d.incidents.grade(inc.id, "G4", rationale="Advice only").grade == "G4"


# ---- THRIVE: reassessment and the close policy --------------------------------------------
def test_linked_repeat_call_raises_reassessment_prompt_cleared_by_new_thrive(open_as):
    h, d = open_as("handler.south"), open_as("despatch.south")
    first = new(h, grade="G2", caller_phone="07700 900123", domestic_abuse=True)
    h.incidents.thrive(first.id, **THRIVE)
    again = new(h, grade="G2", caller_phone="07700900123", summary="He is back at the door")
    h.incidents.link(first.id, again.id, reason="Same caller, same address", kind="duplicate")
    raised = d.prompts.check()
    mine = [p for p in raised if p.incident_id == first.id and p.kind == "reassess"]
    assert len(mine) == 1 and "new call linked" in mine[0].message and mine[0].room_code == "south"
    assert d.prompts.check() == [] or all(p.incident_id != first.id for p in d.prompts.check())
    assert [p.kind for p in d.prompts.active(incident_id=first.id)] == ["reassess"]
    v2 = h.incidents.thrive(first.id, **{**THRIVE, "risk": "Very high: threats to kill"})
    assert v2.version == 2
    assert d.prompts.active(incident_id=first.id) == []


def test_repeat_contact_and_new_information_log_raise_reassessment(open_as):
    h = open_as("handler.north")
    inc = new(h, at=MK, grade="G2", caller_phone="+44 7700 900777")
    h.incidents.thrive(inc.id, **THRIVE)
    h.contacts.receive("999", from_="07700 900777")
    h.incidents.add_log(inc.id, "Caller now says he has a knife", kind="new_info")
    causes = sorted(p.cause.split(":")[0] for p in h.prompts.check() if p.incident_id == inc.id)
    assert causes == ["contact", "log"]


def test_close_without_thrive_is_refused_where_policy_requires(open_as):
    d = open_as("despatch.north")
    g1 = new(d, at=MK, grade="G1")
    with pytest.raises(InvalidInput, match="THRIVE") as err:
        d.incidents.close(g1.id, closing_code="NFA", result="All quiet")
    assert err.value.field == "thrive" and d.incidents.get(g1.id).status == "open"
    d.incidents.thrive(g1.id, **THRIVE)
    assert d.incidents.close(g1.id, closing_code="NFA", result="All quiet").status == "closed"
    dom = new(d, at=MK, grade="G3", domestic_abuse=True)
    with pytest.raises(InvalidInput, match="domestic abuse is flagged"):
        d.incidents.close(dom.id, closing_code="NFA", result="x")
    g3 = new(d, at=MK, grade="G3")
    assert d.incidents.close(g3.id, closing_code="NFA", result="x").status == "closed"


# ---- ageing and victim update ------------------------------------------------------------
def test_ageing_prompt_at_configured_point_once_and_clears_on_despatch(open_as, db_url):
    h, d = open_as("handler.north"), open_as("despatch.north")
    inc = new(h, at=MK, grade="G2")
    assert not [p for p in d.prompts.check() if p.incident_id == inc.id]
    sql(db_url, "UPDATE incidents SET created_at = now() - interval '46 minutes' WHERE id = %s", (inc.id,))
    seen = []
    d.events.subscribe(seen.append)
    [p] = [p for p in d.prompts.check() if p.incident_id == inc.id and p.kind == "ageing"]
    assert p.cause == "G2@45" and "not despatched after 45 min" in p.message and p.room_code == "north"
    assert not [p for p in h.prompts.check() if p.incident_id == inc.id and p.kind == "ageing"]
    assert d.prompts.acknowledge(p.id).acknowledged_by == "despatch.north"
    sql(db_url, "UPDATE incidents SET status = 'despatched', despatched_at = now() WHERE id = %s", (inc.id,))
    assert all(x.kind != "ageing" for x in d.prompts.active(incident_id=inc.id))
    from .test_foundation import wait_for
    assert wait_for(lambda: any(e.kind == "prompt.raised" and e.payload["incident_id"] == inc.id for e in seen))


def test_victim_update_due_before_promised_time_and_recorded(open_as):
    d = open_as("despatch.south")
    inc = new(d, grade="G3")
    soon = datetime.now(timezone.utc) + timedelta(minutes=5)
    d.prompts.set_caller_eta(inc.id, promised_at=soon)
    [p] = [p for p in d.prompts.check() if p.incident_id == inc.id and p.kind == "victim_update"]
    assert "Victim update due" in p.message
    later = soon + timedelta(hours=2)
    entry = d.prompts.record_victim_update(inc.id, text="Rang caller: units delayed, 2 hours", new_eta=later)
    assert entry.kind == "victim_update" and "Rang caller" in entry.text
    assert [x for x in d.prompts.active(incident_id=inc.id) if x.kind == "victim_update"] == []


# ---- answer banding -----------------------------------------------------------------------
def _contact(c, channel, received, *, wait=None, abandoned=False):
    state = "abandoned" if abandoned else "answered"
    c.execute("INSERT INTO contacts (channel, base_priority, priority, state, from_addr, from_key, received_at, "
              "queue_time, taken_by, taken_at, answered_at, abandoned_at) VALUES (%s, 1, 1, %s, 'x', 'x', %s, %s, "
              "%s, %s, %s, %s)",
              (channel, state, received, received, None if abandoned else "handler.north",
               None if abandoned else received, None if abandoned else received + timedelta(seconds=wait),
               received + timedelta(seconds=20) if abandoned else None))


def test_banding_matches_hand_computed_fixture(open_as, fresh_db_url):
    t10 = datetime(2026, 3, 10, 10, 0, tzinfo=timezone.utc)  # GMT: local hour = UTC hour
    t11 = t10 + timedelta(hours=1)
    with psycopg.connect(fresh_db_url, autocommit=True) as c:
        for i, w in enumerate([3, 5, 9.9, 10, 30, 59.9, 60, 120, 2, 4]):
            _contact(c, "999", t10 + timedelta(minutes=i), wait=w)
        for i in range(10):
            _contact(c, "999", t11 + timedelta(minutes=i), wait=2)
        _contact(c, "999", t11 + timedelta(minutes=30), abandoned=True)
        for i in range(20):
            _contact(c, "101", t10 + timedelta(minutes=i), wait=40, abandoned=(i == 0))
        for i in range(10):
            _contact(c, "101", t11 + timedelta(minutes=i), wait=40, abandoned=(i == 0))
    s = open_as("super.north", url=fresh_db_url)
    day = t10.replace(hour=0)
    hours = s.banding.bands(period="hour", since=day, until=day + timedelta(days=1))
    got = {(r.period_start.hour, r.measure): r for r in hours}
    a10, a11 = got[(10, "answer")], got[(11, "answer")]
    assert (a10.answered, a10.under_10, a10.from_10_to_60, a10.over_60) == (10, 5, 3, 2)
    assert a10.pct_under_10 == 50.0 and a10.meets_standard is False
    assert (a11.offered, a11.answered, a11.under_10, a11.abandoned) == (11, 10, 10, 1) and a11.meets_standard
    b10, b11 = got[(10, "abandon")], got[(11, "abandon")]
    assert (b10.offered, b10.abandoned, b10.abandon_pct, b10.meets_standard) == (20, 1, 5.0, True)
    assert (b11.offered, b11.abandoned, b11.abandon_pct, b11.meets_standard) == (10, 1, 10.0, False)
    [bd, ad] = s.banding.bands(period="day", since=day, until=day + timedelta(days=1))
    assert (ad.answered, ad.under_10, ad.pct_under_10) == (20, 15, 75.0)
    assert (bd.offered, bd.abandoned, round(bd.abandon_pct, 2), bd.meets_standard) == (30, 2, 6.67, False)
    [bm, am] = s.banding.bands(period="month", since=day - timedelta(days=9), until=day + timedelta(days=20))
    assert am.period_start.day == 1 and am.answered == 20
    rows = list(csv.DictReader(io.StringIO(s.banding.csv(period="day", since=day, until=day + timedelta(days=1)))))
    assert [(r["measure"], r["pct_under_10s"], r["abandon_pct"], r["meets_standard"]) for r in rows] == [
        ("101 abandonment", "", "6.7", "no"), ("999 answer", "75.0", "", "no")]
    with pytest.raises(InvalidInput):
        s.banding.bands(period="week", since=day, until=day + timedelta(days=1))


# ---- paper fallback -----------------------------------------------------------------------
def test_printed_open_log_and_blank_sheets(open_as):
    d = open_as("despatch.north")
    inc = new(d, at=MK, grade="G1", summary="Man with <knife> & bat")
    page = d.paper.open_log_html()
    assert inc.urn in page and "&lt;knife&gt; &amp; bat" in page and "<table>" in page
    sheets = d.paper.blank_log_sheets_html(sheets=3)
    assert sheets.count("Paper incident log") == 3 and "Initials" in sheets
    with pytest.raises(InvalidInput):
        d.paper.blank_log_sheets_html(sheets=0)


def test_back_recorded_entries_keep_original_times_and_are_marked(open_as, db_url):
    d, auditor = open_as("despatch.north"), open_as("auditor")
    inc = new(d, at=MK, grade="G2")
    sql(db_url, "UPDATE incidents SET created_at = now() - interval '40 minutes' WHERE id = %s", (inc.id,))
    d.incidents.add_log(inc.id, "System back up")
    paper_time = d.incidents.get(inc.id).created_at + timedelta(minutes=3)
    entry = d.paper.back_record(inc.id, text="Caller rang again, door kicked", original_at=paper_time,
                                written_by="PC 1234")
    assert entry.back_record and entry.original_at == paper_time and entry.at > paper_time
    line = d.paper.timeline(inc.id)
    assert [e.kind for e in line][-2:] == ["back_record", "note"]  # at its paper time, before the later note
    assert [e.text for e in line if e.back_record] == ["Caller rang again, door kicked [paper entry by PC 1234]"]
    keyed = d.incidents.log(inc.id)[-1]
    assert keyed.kind == "back_record" and keyed.original_at == paper_time  # keyed last, still in the log
    assert d.incidents.log(inc.id)[-2].original_at is None  # a live note has no paper time
    audit = auditor.audit.search(action="incident.logged")
    assert any(r.details.get("back_record") for r in audit)
    with pytest.raises(InvalidInput):
        d.paper.back_record(inc.id, text="x", original_at=datetime.now(timezone.utc) + timedelta(hours=1))
    with pytest.raises(InvalidInput):
        d.paper.back_record(inc.id, text="x", original_at=datetime(2026, 1, 1))
