"""Area ownership, the fallback switch and scenario announcements hold in the database against a
raw operator connection (issue 19)."""
from __future__ import annotations

import psycopg
import pytest

from ..helpers import operator_conn, sql


def owners(url):
    return dict(sql(url, "SELECT code, room_code FROM areas"))


def test_raw_despatcher_cannot_move_any_area(fresh_db_url):
    before = owners(fresh_db_url)
    with operator_conn(fresh_db_url, "despatch.north", "cr_despatcher") as c:
        for call in ("SELECT api.room_transfer_area('mk', 'south', 'Staffing')",
                     "SELECT api.room_take_over('Fire at the north room')", "SELECT api.room_hand_back()"):
            with pytest.raises(psycopg.Error) as err:
                c.execute(call)
            assert err.value.sqlstate == "42501"
    assert owners(fresh_db_url) == before
    assert sql(fresh_db_url, "SELECT count(*) FROM area_transfers") == [(0,)]


def test_raw_supervisor_transfers_one_area_but_cannot_take_over(fresh_db_url):
    with operator_conn(fresh_db_url, "super.north", "cr_supervisor") as c:
        res = c.execute("SELECT api.room_transfer_area('mk', 'south', 'Staffing')").fetchone()[0]
        with pytest.raises(psycopg.Error) as err:
            c.execute("SELECT api.room_take_over('x')")
        assert err.value.sqlstate == "42501"
        with pytest.raises(psycopg.Error, match="Reason is required"):
            c.execute("SELECT api.room_transfer_area('bucks', 'south', '  ')")
    assert res["area_rooms"]["mk"] == "south" and owners(fresh_db_url)["mk"] == "south"
    assert sql(fresh_db_url, "SELECT username, kind FROM area_transfers") == [("super.north", "transfer")]


def test_raw_take_over_goes_to_the_callers_own_room_only(fresh_db_url):
    with operator_conn(fresh_db_url, "inspector.south", "cr_inspector") as c:
        c.execute("SELECT set_config('controlroom.user', 'inspector.north', false)")
        res = c.execute("SELECT api.room_take_over('North room evacuated')").fetchone()[0]
        assert res["to_room"] == "south"
        back = c.execute("SELECT api.room_hand_back('North room back')").fetchone()[0]
    assert set(owners(fresh_db_url).values()) == {"north", "south"} and back["kind"] == "hand_back"
    ev = sql(fresh_db_url, "SELECT kind, username FROM events WHERE kind LIKE 'room.%%' ORDER BY seq")
    assert ev == [("room.take_over", "inspector.south"), ("room.hand_back", "inspector.south")]


def test_fallback_is_an_inspectors_live_switch_and_announcements_a_trainers_training_one(fresh_db_url):
    with operator_conn(fresh_db_url, "super.north", "cr_supervisor") as c:
        with pytest.raises(psycopg.Error) as err:
            c.execute("SELECT api.room_fallback(true, 'Power cut')")
        assert err.value.sqlstate == "42501"
    with operator_conn(fresh_db_url, "trainer", "cr_trainer") as c:
        with pytest.raises(psycopg.Error, match="live system") as err:
            c.execute("SELECT api.training_announce('started', 'x', 0, 1, 'running')")
    with operator_conn(fresh_db_url, "inspector.north", "cr_inspector") as c:
        state = c.execute("SELECT api.room_fallback(true, 'Power cut')").fetchone()[0]
        assert (state["on"], state["by"], state["room_code"]) == (True, "inspector.north", "north")
        with pytest.raises(psycopg.Error, match="Reason is required"):
            c.execute("SELECT api.room_fallback(true, NULL)")
    sql(fresh_db_url, "UPDATE meta SET value = 'training' WHERE key = 'mode'")
    with operator_conn(fresh_db_url, "inspector.north", "cr_inspector") as c:
        with pytest.raises(psycopg.Error, match="live-system switch"):
            c.execute("SELECT api.room_fallback(false)")
    with operator_conn(fresh_db_url, "trainer", "cr_trainer") as c:
        seq = c.execute("SELECT api.training_announce('started', 'Flood', 12.34, 2, 'running')").fetchone()[0]
    assert sql(fresh_db_url, "SELECT kind, username, payload->>'position' FROM events WHERE seq = %s", (seq,)) == [
        ("training.started", "trainer", "12.3")]
