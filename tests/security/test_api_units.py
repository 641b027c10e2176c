"""Unit status model and AVL hold in the database against a raw operator connection (issue 19)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ..conftest import MK
from ..helpers import operator_conn, sql


@pytest.fixture
def url(fresh_db_url):
    sql(fresh_db_url, "UPDATE units SET incident_id = NULL, status = 'available', lat = %s, lon = %s, "
                      "position_at = now() - interval '1 hour' WHERE callsign IN ('MK11', 'MK12')", MK)
    return fresh_db_url


def status(url, cs):
    return sql(url, "SELECT status, incident_id FROM units WHERE callsign = %s", (cs,))[0]


def test_raw_handler_cannot_change_a_status_or_a_position(url):
    with operator_conn(url, "handler.north", "cr_handler") as c:
        for call, args in (("SELECT api.unit_set_status('MK11', 'off_duty')", ()),
                           ("SELECT api.unit_position('MK11', 51.0, -1.0)", ()),
                           ("SELECT api.unit_positions(%s::jsonb)", (json.dumps([]),))):
            with pytest.raises(psycopg.Error) as err:
                c.execute(call, args)
            assert err.value.sqlstate == "42501"
    assert status(url, "MK11") == ("available", None)


@pytest.mark.parametrize("target,why", [("en_route", "assigned to an incident"),
                                        ("emergency", "emergency action"),
                                        ("transporting", "not on an incident"),
                                        ("bogus", "not recognised")])
def test_raw_despatcher_cannot_walk_round_the_status_model(url, target, why):
    with operator_conn(url, "despatch.north", "cr_despatcher") as c:
        with pytest.raises(psycopg.Error, match=why) as err:
            c.execute("SELECT api.unit_set_status('MK11', %s)", (target,))
    assert err.value.sqlstate == "CR400"
    assert status(url, "MK11") == ("available", None)


def test_raw_despatcher_cannot_free_a_unit_still_on_an_incident(url, open_as):
    desk = open_as("despatch.north", url=url)
    inc = desk.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight", lat=MK[0],
                                lon=MK[1], grade="G1")
    desk.despatch.assign(inc.id, "MK11")
    with operator_conn(url, "despatch.north", "cr_despatcher") as c:
        with pytest.raises(psycopg.Error, match=f"still on incident {inc.urn}"):
            c.execute("SELECT api.unit_set_status('MK11', 'available')")
        # at scene for a unit en route is the arrival, incident timers included
        unit = c.execute("SELECT api.unit_set_status('MK11', 'at_scene')").fetchone()[0]
    assert unit["status"] == "at_scene"
    assert sql(url, "SELECT status, arrived_at IS NOT NULL FROM incidents WHERE id = %s", (inc.id,)) == [
        ("at_scene", True)]


def test_raw_status_change_is_logged_in_the_session_name(url):
    with operator_conn(url, "despatch.north", "cr_despatcher") as c:
        c.execute("SELECT set_config('controlroom.user', 'super.south', false)")
        c.execute("SELECT api.unit_set_status('MK12', 'refreshments', 'Meal break')")
    assert sql(url, "SELECT username, note FROM unit_status_log WHERE callsign = 'MK12' ORDER BY id DESC "
                    "LIMIT 1") == [("despatch.north", "Meal break")]
    assert sql(url, "SELECT username FROM events WHERE kind = 'unit.status' AND entity_id = 'MK12'") == [
        ("despatch.north",)]


def test_raw_avl_batch_with_a_bad_fix_applies_nothing_and_stale_fixes_are_ignored(url):
    now = datetime.now(timezone.utc)
    good = {"callsign": "MK11", "lat": 52.0, "lon": -0.75, "at": now.isoformat(), "area": "mk"}
    with operator_conn(url, "despatch.north", "cr_despatcher") as c:
        for bad in ({**good, "callsign": "MK12", "lat": 95.0},
                    {**good, "callsign": "MK12", "at": (now + timedelta(days=1)).isoformat()},
                    {**good, "callsign": "MK12", "area": "atlantis"}):
            with pytest.raises(psycopg.Error, match="nothing was applied"):
                c.execute("SELECT api.unit_positions(%s::jsonb)", (json.dumps([good, bad]),))
        assert sql(url, "SELECT lat FROM units WHERE callsign = 'MK11'") == [(MK[0],)]
        assert c.execute("SELECT api.unit_positions(%s::jsonb)", (json.dumps([good]),)).fetchone()[0] == 1
        old = {**good, "lat": 51.0, "at": (now - timedelta(minutes=5)).isoformat()}
        assert c.execute("SELECT api.unit_positions(%s::jsonb)", (json.dumps([old]),)).fetchone()[0] == 0
        assert c.execute("SELECT api.unit_position('MK11', 51.0, -0.75, %s, 'mk')",
                         (now - timedelta(minutes=5),)).fetchone()[0] is None
    assert sql(url, "SELECT lat, area_code FROM units WHERE callsign = 'MK11'") == [(52.0, "mk")]
    ev = sql(url, "SELECT username, room_code FROM events WHERE kind = 'unit.position' AND entity_id = 'MK11'")
    assert ev == [("despatch.north", "north")]
