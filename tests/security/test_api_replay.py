"""Replay baselines: captured through the API (inspectors, auditors), under the kernel's ordering lock."""
from __future__ import annotations

import psycopg
import pytest

from ..helpers import operator_conn, sql


def test_raw_despatcher_cannot_capture_a_baseline_and_an_inspector_can(fresh_db_url, open_as):
    before = sql(fresh_db_url, "SELECT count(*) FROM replay_snapshots")[0][0]
    with operator_conn(fresh_db_url, "despatch.north", "cr_despatcher") as c:
        with pytest.raises(psycopg.Error) as err:
            c.execute("SELECT api.replay_capture_baseline()")
        assert err.value.sqlstate == "42501"
    open_as("despatch.north", url=fresh_db_url).units.set_status("MK11", "refreshments")
    with operator_conn(fresh_db_url, "inspector.north", "cr_inspector") as c:
        seq = c.execute("SELECT api.replay_capture_baseline()").fetchone()[0]
    assert seq == sql(fresh_db_url, "SELECT max(seq) FROM events")[0][0]
    assert sql(fresh_db_url, "SELECT count(*) FROM replay_snapshots")[0][0] == before + 1
    units = sql(fresh_db_url, "SELECT u->>'status' FROM replay_snapshots s, jsonb_array_elements(s.state->'units') u "
                              "WHERE s.seq = %s AND u->>'callsign' = 'MK11'", (seq,))
    assert units == [("refreshments",)]
