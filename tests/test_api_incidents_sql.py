"""Incident writes are database API functions (issue 19): every rule moved into SQL holds for an
operator with a raw psycopg connection, identity comes from the session's login; and the issue-18
fixes that live in those functions (firearms declared automatically, a duplicate closes on its
original's THRIVE)."""
from __future__ import annotations


import pytest
from psycopg.types.json import Jsonb

from controlroom.errors import Conflict, InvalidInput, NotPermitted

from .conftest import MK, server_url
from .helpers import connect_as, fails, login_roles, new, spot, sql, wait_for

GROUPS = {"handler": "cr_handler", "despatcher": "cr_despatcher", "super": "cr_supervisor",
          "super2": "cr_supervisor", "auditor": "cr_auditor"}


@pytest.fixture(scope="module")
def operators(pg_server, db_url):
    """Login roles in each job group (cluster-wide: unique names, dropped afterwards)."""
    yield from login_roles(server_url(pg_server, "postgres"), db_url, GROUPS, "tinc")


CREATE = ("SELECT api.incident_create(p_channel => '999', p_incident_type => %s, p_summary => 'raw', "
          "p_lat => %s, p_lon => %s, p_area => %s, p_grade => %s, p_firearms => %s)")


def raw_create(c, *, itype="ASSAULT", grade="G1", firearms=False, at=None):
    lat, lon = at or spot()
    area = sql_area(c, lat, lon)
    return c.execute(CREATE, (itype, lat, lon, area, grade, firearms)).fetchone()[0]


def sql_area(c, lat, lon):
    # the area the database locates the point in (migration 0041), as a console's shapely would
    return c.execute("SELECT (cr_areas_at(%s, %s))[1]", (lat, lon)).fetchone()[0]


# ---- identity and direct writes ---------------------------------------------------------------
def test_a_raw_create_is_in_the_logins_name_whatever_the_session_claims(db_url, operators):
    me = operators["handler"]
    with connect_as(db_url, me) as c:
        c.execute("SELECT set_config('controlroom.user', 'inspector.north', false), "
                  "set_config('controlroom.role', 'inspector', false)")
        inc = raw_create(c, grade="G2")
        assert inc["created_by"] == me and inc["urn"].startswith("TV-")
        fails(c, "UPDATE incidents SET grade = 'G4' WHERE id = %s", (inc["id"],), state="42501")
        fails(c, "DELETE FROM incident_log WHERE incident_id = %s", (inc["id"],), state="42501")
        fails(c, "SELECT cr_emit('incident.created', '1', 'north', '{}'::jsonb)", state="42501")
    assert sql(db_url, "SELECT username FROM audit_log WHERE action = 'incident.created' AND entity = %s",
               (f"incident:{inc['id']}",)) == [(me,)]
    assert sql(db_url, "SELECT deadline_at - created_at FROM incidents WHERE id = %s",
               (inc["id"],))[0][0].total_seconds() == 3600  # G2 target from the policy table


def test_an_auditor_cannot_create_or_close_over_raw_sql(db_url, operators):
    with connect_as(db_url, operators["auditor"]) as c:
        fails(c, CREATE, ("ASSAULT", *spot(), "oxon", "G2", False), state="42501")


# ---- grades and sign-off ------------------------------------------------------------------------
def test_a_handler_cannot_downgrade_a_g1_over_raw_sql_it_files_a_signoff_instead(db_url, operators):
    with connect_as(db_url, operators["handler"]) as c:
        inc = raw_create(c, grade="G1")
        out = c.execute("SELECT api.incident_grade(%s, 'G4', 'not urgent really')", (inc["id"],)).fetchone()[0]
        assert "refused" in out and "sign-off has been requested" in out["refused"]
        fails(c, "SELECT api.signoff_approve(%s, 'me')", (out["signoff"]["id"],), state="42501")
    assert sql(db_url, "SELECT grade FROM incidents WHERE id = %s", (inc["id"],)) == [("G1",)]
    assert sql(db_url, "SELECT requested_by, status FROM grade_signoffs WHERE incident_id = %s",
               (inc["id"],)) == [(operators["handler"], "pending")]
    assert sql(db_url, "SELECT outcome FROM audit_log WHERE action = 'incident.downgrade_g1' AND username = %s",
               (operators["handler"],)) == [("refused",)]


