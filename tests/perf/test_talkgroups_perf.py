"""Talk-group benchmarks: allocate/release latency, allocation seen by another console, contention."""
from __future__ import annotations

import threading
import time

import pytest

from controlroom.errors import Conflict

from ..conftest import MK
from .baselines import bare_insert, report

pytestmark = pytest.mark.perf
N = 300


def test_allocate_release_latency_and_delivery(open_as, fresh_db_url):
    report("bare INSERT autocommit", bare_insert(fresh_db_url, 300))
    desk = open_as("despatch.north", url=fresh_db_url)
    other = open_as("despatch.south", url=fresh_db_url)
    inc = desk.incidents.create(channel="999", incident_type="ASSAULT", summary="bench", lat=MK[0], lon=MK[1])
    seen: dict[str, float] = {}
    other.events.subscribe(lambda ev: ev.kind == "talkgroup.allocated"
                           and seen.__setitem__(ev.payload["allocated_at"], time.perf_counter()))
    alloc, rel, delivery = [], [], []
    for i in range(N + 20):
        t0 = time.perf_counter()
        tg = desk.talkgroups.allocate(inc.id)
        t1 = time.perf_counter()
        key = str(tg.allocated_at)  # the payload carries str(datetime) (to_json default=str)
        deadline = t1 + 0.5
        while key not in seen and time.perf_counter() < deadline:
            time.sleep(0)
        t2 = time.perf_counter()
        desk.talkgroups.release(inc.id, tg.name)
        t3 = time.perf_counter()
        if i >= 20:
            alloc.append(t1 - t0)
            rel.append(t3 - t2)
            if key in seen:
                delivery.append(seen[key] - t0)
    report("talkgroup allocate", alloc)
    report("talkgroup release", rel)
    report("allocate -> other console event", delivery)
    assert len(delivery) == N


def test_contended_last_group_throughput(open_as, fresh_db_url):
    a, b = open_as("despatch.north", url=fresh_db_url), open_as("despatch.south", url=fresh_db_url)
    holders = [a.incidents.create(channel="999", incident_type="ASSAULT", summary="hold", lat=MK[0], lon=MK[1])
               for _ in range(15)]
    for inc in holders:
        a.talkgroups.allocate(inc.id)
    mine = a.incidents.create(channel="999", incident_type="ASSAULT", summary="race", lat=MK[0], lon=MK[1])
    theirs = b.incidents.create(channel="999", incident_type="ASSAULT", summary="race", lat=MK[0], lon=MK[1])
    rounds, conflicts, t0 = 200, 0, time.perf_counter()
    for _ in range(rounds):
        barrier, out = threading.Barrier(2), []

        def go(s, inc):
            barrier.wait()
            try:
                out.append(s.talkgroups.allocate(inc.id))
            except Conflict:
                out.append(None)

        ts = [threading.Thread(target=go, args=(a, mine)), threading.Thread(target=go, args=(b, theirs))]
        [t.start() for t in ts]
        [t.join() for t in ts]
        won = [v for v in out if v is not None]
        assert len(won) == 1
        conflicts += 1
        a.talkgroups.release(won[0].incident_id, won[0].name)
    elapsed = time.perf_counter() - t0
    print(f"contended rounds (2 allocates + 1 release): {rounds / elapsed:.1f} rounds/s")
    print(f"contended round mean: {elapsed / rounds * 1000:.2f} ms")
