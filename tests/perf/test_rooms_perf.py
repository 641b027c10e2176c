"""Rooms benchmarks: heartbeat, status, and a take-over / hand-back moving many open incidents."""
from __future__ import annotations

import statistics
import time

import psycopg
import pytest

pytestmark = pytest.mark.perf


def _median_ms(fn, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000


def test_rooms_perf(open_as, db_url):
    insp = open_as("inspector.south")
    print(f"\nrooms_heartbeat_median: {_median_ms(insp.rooms.heartbeat, 300):.3f} ms")
    print(f"rooms_status_median: {_median_ms(insp.rooms.status, 200):.3f} ms")
    with psycopg.connect(db_url) as conn:  # 5,000 open incidents in the north room's areas
        conn.execute("INSERT INTO incidents (urn, channel, incident_type, summary, lat, lon, area_code, "
                     "room_code, created_by, updated_by) SELECT 'PERF-' || g, '999', 'ASB', 'perf', 52.04, "
                     "-0.76, (ARRAY['mk','bucks','berks-east'])[1 + g % 3], 'north', 'perf', 'perf' "
                     "FROM generate_series(1, 5000) g")
    t = time.perf_counter()
    view = insp.rooms.take_over_all(reason="benchmark")
    took = time.perf_counter() - t
    t = time.perf_counter()
    back = insp.rooms.hand_back(reason="benchmark")
    handed = time.perf_counter() - t
    print(f"rooms_take_over_5000_open_incidents: {took * 1000:.1f} ms ({len(view.incident_ids)} moved)")
    print(f"rooms_hand_back_5000_open_incidents: {handed * 1000:.1f} ms ({len(back.incident_ids)} moved)")
    assert len(view.incident_ids) >= 5000
