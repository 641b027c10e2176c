"""Drive-time ETAs for 2,000 units over a generated force-sized road grid (scipy Dijkstra on the
CSR graph), beside the straight-line estimate for the same units and a raw PostgreSQL round trip."""
from __future__ import annotations

import math
import random
import time

import psycopg
import pytest

from controlroom.geo import haversine_m
from controlroom.geo.roads import RoadGraph

from .baselines import report

pytestmark = pytest.mark.perf

S, N, W, E = 51.25, 52.25, -1.75, -0.35
STEP_M = 300.0


def grid():
    dlat = STEP_M / 110_574.0
    dlon = STEP_M / (111_320.0 * math.cos(math.radians(51.75)))
    rows, cols = int((N - S) / dlat), int((E - W) / dlon)
    nodes = [(r * cols + c + 1, S + r * dlat, W + c * dlon) for r in range(rows) for c in range(cols)]
    rng = random.Random(4)
    edges = []
    for r in range(rows):
        for c in range(cols):
            a = r * cols + c + 1
            for b in ((a + 1) if c + 1 < cols else None, (a + cols) if r + 1 < rows else None):
                if b is not None and rng.random() > 0.08:  # some links missing: not a perfect grid
                    speed = 110.0 if r % 40 == 0 else (70.0 if c % 12 == 0 else 35.0)
                    edges.append((a, b, STEP_M, speed, False))
    return nodes, edges


def test_network_eta_for_two_thousand_units(fresh_db_url):
    t0 = time.perf_counter()
    nodes, edges = grid()
    g = RoadGraph(nodes, edges)
    print(f"road_graph_build: {time.perf_counter() - t0:.1f} s ({len(nodes)} nodes, {len(edges)} links)")
    rng = random.Random(9)
    units = [(f"U{i:04d}", rng.uniform(S + 0.05, N - 0.05), rng.uniform(W + 0.05, E - 0.05)) for i in range(2000)]
    scenes = [(rng.uniform(S + 0.1, N - 0.1), rng.uniform(W + 0.1, E - 0.1)) for _ in range(25)]
    full, straight, reached = [], [], 0
    for lat, lon in scenes:
        t1 = time.perf_counter()
        etas = g.etas_to(lat, lon, units)
        full.append(time.perf_counter() - t1)
        reached += len(etas)
        t1 = time.perf_counter()
        _ = sorted(haversine_m(lat, lon, la, lo) * 1.3 / 13.9 for _, la, lo in units)
        straight.append(time.perf_counter() - t1)
    report("road_eta_2000_units", full)
    report("straight_line_eta_2000_units", straight)
    print(f"road_eta_2000_units_reached: {reached / len(scenes):.0f} of 2000 mean")
    shortlist = []
    for lat, lon in scenes:  # what a recommendation does: 25 nearest, bounded search
        near = sorted(units, key=lambda u: haversine_m(lat, lon, u[1], u[2]))[:25]
        est = max(haversine_m(lat, lon, u[1], u[2]) * 1.3 / 13.9 for u in near)
        t1 = time.perf_counter()
        g.etas_to(lat, lon, near, cutoff_s=3 * est + 300)
        shortlist.append(time.perf_counter() - t1)
    report("road_eta_shortlist_25", shortlist)
    with psycopg.connect(fresh_db_url, autocommit=True) as c:
        rt = []
        for _ in range(200):
            t1 = time.perf_counter()
            c.execute("SELECT 1").fetchone()
            rt.append(time.perf_counter() - t1)
    report("raw_select_1", rt)
    assert reached / len(scenes) > 1900
