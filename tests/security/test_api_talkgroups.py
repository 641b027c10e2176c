"""Talk-group exclusivity and rules hold in the database against a raw operator connection."""
from __future__ import annotations

import json

import psycopg
import pytest

from ..conftest import MK
from ..helpers import operator_conn, sql


def incident(s):
    return s.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight", lat=MK[0], lon=MK[1],
                              grade="G1")


def test_raw_handler_cannot_touch_talk_groups(fresh_db_url, open_as):
    inc = incident(open_as("handler.north", url=fresh_db_url))
    with operator_conn(fresh_db_url, "handler.north", "cr_handler") as c:
        for call in ("SELECT api.talkgroup_allocate(%s)" % inc.id,
                     "SELECT api.talkgroup_log('TV-INC-01', 'hello')",
                     "SELECT api.talkgroup_move_units('TV-INC-01', '[\"MK11\"]')"):
            with pytest.raises(psycopg.Error) as err:
                c.execute(call)
            assert err.value.sqlstate == "42501"
    assert sql(fresh_db_url, "SELECT count(*) FROM talk_groups WHERE incident_id IS NOT NULL") == [(0,)]


def test_raw_despatcher_cannot_take_a_group_someone_holds_or_a_training_group_on_live(fresh_db_url, open_as):
    desk = open_as("despatch.north", url=fresh_db_url)
    a, b = incident(desk), incident(desk)
    tg = desk.talkgroups.allocate(a.id)
    with operator_conn(fresh_db_url, "despatch.south", "cr_despatcher") as c:
        with pytest.raises(psycopg.Error, match=f"already allocated to {a.urn}") as err:
            c.execute("SELECT api.talkgroup_allocate(%s, %s)", (b.id, tg.name))
        assert err.value.sqlstate == "CR409"
        trn = sql(fresh_db_url, "SELECT name FROM talk_groups WHERE kind = 'training' LIMIT 1")[0][0]
        with pytest.raises(psycopg.Error, match="training talk group"):
            c.execute("SELECT api.talkgroup_allocate(%s, %s)", (b.id, trn))
        prim = sql(fresh_db_url, "SELECT name FROM talk_groups WHERE kind = 'primary' LIMIT 1")[0][0]
        with pytest.raises(psycopg.Error, match="one incident talk group with one partner"):
            c.execute("SELECT api.talkgroup_patch(%s, %s)", (tg.name, prim))
        got = c.execute("SELECT api.talkgroup_allocate(%s)", (b.id,)).fetchone()[0]
    assert got["name"] != tg.name and got["allocated_by"] == "despatch.south"
    held = sql(fresh_db_url, "SELECT talk_group, incident_id FROM talk_group_allocations WHERE released_at IS NULL "
                             "ORDER BY incident_id")
    assert held == [(tg.name, a.id), (got["name"], b.id)]


def test_raw_radio_log_and_moves_are_in_the_session_name(fresh_db_url, open_as):
    desk = open_as("despatch.north", url=fresh_db_url)
    inc = incident(desk)
    tg = desk.talkgroups.allocate(inc.id)
    with operator_conn(fresh_db_url, "despatch.south", "cr_despatcher") as c:
        c.execute("SELECT set_config('controlroom.user', 'inspector.north', false)")
        row = c.execute("SELECT api.talkgroup_log(%s, 'Suspect detained', 'MK11')", (tg.name,)).fetchone()[0]
        c.execute("SELECT api.talkgroup_move_units(%s, %s::jsonb)", (tg.name, json.dumps(["MK11", "MK12"])))
        with pytest.raises(psycopg.Error, match="Unknown callsign"):
            c.execute("SELECT api.talkgroup_move_units(%s, %s::jsonb)", (tg.name, json.dumps(["NOPE1"])))
    assert row["username"] == "despatch.south" and row["incident_id"] == inc.id
    log = sql(fresh_db_url, "SELECT kind, username FROM incident_log WHERE incident_id = %s AND kind IN "
                            "('radio', 'talkgroup') ORDER BY id", (inc.id,))
    assert log == [("talkgroup", "despatch.north"), ("radio", "despatch.south"), ("talkgroup", "despatch.south")]
    assert sql(fresh_db_url, "SELECT callsign FROM units WHERE talk_group = %s ORDER BY 1", (tg.name,)) == [
        ("MK11",), ("MK12",)]
