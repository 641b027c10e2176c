"""Despatch rules hold in the database: a raw SQL client holding an operator's credentials cannot
walk round them (issue 19), and the firearms gate holds for armed incident types (issue 18 item 2)."""
from __future__ import annotations

import psycopg
import pytest

from controlroom.errors import NotPermitted

from ..conftest import MK, OXFORD
from ..helpers import operator_conn, sql


@pytest.fixture
def url(fresh_db_url):
    sql(fresh_db_url, "UPDATE units SET incident_id = NULL, status = 'off_duty', lat = %s, lon = %s",
        OXFORD)
    sql(fresh_db_url, "UPDATE units SET status = 'available', lat = %s, lon = %s "
                      "WHERE callsign IN ('ARV11', 'MK11', 'MK12')", MK)
    return fresh_db_url


def incident(s, kind="FIREARMS", **kw):
    return s.incidents.create(channel="999", incident_type=kind, summary=f"{kind} test", lat=MK[0],
                              lon=MK[1], grade="G1", **kw)


def unit(url, cs):
    return sql(url, "SELECT status, incident_id FROM units WHERE callsign = %s", (cs,))[0]


def test_raw_despatcher_cannot_send_an_arv_to_an_unauthorised_firearms_incident(url, open_as):
    inc = incident(open_as("handler.north", url=url), firearms=True)
    with operator_conn(url, "despatch.north", "cr_despatcher") as c:
        with pytest.raises(psycopg.Error, match="Armed deployment not authorised") as err:
            c.execute("SELECT api.despatch_assign(%s, 'ARV11')", (inc.id,))
        assert err.value.sqlstate == "CR403"
        # and the divert path is the same gate
        with pytest.raises(psycopg.Error, match="Armed deployment not authorised"):
            c.execute("SELECT api.despatch_assign(%s, 'ARV11', true)", (inc.id,))
    assert unit(url, "ARV11") == ("available", None)
    assert sql(url, "SELECT count(*) FROM assignments WHERE incident_id = %s", (inc.id,)) == [(0,)]


def test_an_armed_incident_type_is_gated_even_with_the_flag_unticked(url, open_as):
    desk = open_as("despatch.north", url=url)
    inc = incident(desk, firearms=False)
    # whatever create did, the row as a raw client might leave it: type FIREARMS, flag off
    sql(url, "UPDATE incidents SET firearms = false, firearms_declared_at = NULL WHERE id = %s", (inc.id,))
    with pytest.raises(NotPermitted, match=f"Armed deployment not authorised for {inc.urn}"):
        desk.despatch.assign(inc.id, "ARV11")
    with operator_conn(url, "despatch.north", "cr_despatcher") as c:
        with pytest.raises(psycopg.Error, match="Armed deployment not authorised"):
            c.execute("SELECT api.despatch_assign(%s, 'ARV11')", (inc.id,))
    assert unit(url, "ARV11") == ("available", None)
    # an unarmed unit may go
    assert desk.despatch.assign(inc.id, "MK11").unit.status == "en_route"


def test_raw_handler_cannot_assign_at_all(url, open_as):
    inc = incident(open_as("handler.north", url=url), kind="ASSAULT")
    with operator_conn(url, "handler.north", "cr_handler") as c:
        for call in ("SELECT api.despatch_assign(%s, 'MK11')", "SELECT api.despatch_arrived(%s, 'MK11')",
                     "SELECT api.despatch_clear(%s, 'MK11', 'x')"):
            with pytest.raises(psycopg.Error) as err:
                c.execute(call, (inc.id,))
            assert err.value.sqlstate == "42501"
    assert unit(url, "MK11") == ("available", None)


def test_raw_despatch_records_the_session_identity_not_a_claimed_one(url, open_as):
    inc = incident(open_as("handler.north", url=url), kind="ASSAULT")
    with operator_conn(url, "despatch.north", "cr_despatcher") as c:
        c.execute("SELECT set_config('controlroom.user', 'inspector.north', false), "
                  "set_config('controlroom.role', 'inspector', false)")
        res = c.execute("SELECT api.despatch_assign(%s, 'MK11')", (inc.id,)).fetchone()[0]
    assert res["assignment"]["assigned_by"] == "despatch.north"
    assert {r[0] for r in sql(url, "SELECT username FROM incident_log WHERE incident_id = %s "
                                   "AND kind = 'despatch'", (inc.id,))} == {"despatch.north"}
    ev = sql(url, "SELECT username FROM events WHERE kind = 'despatch.assigned' AND entity_id = %s",
             (str(inc.id),))
    audit = sql(url, "SELECT username, role FROM audit_log WHERE action = 'despatch.assigned' "
                     "AND entity = %s", (f"despatch:{inc.id}",))
    assert ev == [("despatch.north",)] and audit == [("despatch.north", "despatcher")]


def test_raw_rules_hold_busy_unit_closed_incident_and_clear_of_a_unit_not_there(url, open_as):
    desk = open_as("despatch.north", url=url)
    a, b = incident(desk, kind="ASSAULT"), incident(desk, kind="BURGLARY")
    desk.despatch.assign(a.id, "MK11")
    with operator_conn(url, "despatch.north", "cr_despatcher") as c:
        with pytest.raises(psycopg.Error, match=f"already on incident {a.urn}") as err:
            c.execute("SELECT api.despatch_assign(%s, 'MK11')", (b.id,))
        assert err.value.sqlstate == "CR409"
        with pytest.raises(psycopg.Error, match="is not assigned to"):
            c.execute("SELECT api.despatch_clear(%s, 'MK12', 'done')", (b.id,))
        with pytest.raises(psycopg.Error, match="Result is required"):
            c.execute("SELECT api.despatch_clear(%s, 'MK11', '  ')", (a.id,))
    assert unit(url, "MK11") == ("en_route", a.id)


def test_last_unit_cleared_or_diverted_away_leaves_the_incident_open_again(url, open_as):
    desk = open_as("despatch.north", url=url)
    a, b = incident(desk, kind="ASSAULT"), incident(desk, kind="BURGLARY")
    desk.despatch.assign(a.id, "MK11")
    desk.despatch.assign(a.id, "MK12")
    desk.despatch.arrived(a.id, "MK11")
    assert desk.despatch.clear(a.id, "MK11", result="Advice").incident.status == "at_scene"  # MK12 still on
    res = desk.despatch.assign(b.id, "MK12", divert=True)
    assert res.from_incident.status == "open" and res.incident.status == "despatched"
    assert desk.incidents.get(a.id).status == "open"
    assert desk.despatch.clear(b.id, "MK12", result="Done").incident.status == "open"
