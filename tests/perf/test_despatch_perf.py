"""Despatch benchmark: recommend() among 2,000 units with 400 AVL updates/s in flight."""
from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timezone

import psycopg
import pytest

from controlroom.geo import AreaIndex, load_shipped_areas

from ..conftest import MK, OXFORD, READING
from .baselines import report

pytestmark = pytest.mark.perf

N_UNITS = 2000
RATE = 400          # position updates per second, from another console
BATCH_EVERY = 0.05  # the mover sends 20 batches/s of 20 fixes (each fix its own unit.position event)
SECONDS = 6.0


def add_units(url: str, total: int, rng: random.Random) -> list[str]:
    areas = AreaIndex.from_geojson(load_shipped_areas())
    with psycopg.connect(url, autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM units").fetchone()[0]
        rows = []
        caps = [["IRV"]] * 80 + [["NPT"]] * 8 + [["ARV", "IRV"]] * 3 + [["RPU"]] * 3 + [["DOG"]] * 2 + \
               [["PCSO"]] * 4
        while len(rows) < total - have:
            lat, lon = rng.uniform(51.35, 52.15), rng.uniform(-1.55, -0.55)
            area = areas.locate(lat, lon)
            if area:
                rows.append((f"X{len(rows):04d}", rng.choice(caps), area, lat, lon,
                             rng.choices(["available", "en_route", "off_duty"], [75, 15, 10])[0]))
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO units (callsign, capabilities, home_area_code, area_code, lat, lon, "
                            "status, position_at, status_at) VALUES (%s, %s, %s, %s, %s, %s, %s, now(), now())",
                            [(cs, c, a, a, la, lo, st) for cs, c, a, la, lo, st in rows])
        return [r[0] for r in conn.execute("SELECT callsign FROM units WHERE lat IS NOT NULL").fetchall()]


def test_recommend_latency_with_avl_updates_in_flight(open_as, fresh_db_url):
    rng = random.Random(6)
    callsigns = add_units(fresh_db_url, N_UNITS, rng)
    desk = open_as("despatch.north", url=fresh_db_url)
    avl = open_as("despatch.south", url=fresh_db_url)
    incidents = [desk.incidents.create(channel="999", incident_type=t, summary="bench", lat=p[0], lon=p[1],
                                       grade="G1", firearms=(t == "FIREARMS"))
                 for t, p in (("ASSAULT", MK), ("FIREARMS", OXFORD), ("BURGLARY", READING), ("ASB", MK))]
    for inc in incidents:  # warm: builds the index (one read) and caches the incidents
        desk.despatch.recommend(inc.id)
    applied = {"n": 0}
    desk.events.subscribe(lambda ev: ev.kind == "unit.position" and applied.__setitem__("n", applied["n"] + 1))
    stop = threading.Event()
    sent = {"n": 0}
    pos = {cs: None for cs in callsigns}

    def mover() -> None:
        per_batch = int(RATE * BATCH_EVERY)
        next_at = time.perf_counter()
        while not stop.is_set():
            now = datetime.now(timezone.utc)
            batch = []
            for cs in rng.sample(callsigns, per_batch):
                lat, lon = pos[cs] or (rng.uniform(51.4, 52.1), rng.uniform(-1.5, -0.6))
                lat, lon = lat + rng.uniform(-0.001, 0.001), lon + rng.uniform(-0.0015, 0.0015)
                pos[cs] = (lat, lon)
                batch.append((cs, lat, lon, now))
            sent["n"] += avl.units.update_positions(batch)
            next_at += BATCH_EVERY
            stop.wait(max(0.0, next_at - time.perf_counter()))

    t = threading.Thread(target=mover, daemon=True)
    t.start()
    time.sleep(0.5)
    times: list[float] = []
    t_start = time.perf_counter()
    i = 0
    while time.perf_counter() - t_start < SECONDS:
        inc = incidents[i % len(incidents)]
        t0 = time.perf_counter()
        recs = desk.despatch.recommend(inc.id)
        times.append(time.perf_counter() - t0)
        assert recs
        i += 1
        if i % 4 == 0:
            time.sleep(0.002)  # a console asks a few hundred times a second at most
    elapsed = time.perf_counter() - t_start
    stop.set()
    t.join(timeout=5)
    idx = desk.despatch.index
    print(f"units_indexed: {len(idx)} units")
    print(f"avl_updates_sent: {sent['n'] / (elapsed + 0.5):.0f} per_s")
    print(f"avl_events_applied: {applied['n'] / (elapsed + 0.5):.0f} per_s")
    print(f"recommend_calls: {len(times)} calls")
    print(f"index_rebuilds: {idx.rebuilds} rebuilds")
    out = report("recommend", times)
    assert len(idx) >= N_UNITS
    assert sent["n"] / (elapsed + 0.5) >= RATE * 0.8
    assert out["p99"] <= 2.0
