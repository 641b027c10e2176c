"""Replay: jump anywhere in a 100k-event log (target <= 500 ms)."""
from __future__ import annotations

import random
import statistics
import time

import psycopg
import pytest

from controlroom.db.engine import libpq_url
from controlroom.replay.store import Replayer

N_EVENTS = 100_000

# A week of room traffic, written straight into the log in one statement: mostly AVL fixes,
# plus incident rows changing (created / graded / despatched-like updates) and area transfers.
FILL_SQL = """
WITH u AS (SELECT array_agg(callsign ORDER BY callsign) AS cs FROM units),
g AS (SELECT n, (SELECT coalesce(max(seq), 0) FROM events) + n AS seq,
             now() - interval '7 days' + n * interval '6 seconds' AS at FROM generate_series(1, %(n)s) n)
INSERT INTO events (seq, at, kind, entity_id, room_code, console_id, username, payload)
SELECT g.seq, g.at,
  CASE WHEN g.n %% 10 = 0 THEN 'incident.updated' WHEN g.n %% 997 = 0 THEN 'room.area_transferred'
       ELSE 'unit.position' END,
  NULL, 'north', 'BENCH', 'despatch.north',
  CASE WHEN g.n %% 10 = 0 THEN jsonb_build_object('id', 900000 + (g.n / 10) %% 400,
         'urn', 'TV-BENCH-' || ((g.n / 10) %% 400), 'channel', '999', 'incident_type', 'ASB',
         'summary', 'Benchmark incident ' || g.n, 'lat', 52.0, 'lon', -0.76, 'area_code', 'mk',
         'room_code', 'north', 'grade', 'G' || (1 + g.n %% 3), 'status',
         CASE WHEN g.n %% 70 = 0 THEN 'closed' ELSE 'open' END, 'version', g.n, 'created_at', g.at,
         'updated_at', g.at, 'created_by', 'handler.north', 'updated_by', 'handler.north')
       WHEN g.n %% 997 = 0 THEN jsonb_build_object('area_rooms', jsonb_build_object('mk',
         CASE WHEN g.n %% 2 = 0 THEN 'south' ELSE 'north' END))
       ELSE jsonb_build_object('callsign', u.cs[1 + g.n %% array_length(u.cs, 1)],
         'lat', 51.5 + (g.n %% 1000) / 2000.0, 'lon', -1.2 + (g.n %% 777) / 1500.0, 'at', g.at,
         'area_code', 'mk', 'status', 'available') END
FROM g, u
"""


@pytest.mark.perf
def test_jump_anywhere_in_a_100k_event_log(fresh_db_url):
    with psycopg.connect(libpq_url(fresh_db_url), autocommit=True) as conn:
        conn.execute("UPDATE event_head SET seq = seq + %s", (N_EVENTS,))
        conn.execute(FILL_SQL, {"n": N_EVENTS})
        total = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    assert total >= N_EVENTS
    replayer = Replayer(fresh_db_url, snapshot_every=1000)
    t0 = time.perf_counter()
    replayer.build()
    build_s = time.perf_counter() - t0
    rng = random.Random(7)
    jumps = []
    for _ in range(40):
        seq = rng.randint(replayer.first_seq, replayer.head_seq)
        t0 = time.perf_counter()
        state = replayer.state_at(seq)
        jumps.append((time.perf_counter() - t0) * 1000)
        assert state.seq == seq
    at = replayer.time_of(replayer.head_seq // 2)
    t0 = time.perf_counter()
    replayer.state_at(at=at)
    by_time_ms = (time.perf_counter() - t0) * 1000
    replayer.close()
    print(f"\nreplay_log_events: {total} events")
    print(f"replay_index_build: {build_s:.2f} s")
    print(f"replay_jump_median: {statistics.median(jumps):.1f} ms")
    print(f"replay_jump_max: {max(jumps):.1f} ms")
    print(f"replay_jump_by_time: {by_time_ms:.1f} ms")
    assert max(jumps) <= 500