def test_nobody_signs_off_their_own_downgrade_even_over_raw_sql(db_url, operators):
    with connect_as(db_url, operators["handler"]) as c:
        inc = raw_create(c, grade="G2")
    me = operators["super"]
    with connect_as(db_url, me) as c:
        req = c.execute("SELECT api.signoff_request(%s, 'G3', 'caller safe')", (inc["id"],)).fetchone()[0]
        out = c.execute("SELECT api.signoff_approve(%s, NULL)", (req["id"],)).fetchone()[0]
        assert "second person" in out["refused"]
    assert sql(db_url, "SELECT grade FROM incidents WHERE id = %s", (inc["id"],)) == [("G2",)]
    with connect_as(db_url, operators["super2"]) as c:
        row = c.execute("SELECT api.signoff_approve(%s, 'agreed')", (req["id"],)).fetchone()[0]
        assert row["grade"] == "G3" and row["updated_by"] == operators["super2"]


def test_a_regrade_over_raw_sql_still_needs_a_rationale(db_url, operators):
    with connect_as(db_url, operators["handler"]) as c:
        inc = raw_create(c, grade="G3")
        fails(c, "SELECT api.incident_grade(%s, 'G2', NULL)", (inc["id"],), state="CR400", match="rationale")


# ---- closing ------------------------------------------------------------------------------------
CLOSE = "SELECT api.incident_close(%s, 'NFA', NULL, 'done')"


def test_a_handler_cannot_close_a_deployed_incident_over_raw_sql(db_url, operators):
    with connect_as(db_url, operators["handler"]) as c:
        inc = raw_create(c, grade="G3")
        sql(db_url, "UPDATE incidents SET despatched_at = now() WHERE id = %s", (inc["id"],))  # a unit went
        fails(c, CLOSE, (inc["id"],), state="42501", match="units deployed")
        fails(c, "SELECT api.incident_reopen(%s, 'x')", (inc["id"],), state="42501")
    assert sql(db_url, "SELECT status FROM incidents WHERE id = %s", (inc["id"],)) == [("open",)]
    with connect_as(db_url, operators["despatcher"]) as c:
        assert c.execute(CLOSE, (inc["id"],)).fetchone()[0]["status"] == "closed"


def test_thrive_policy_and_closing_codes_hold_over_raw_sql(db_url, operators):
    with connect_as(db_url, operators["despatcher"]) as c:
        inc = raw_create(c, grade="G1")
        fails(c, CLOSE, (inc["id"],), state="CR400", match="without a THRIVE assessment (it is G1)")
        fails(c, "SELECT api.incident_close(%s, 'MADE_UP', NULL, 'x')", (inc["id"],), state="CR400")
        fails(c, "SELECT api.incident_close(%s, 'NFA', 'bogus', 'x')", (inc["id"],), state="CR400")


# ---- firearms (issue 18 item 2) -------------------------------------------------------------
def test_an_armed_type_is_declared_at_create_whatever_the_flag_says(db_url, operators, open_as):
    inspector = open_as("inspector.south")
    seen = []
    inspector.events.subscribe(seen.append)
    with connect_as(db_url, operators["handler"]) as c:
        inc = raw_create(c, itype="FIREARMS", grade="G1", firearms=False)
        assert inc["firearms"] is True and inc["firearms_declared_at"] is not None
        # the flag cannot be taken off again, by the type or after a declaration
        fails(c, "SELECT api.incident_update(%s, %s, %s)", (inc["id"], inc["version"], Jsonb({"firearms": False})),
              state="CR400", match="firearms flag stays set")
    assert wait_for(lambda: any(e.kind == "command.firearms_declared" and e.entity_id == str(inc["id"])
                                for e in seen))
    ev = next(e for e in seen if e.kind == "command.firearms_declared")
    assert ev.payload["declared_by"] == operators["handler"] and ev.payload["room_code"] == "south"
    assert "FIREARMS INCIDENT DECLARED" in ev.payload["log"]["text"]


