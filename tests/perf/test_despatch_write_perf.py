"""Despatch and AVL write latencies (assign / arrived / clear / status / one fix / a batch of fixes)
on the real database, printed beside a bare INSERT measured in the same run."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import psycopg
import pytest

from controlroom.db.engine import libpq_url

from ..conftest import MK
from .baselines import bare_insert, report

N = 150
BATCH = 20


@pytest.mark.perf
def test_despatch_and_avl_write_latencies(fresh_db_url, open_as):
    url = libpq_url(fresh_db_url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE units SET incident_id = NULL, status = 'available', lat = %s, lon = %s",
                     MK)
        units = [r[0] for r in conn.execute(
            "SELECT callsign FROM units WHERE NOT ('ARV' = ANY(capabilities)) ORDER BY callsign")]
    desk = open_as("despatch.north", url=fresh_db_url)
    incs = [desk.incidents.create(channel="999", incident_type="ASSAULT", summary=f"bench {i}",
                                  lat=MK[0], lon=MK[1], grade="G1") for i in range(N)]
    report("bare_insert", bare_insert(url))
    cs = units[0]
    assign, arrive, clear = [], [], []
    for inc in incs:
        t0 = time.perf_counter()
        desk.despatch.assign(inc.id, cs)
        t1 = time.perf_counter()
        desk.despatch.arrived(inc.id, cs)
        t2 = time.perf_counter()
        desk.despatch.clear(inc.id, cs, result="Words of advice")
        t3 = time.perf_counter()
        assign.append(t1 - t0)
        arrive.append(t2 - t1)
        clear.append(t3 - t2)
    report("despatch_assign", assign)
    report("despatch_arrived", arrive)
    report("despatch_clear", clear)
    status = []
    for i in range(N):
        t0 = time.perf_counter()
        desk.units.set_status(units[1], "refreshments" if i % 2 == 0 else "available")
        status.append(time.perf_counter() - t0)
    report("unit_set_status", status)
    one = []
    for i in range(N):
        t0 = time.perf_counter()
        desk.units.update_position(units[2], MK[0] + i * 1e-5, MK[1], at=datetime.now(timezone.utc))
        one.append(time.perf_counter() - t0)
    report("avl_update_position", one)
    batches = []
    for i in range(N):
        now = datetime.now(timezone.utc)
        batch = [(units[3 + k], MK[0] + i * 1e-5, MK[1] + k * 1e-4, now) for k in range(BATCH)]
        t0 = time.perf_counter()
        assert desk.units.update_positions(batch) == BATCH
        batches.append(time.perf_counter() - t0)
    out = report(f"avl_update_positions_batch{BATCH}", batches)
    print(f"avl_batch_throughput: {BATCH / (out['mean'] / 1000):.0f} fixes_per_s")
