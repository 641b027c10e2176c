"""Reference database (issue 23): versioned guidance, full-text search, procedure for the incident."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from controlroom.errors import Conflict, InvalidInput, NotPermitted

from .helpers import sql


def test_firearms_incident_shows_the_firearms_procedure_first(open_as):
    s = open_as("handler.north")
    docs = s.reference.for_incident(incident_type="FIREARMS", flags=["firearms"])
    assert docs and "firearms" in docs[0].title.lower()
    assert docs[0].kind == "procedure" and docs[0].demo
    assert "type FIREARMS" in docs[0].matched_by and "flag firearms" in docs[0].matched_by


def test_domestic_flag_on_any_incident_type_brings_the_da_risk_procedure(open_as):
    s = open_as("handler.north")
    titles = [d.title for d in s.reference.for_incident(incident_type="ASSAULT", flags=["domestic_abuse"])]
    assert any("DASH" in t for t in titles)
    assert s.reference.for_incident(incident_type="THEFT", flags=[]) == []


def test_search_ranks_title_matches_first_and_marks_the_match_in_plain_segments(open_as):
    s = open_as("despatch.south")
    hits = s.reference.search("firearms authorisation")
    assert hits and "firearms" in hits[0].title.lower()
    assert hits[0].rank >= hits[-1].rank
    matched = [t for t, m in hits[0].snippet if m]
    assert matched and all(t.lower().startswith(("firearm", "authoris")) for t in matched)
    assert all("\x02" not in t and "\x03" not in t for t, _ in hits[0].snippet)


def test_a_supervisor_publishes_versions_and_history_says_who_changed_what(open_as):
    sup = open_as("super.north")
    doc = sup.reference.save(title="Dog bite procedure", body="Call the dog unit. Record the breed.",
                             owner="Ops (test)", review_due=date.today() + timedelta(days=30),
                             change_note="first issue", incident_types=["ASSAULT"])
    assert doc.version == 1 and not doc.demo and doc.updated_by == "super.north"
    other = open_as("super.south")
    v2 = other.reference.save(document_id=doc.id, expected_version=1, title=doc.title,
                              body=doc.body + " Photograph injuries.", owner=doc.owner,
                              review_due=doc.review_due, change_note="added photographs",
                              incident_types=["ASSAULT"])
    assert v2.version == 2 and v2.updated_by == "super.south"
    hist = sup.reference.history(doc.id)
    assert [(h.version, h.changed_by, h.change_note) for h in hist] == [
        (2, "super.south", "added photographs"), (1, "super.north", "first issue")]
    assert "Photograph" not in hist[1].body  # the old version is kept as it was
    with pytest.raises(Conflict, match="newer version"):  # edited from a stale copy
        sup.reference.save(document_id=doc.id, expected_version=1, title=doc.title, body="x",
                           owner=doc.owner, review_due=doc.review_due, change_note="stale")
    assert sup.reference.get(doc.id).version == 2


def test_publishing_is_evented_and_audited(open_as, db_url):
    sup = open_as("super.north")
    seen = []
    watcher = open_as("handler.north")
    watcher.events.subscribe(lambda ev: seen.append(ev) if ev.kind == "reference.saved" else None)
    doc = sup.reference.save(title="Evented doc", body="text", owner="me", review_due=date.today(),
                             change_note="new")
    from .helpers import wait_for
    assert wait_for(lambda: any(e.entity_id == str(doc.id) for e in seen))
    rows = sql(db_url, "SELECT username, action, details->>'change_note' FROM audit_log "
                       "WHERE action = 'reference.saved' AND entity = %s", (f"reference:{doc.id}",))
    assert rows == [("super.north", "reference.saved", "new")]


@pytest.mark.parametrize("who", ["handler.north", "despatch.north", "auditor"])
def test_only_supervisors_may_edit_and_the_refusal_is_audited(open_as, db_url, who):
    s = open_as(who)
    with pytest.raises(NotPermitted):
        s.reference.save(title="Mine", body="x", owner="me", review_due=date.today(), change_note="n")
    assert sql(db_url, "SELECT count(*) FROM ref_documents WHERE title = 'Mine'") == [(0,)]
    assert sql(db_url, "SELECT count(*) FROM audit_log WHERE username = %s AND action = 'reference.edit' "
                       "AND outcome = 'refused'", (who,))[0][0] >= 1


def test_everyone_reads_and_overdue_reviews_are_flagged(open_as):
    s = open_as("auditor")
    docs = s.reference.list()
    assert len(docs) >= 7
    overdue = s.reference.list(overdue_only=True)
    assert overdue and all(d.overdue and d.review_due < date.today() for d in overdue)
    assert docs[0].overdue  # overdue ones come first


def test_change_note_and_text_rules_are_explained(open_as):
    sup = open_as("super.north")
    with pytest.raises(InvalidInput, match="Change note"):
        sup.reference.save(title="T", body="b", owner="o", review_due=date.today(), change_note=" ")
    with pytest.raises(InvalidInput, match="control characters"):
        sup.reference.save(title="T", body="a\x02b", owner="o", review_due=date.today(), change_note="n")
    with pytest.raises(InvalidInput, match="Incident type"):
        sup.reference.save(title="T", body="b", owner="o", review_due=date.today(), change_note="n",
                           incident_types=["NOPE"])
