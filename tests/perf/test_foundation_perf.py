"""Foundation benchmark: create-incident latency and cross-session delivery vs raw PostgreSQL."""
from __future__ import annotations

import threading
import time

import pytest

from ..conftest import MK
from .baselines import bare_insert, bare_notify, report

pytestmark = pytest.mark.perf


def test_create_and_delivery_against_bare_round_trips(open_as, fresh_db_url):
    insert = report("bare_insert", bare_insert(fresh_db_url))
    notify = report("bare_notify", bare_notify(fresh_db_url))

    writer = open_as("handler.north", url=fresh_db_url)
    reader = open_as("despatch.south", url=fresh_db_url)
    arrived: dict[str, float] = {}
    cond = threading.Condition()

    def on_event(ev) -> None:
        if ev.kind == "incident.created":
            with cond:
                arrived[ev.entity_id] = time.perf_counter()
                cond.notify_all()

    reader.events.subscribe(on_event)
    assert reader.events.listener.wait_connected()
    create_times, delivery = [], []
    for i in range(550):
        t0 = time.perf_counter()
        inc = writer.incidents.create(channel="999", incident_type="ASB", summary=f"bench {i}",
                                      lat=MK[0], lon=MK[1], grade="G2")
        t1 = time.perf_counter()
        with cond:
            cond.wait_for(lambda: str(inc.id) in arrived, timeout=2)
        if i >= 50:
            create_times.append(t1 - t0)
            delivery.append(arrived[str(inc.id)] - t0)
    create = report("create_incident", create_times)
    deliv = report("cross_session_delivery", delivery)
    print(f"create_p95_vs_bare_insert_p95: {create['p95'] / insert['p95']:.2f} x (target <= 4)")
    print(f"delivery_p50_vs_bare_notify_p50: {deliv['p50'] / notify['p50']:.2f} x (target <= 5)")
    print(f"delivery_p99: {deliv['p99']:.2f} ms (target <= 100)")
