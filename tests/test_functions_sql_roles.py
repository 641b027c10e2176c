"""The database is the boundary for the issue-23 functions: an operator holding a raw psycopg
connection gets exactly what their job group may do, and the audit names the session's login."""
from __future__ import annotations

from datetime import date

import psycopg
import pytest
from psycopg.types.json import Jsonb

from .conftest import server_url
from .helpers import connect_as, login_roles, sql

GROUPS = {"handler": "cr_handler", "despatcher": "cr_despatcher", "super": "cr_supervisor",
          "auditor": "cr_auditor"}


@pytest.fixture(scope="module")
def operators(pg_server, db_url):
    """Login roles in each job group (cluster-wide: unique names, dropped afterwards)."""
    yield from login_roles(server_url(pg_server, "postgres"), db_url, GROUPS, "t23")


SAVE = ("SELECT api.reference_save(p_document_id => NULL, p_expected_version => NULL, p_kind => 'policy', "
        "p_title => %s, p_body => 'b', p_owner => 'o', p_review_due => %s, p_change_note => 'n', "
        "p_incident_types => %s, p_flags => %s)")
REQUEST = ("SELECT api.intel_request(p_callsign => 'MK11', p_incident_id => NULL, p_subject_kind => 'vehicle', "
           "p_subject => 'DM24 ABC', p_purpose => %s, p_reason => %s)")


@pytest.mark.parametrize("who", ["handler", "despatcher", "auditor"])
def test_below_supervisor_a_raw_client_cannot_publish_guidance(db_url, operators, who):
    with connect_as(db_url, operators[who]) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(SAVE, ("Forged", date.today(), Jsonb([]), Jsonb([])))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("INSERT INTO ref_documents (kind, title, body, owner, review_due, created_by, updated_by) "
                      "VALUES ('policy', 'x', 'x', 'x', current_date, 'x', 'x')")
        assert c.execute("SELECT count(*) FROM ref_documents").fetchone()[0] >= 7  # everyone reads


def test_a_supervisors_raw_publish_is_audited_in_the_sessions_name(db_url, operators):
    me = operators["super"]
    with connect_as(db_url, me) as c:
        doc = c.execute(SAVE, ("Raw client doc", date.today(), Jsonb(["RTC"]), Jsonb(["firearms"]))).fetchone()[0]
        assert doc["updated_by"] == me and doc["incident_types"] == ["RTC"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # history cannot be rewritten
            c.execute("UPDATE ref_document_versions SET changed_by = 'someone.else'")
    assert sql(db_url, "SELECT username FROM audit_log WHERE action = 'reference.saved' AND entity = %s",
               (f"reference:{doc['id']}",)) == [(me,)]


def test_intel_checks_over_raw_sql_need_the_group_and_a_purpose(db_url, operators):
    with connect_as(db_url, operators["handler"]) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(REQUEST, ("vehicle_stop", "routine"))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # who searched whom is not theirs to read
            c.execute("SELECT count(*) FROM intel_checks")
    me = operators["despatcher"]
    with connect_as(db_url, me) as c:
        with pytest.raises(psycopg.Error) as err:
            c.execute(REQUEST, (None, "routine"))
        assert err.value.sqlstate == "CR400" and "purpose" in str(err.value)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("UPDATE intel_checks SET purpose = 'warrant'")
        chk = c.execute(REQUEST, ("vehicle_stop", "No rear lights")).fetchone()[0]
        assert chk["requested_by"] == me
    assert sql(db_url, "SELECT username FROM audit_log WHERE entity = %s", (f"intel:{chk['id']}",)) == [(me,)]


def test_recovery_over_raw_sql_needs_a_despatcher_and_a_skip_reason(db_url, operators, open_as):
    from .conftest import MK
    from .helpers import new
    inc = new(open_as("despatch.north"), incident_type="RTC", at=MK)
    req = "SELECT api.recovery_request(p_incident_id => %s, p_vrm => 'DM1 AAA', p_location => 'A5', p_reason => 'RTC')"
    with connect_as(db_url, operators["handler"]) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(req, (inc.id,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # no writing the rota to jump the queue
            c.execute("UPDATE recovery_operators SET turn = -1 WHERE code = 'MKREC3'")
    me = operators["despatcher"]
    with connect_as(db_url, me) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("UPDATE recovery_operators SET turn = -1 WHERE code = 'MKREC3'")
        job = c.execute(req, (inc.id,)).fetchone()[0]
        with pytest.raises(psycopg.Error) as err:
            c.execute("SELECT api.recovery_skip(p_job_id => %s, p_reason => '')", (job["id"],))
        assert err.value.sqlstate == "CR400"
    assert job["requested_by"] == me
    assert sql(db_url, "SELECT username FROM audit_log WHERE entity = %s", (f"recovery:{job['id']}",)) == [(me,)]


def test_only_supervisors_publish_workforce_plans_over_raw_sql(db_url, operators):
    pub = ("SELECT api.workforce_publish(p_line => '999', p_horizon => 'short', p_week_start => %s, "
           "p_origin => %s, p_summary => %s)")
    args = (date(2026, 11, 23), date(2026, 11, 9), Jsonb({"staff_hours_required": 1, "staff_hours_rostered": 1,
                                                          "intervals_short": 0, "worst_gap": 0,
                                                          "forecast_contacts": 1}))
    with connect_as(db_url, operators["despatcher"]) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(pub, args)
    with connect_as(db_url, operators["super"]) as c:
        row = c.execute(pub, args).fetchone()[0]
    assert row["published_by"] == operators["super"]
