"""Scale: 400 consoles listening (4 processes x 100, one shared LISTEN connection per process)
while writers run incidents at 20,000 an hour; propagation p99 <= 250 ms; connections bounded.

SCALE_SECONDS (default 60; the full bench runs 300), SCALE_CONSOLES (400), SCALE_PROCESSES (4),
SCALE_INCIDENTS_PER_HOUR (20000), SCALE_MODE (shared | own: one connection per console).
"""
from __future__ import annotations

import os
import time

import psycopg
import pytest

from tools.bench.common import Fleet, add_units, load_average, pct
from controlroom.db.engine import libpq_url

pytestmark = pytest.mark.perf

SECONDS = float(os.environ.get("SCALE_SECONDS", "60"))
CONSOLES = int(os.environ.get("SCALE_CONSOLES", "400"))
PROCESSES = int(os.environ.get("SCALE_PROCESSES", "4"))
PER_HOUR = float(os.environ.get("SCALE_INCIDENTS_PER_HOUR", "20000"))
MODE = os.environ.get("SCALE_MODE", "shared")
WRITERS = 2
# The writers' life of an incident (tools.bench.worker "life"): 3 in 4 run create, update, THRIVE,
# assign, arrive, clear, close (7 actions); 1 in 4 stays open after create, update, THRIVE (3).
ACTIONS_PER_INCIDENT = (3 * 7 + 3) / 4


def test_four_hundred_consoles_at_twenty_thousand_incidents_an_hour(fresh_db_url):
    url = libpq_url(fresh_db_url)
    own = {i: [f"S{i:02d}A", f"S{i:02d}B"] for i in range(WRITERS)}
    add_units(url, [cs for v in own.values() for cs in v])
    fleet = Fleet()
    per_proc = CONSOLES // PROCESSES
    for p in range(PROCESSES):
        fleet.spawn(f"listeners{p}", "tools.bench.listeners", "--url", url, "--consoles", str(per_proc),
                    "--duration", str(SECONDS + 3), "--mode", MODE, "--wait-go")
    rate = PER_HOUR / 3600 * ACTIONS_PER_INCIDENT / WRITERS
    for w in range(WRITERS):
        fleet.spawn(f"writer{w}", "tools.bench.worker", "--url", url, "--user", "despatch.north",
                    "--console", f"SCALE-W{w}", "--rate", f"{rate:.4f}", "--duration", str(SECONDS),
                    "--units", ",".join(own[w]), "--seed", str(w), "--wait-go")
    peak_conns = 0
    try:
        fleet.wait_ready(timeout=180)
        fleet.go()
        deadline = time.monotonic() + SECONDS + 90
        with psycopg.connect(url, autocommit=True) as conn:
            while fleet.running() and time.monotonic() < deadline:
                n = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                 ).fetchone()[0]
                peak_conns = max(peak_conns, n)
                time.sleep(1.0)
        results = {p.name: p.result() for p in fleet.procs}
    finally:
        fleet.kill()
    listeners = [r for k, r in results.items() if k.startswith("listeners")]
    writers = [r for k, r in results.items() if k.startswith("writer")]
    delays = [d for r in listeners for d in r["delays"]]
    created = sum(len(r["lat"].get("create", [])) for r in writers)
    elapsed = max(r["elapsed"] for r in writers)
    counts = [c for r in listeners for c in r["events_per_console"]]
    errors = {k: v for r in writers for k, v in r["errors"].items()}
    print()
    print(f"scale_consoles: {sum(r['consoles'] for r in listeners)} consoles in {PROCESSES} processes ({MODE})")
    print(f"scale_duration: {elapsed:.1f} s")
    print(f"scale_incidents_per_hour: {created / elapsed * 3600:.0f} per_h (target >= {PER_HOUR:.0f})")
    print(f"scale_actions: {sum(r['actions'] for r in writers) / elapsed:.1f} actions/s")
    print(f"scale_db_connections_peak: {peak_conns} connections")
    print(f"scale_events_per_console: {min(counts)} min / {max(counts)} max")
    print(f"scale_propagation p50: {pct(delays, 50):.1f} ms")
    print(f"scale_propagation p99: {pct(delays, 99):.1f} ms (target <= 250)")
    print(f"scale_propagation max: {max(delays, default=float('nan')):.1f} ms")
    print(f"scale_listener_cpu: {sum(r['cpu_s'] for r in listeners) / elapsed * 100:.1f} % of a core (all processes)")
    print(f"scale_writer_errors: {sum(errors.values())} count")
    print(f"load_average_after: {load_average()}")
    assert not errors, [s for r in writers for s in r["error_samples"]]
    assert min(counts) == max(counts) > 0, "every console sees every event"
    assert created / elapsed * 3600 >= 0.95 * PER_HOUR
    assert pct(delays, 99) <= 250
    assert peak_conns <= PROCESSES * (1 if MODE == "shared" else per_proc) + WRITERS * 13 + 2
