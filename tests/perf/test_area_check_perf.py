"""What the database's area-of-a-point check (migration 0041) costs an incident write.

Printed: the server-side time of `cr_areas_at(lat, lon)` per call (a PL/pgSQL loop of 5,000 calls
over random points in the force's bounding box, timed with clock_timestamp), the same loop doing
nothing (the baseline), and a round trip of the check from the client beside a bare `SELECT 1`.
"""
from __future__ import annotations

import random
import statistics
import time

import psycopg
import pytest

pytestmark = pytest.mark.perf

LOOP = """
DO $$
DECLARE t0 timestamptz; i int; v text[]; lat float8; lon float8;
BEGIN
  PERFORM setseed(0.41);
  t0 := clock_timestamp();
  FOR i IN 1..5000 LOOP
    lat := 51.3 + random() * 0.9; lon := -1.6 + random() * 1.1;
    {body}
  END LOOP;
  RAISE NOTICE 'us_per_call=%', extract(epoch FROM clock_timestamp() - t0) * 1e6 / 5000;
END $$"""


def _loop_us(conn: psycopg.Connection, body: str) -> float:
    notes: list[str] = []
    conn.add_notice_handler(lambda d: notes.append(d.message_primary or ""))
    conn.execute(LOOP.replace("{body}", body))
    return float(next(n for n in notes if n.startswith("us_per_call=")).split("=")[1])


def _round_trips(conn: psycopg.Connection, sql: str, params_list: list) -> list[float]:
    out = []
    for p in params_list:
        t = time.perf_counter()
        conn.execute(sql, p).fetchone()
        out.append((time.perf_counter() - t) * 1000)
    return out


def test_area_of_a_point_check_cost(db_url):
    rng = random.Random(41)
    points = [(51.3 + rng.random() * 0.9, -1.6 + rng.random() * 1.1) for _ in range(2000)]
    with psycopg.connect(db_url, autocommit=True) as conn:
        rings, vertices = conn.execute("SELECT count(*), sum(npoints(outline)) FROM area_rings").fetchone()
        base = min(_loop_us(conn, "v := ARRAY[lat::text, lon::text];") for _ in range(3))
        check = min(_loop_us(conn, "v := cr_areas_at(lat, lon);") for _ in range(3))
        bare = _round_trips(conn, "SELECT 1", [()] * 2000)
        call = _round_trips(conn, "SELECT cr_areas_at(%s, %s)", points)
    q = lambda xs, p: statistics.quantiles(xs, n=100)[p - 1]  # noqa: E731
    print(f"\narea_rings: {rings} rings, {vertices} vertices")
    print(f"area_check_server: {check - base:.1f} us per call (loop baseline {base:.1f} us)")
    print(f"bare_select_round_trip p50: {q(bare, 50):.3f} ms")
    print(f"area_check_round_trip p50: {q(call, 50):.3f} ms")
    print(f"area_check_round_trip p95: {q(call, 95):.3f} ms")
    assert rings > 0
