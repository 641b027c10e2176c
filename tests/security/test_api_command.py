"""Command rules hold in the database against a raw SQL client with an operator's credentials:
only inspectors take command or authorise armed deployment, always in their own name (issue 19)."""
from __future__ import annotations

import psycopg
import pytest

from ..conftest import MK, OXFORD
from ..helpers import operator_conn, sql

INSPECTOR_ONLY = (
    ("SELECT api.command_accept_firearms(%s)", ()),
    ("SELECT api.command_authorise_armed(%s, 'Handgun', 'Contain', 'Threat to life')", ()),
    ("SELECT api.command_assign_role(%s, 'TFC', 'Insp Smith')", ()),
    ("SELECT api.command_declare_major(%s, 'major')", ()),
    ("SELECT api.command_log_decision(%s, 1, 'Decide', 'Because')", ()),
    ("SELECT api.command_methane(%s, '{\"hazards\": \"Gas\"}')", ()),
    ("SELECT api.command_acknowledge_firearms(%s)", ()),
)


@pytest.fixture
def url(fresh_db_url):
    sql(fresh_db_url, "UPDATE units SET incident_id = NULL, status = 'available', lat = %s, lon = %s "
                      "WHERE callsign = 'ARV11'", MK)
    return fresh_db_url


def incident(s, kind="ASSAULT", at=MK, **kw):
    return s.incidents.create(channel="999", incident_type=kind, summary=f"{kind} test", lat=at[0],
                              lon=at[1], grade="G1", **kw)


@pytest.mark.parametrize("user,group", [("despatch.north", "cr_despatcher"), ("super.north", "cr_supervisor"),
                                        ("handler.north", "cr_handler")])
def test_below_inspector_no_command_step_is_possible_by_direct_call(url, open_as, user, group):
    inc = incident(open_as("handler.north", url=url))
    open_as("handler.north", url=url).command.declare_firearms(inc.id)
    with operator_conn(url, user, group) as c:
        for call, _ in INSPECTOR_ONLY:
            with pytest.raises(psycopg.Error) as err:
                c.execute(call, (inc.id,))
            assert err.value.sqlstate == "42501", call
    counts = sql(url, "SELECT (SELECT count(*) FROM armed_authorisations), (SELECT count(*) FROM command_roles), "
                      "(SELECT count(*) FROM decision_log), (SELECT count(*) FROM methane_reports)")
    assert counts == [(0, 0, 0, 0)]
    assert sql(url, "SELECT armed_authorised_at, major_kind FROM incidents WHERE id = %s", (inc.id,)) == [(None, None)]


def test_an_authorisation_is_recorded_in_the_signed_in_inspectors_name_only(url, open_as):
    inc = incident(open_as("handler.north", url=url), firearms=True)
    with operator_conn(url, "inspector.south", "cr_inspector") as c:
        c.execute("SELECT set_config('controlroom.user', 'inspector.north', false)")
        res = c.execute("SELECT api.command_authorise_armed(%s, 'Handgun', 'Contain', 'Threat to life')",
                        (inc.id,)).fetchone()[0]
    assert res["authorisation"]["by"] == "inspector.south"
    assert sql(url, "SELECT by FROM armed_authorisations WHERE incident_id = %s", (inc.id,)) == [("inspector.south",)]
    assert sql(url, "SELECT armed_authorised_by FROM incidents WHERE id = %s", (inc.id,)) == [("inspector.south",)]
    audit = sql(url, "SELECT username FROM audit_log WHERE action = 'command.armed_authorised'")
    assert audit == [("inspector.south",)]
    # the inspector console shows whose authorisation it is
    view = open_as("inspector.north", url=url).command.authorisation(inc.id)
    assert view.by == "inspector.south"


def test_another_rooms_inspector_cannot_take_firearms_command_by_direct_call(url, open_as):
    inc = incident(open_as("handler.north", url=url), firearms=True)  # MK: the north room's area
    with operator_conn(url, "inspector.south", "cr_inspector") as c:
        with pytest.raises(psycopg.Error, match="belongs to the north room") as err:
            c.execute("SELECT api.command_accept_firearms(%s)", (inc.id,))
    assert err.value.sqlstate == "CR403"
    assert sql(url, "SELECT count(*) FROM command_roles WHERE incident_id = %s", (inc.id,)) == [(0,)]
    with operator_conn(url, "inspector.north", "cr_inspector") as c:
        res = c.execute("SELECT api.command_accept_firearms(%s)", (inc.id,)).fetchone()[0]
    assert (res["role"]["role"], res["role"]["holder"]) == ("ITFC", "inspector.north")


def test_a_second_authorisation_cannot_overwrite_the_first(url, open_as):
    inc = incident(open_as("handler.north", url=url), firearms=True)
    with operator_conn(url, "inspector.north", "cr_inspector") as c:
        c.execute("SELECT api.command_authorise_armed(%s, 'Handgun', 'Contain', 'Threat')", (inc.id,))
    with operator_conn(url, "inspector.south", "cr_inspector") as c:
        with pytest.raises(psycopg.Error, match="already authorised by inspector.north") as err:
            c.execute("SELECT api.command_authorise_armed(%s, 'x', 'y', 'z')", (inc.id,))
    assert err.value.sqlstate == "CR409"


def test_empty_rationale_is_refused_by_the_database_too(url, open_as):
    inc = incident(open_as("handler.north", url=url), firearms=True)
    with operator_conn(url, "inspector.north", "cr_inspector") as c:
        with pytest.raises(psycopg.Error, match="Rationale is required") as err:
            c.execute("SELECT api.command_authorise_armed(%s, 'Handgun', 'Contain', '   ')", (inc.id,))
    assert err.value.sqlstate == "CR400"
    assert sql(url, "SELECT count(*) FROM armed_authorisations") == [(0,)]


def test_an_armed_type_never_flagged_is_declared_by_the_authorisation_and_then_takes_arvs(url, open_as):
    desk = open_as("despatch.north", url=url)
    inc = incident(desk, kind="FIREARMS")
    sql(url, "UPDATE incidents SET firearms = false, firearms_declared_at = NULL WHERE id = %s", (inc.id,))
    insp = open_as("inspector.north", url=url)
    auth = insp.command.authorise_armed_deployment(inc.id, threat_assessment="Handgun seen",
                                                   working_strategy="Contain", rationale="Threat to life")
    assert auth.by == "inspector.north"
    cmd = insp.command.current_command(inc.id)
    assert cmd.firearms and cmd.firearms_declared_at is not None and cmd.armed_authorised
    assert desk.despatch.assign(inc.id, "ARV11").unit.status == "en_route"
    kinds = [r[0] for r in sql(url, "SELECT kind FROM events WHERE entity_id = %s AND kind LIKE 'command.%%' "
                                    "ORDER BY seq", (str(inc.id),))]
    assert kinds[-2:] == ["command.firearms_declared", "command.armed_authorised"]


def test_south_inspector_may_command_a_south_incident(url, open_as):
    inc = incident(open_as("handler.south", url=url), firearms=True, at=OXFORD)
    with operator_conn(url, "inspector.south", "cr_inspector") as c:
        res = c.execute("SELECT api.command_accept_firearms(%s)", (inc.id,)).fetchone()[0]
    assert res["role"]["holder"] == "inspector.south"