def test_firearms_flag_at_create_or_later_declares_through_the_facade(open_as):
    h = open_as("handler.north")
    seen = []
    h.events.subscribe(seen.append)
    flagged = new(h, incident_type="ASSAULT", grade="G1", firearms=True)
    assert flagged.firearms
    plain = new(h, incident_type="ASSAULT", grade="G2")
    later = h.incidents.update(plain.id, expected_version=plain.version, firearms=True)
    retyped = new(h, incident_type="ROBBERY", grade="G2")
    armed = h.incidents.update(retyped.id, expected_version=retyped.version, incident_type="FIREARMS")
    assert later.firearms and armed.firearms
    declared = lambda i: [e for e in seen if e.kind == "command.firearms_declared" and e.entity_id == str(i)]
    assert wait_for(lambda: all(declared(i) for i in (flagged.id, plain.id, retyped.id)))
    assert len(declared(plain.id)) == 1
    # a second update of a declared incident does not declare it again
    again = h.incidents.update(plain.id, expected_version=later.version, summary="Still there")
    assert again.firearms
    with pytest.raises(Conflict, match="declared a firearms incident"):
        h.incidents.update(plain.id, expected_version=again.version, firearms=False)
    logs = [e.text for e in h.incidents.log(retyped.id) if e.kind == "command"]
    assert logs and "changed to armed incident type FIREARMS" in logs[0]
    # the FA verb finds it already declared (the one declaration is shared)
    with pytest.raises(Conflict, match="already declared"):
        h.command.declare_firearms(plain.id)


def test_ordinary_incidents_are_not_firearms_incidents(open_as):
    h = open_as("handler.north")
    inc = new(h, incident_type="ASSAULT", grade="G2")
    assert not inc.firearms
    up = h.incidents.update(inc.id, expected_version=inc.version, summary="Calmer now")
    assert not up.firearms and [e for e in h.incidents.log(inc.id) if e.kind == "command"] == []


# ---- duplicates (issue 18 item 9) -----------------------------------------------------------
def test_a_duplicate_g1_closes_on_the_originals_thrive(open_as):
    h, d = open_as("handler.north"), open_as("despatch.north")
    original = new(h, grade="G1")
    h.incidents.thrive(original.id, threat="knife", harm="injury", risk="high", investigation="cctv",
                       vulnerability="none", engagement="caller", risk_level="high")
    dup = new(h, grade="G1")
    with pytest.raises(InvalidInput, match="THRIVE"):  # not linked yet: it needs its own
        d.incidents.close(dup.id, closing_code="DUPLICATE", qualifier="linked", result="Same fight")
    h.incidents.link(dup.id, original.id, reason="Same fight, second caller", kind="duplicate")
    with pytest.raises(InvalidInput, match="THRIVE"):  # only closing it AS a duplicate is excused
        d.incidents.close(dup.id, closing_code="NFA", result="Nothing more")
    closed = d.incidents.close(dup.id, closing_code="DUPLICATE", qualifier="linked", result="Same fight")
    assert closed.status == "closed"
    # a related (not duplicate) link to an assessed incident does not excuse it
    other = new(h, grade="G1")
    h.incidents.link(other.id, original.id, reason="Same street", kind="related")
    with pytest.raises(InvalidInput, match="THRIVE"):
        d.incidents.close(other.id, closing_code="DUPLICATE", qualifier="linked", result="x")


def test_a_refused_close_by_a_handler_is_audited_under_the_action_name(open_as):
    h, d, aud = open_as("handler.north"), open_as("despatch.north"), open_as("auditor")
    inc = new(h, grade="G3", at=MK)
    sql(h.url, "UPDATE incidents SET despatched_at = now() WHERE id = %s", (inc.id,))
    with pytest.raises(NotPermitted, match="ask the despatcher"):
        h.incidents.close(inc.id, closing_code="NFA", result="done")
    assert any(r.outcome == "refused" and r.username == "handler.north"
               for r in aud.audit.search(action="incident.close"))
    assert d.incidents.close(inc.id, closing_code="NFA", result="done").status == "closed"
