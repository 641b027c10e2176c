"""Force scale with per-operator identity (issue 25): 400 consoles, each signed in as its OWN
database role (400 roles), every console with its own LISTEN connection (as separate
workstations have) and its heartbeat, while writers work incidents at 20,000 an hour.

Two topologies, one after the other on one private server (max_connections raised for the run):
- direct: every console's service pool connects to PostgreSQL itself;
- pooled: service pools through PgBouncer (transaction mode, a pool per operator), LISTEN direct.
Printed for each: consoles, backends (peak), server memory (PSS of all postgres processes),
propagation p50/p99 beside a bare NOTIFY baseline from the same server, the writers' create p95
beside a bare INSERT, errors. The shared-listener figures of the earlier design are
tests/perf/test_scale.py (one LISTEN per process, not per operator).

SCALE_OPS_CONSOLES (400), SCALE_OPS_PROCESSES (4), SCALE_OPS_SECONDS (60),
SCALE_OPS_INCIDENTS_PER_HOUR (20000), SCALE_OPS_MODES ("direct,pooled"; "pooled-capped" adds a
server-connection cap below the number of operators — measured to collapse, see docs/DEPLOYMENT.md).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import psutil
import psycopg
import pytest

from controlroom.db import init_database
from controlroom.db.embedded import start_embedded
from controlroom.db.roles import create_operator, grant_database_access
from tools.bench.common import Fleet, load_average, pct
from tools.replica_demo import pg_tool

from ..pooler import BINARY, start_bouncer
from .baselines import bare_insert, bare_notify, report

pytestmark = pytest.mark.perf

CONSOLES = int(os.environ.get("SCALE_OPS_CONSOLES", "400"))
PROCESSES = int(os.environ.get("SCALE_OPS_PROCESSES", "4"))
SECONDS = float(os.environ.get("SCALE_OPS_SECONDS", "60"))
PER_HOUR = float(os.environ.get("SCALE_OPS_INCIDENTS_PER_HOUR", "20000"))
MODES = [m for m in os.environ.get("SCALE_OPS_MODES", "direct,pooled").split(",") if m]


@pytest.fixture(scope="module")
def server():
    root = Path(tempfile.mkdtemp(prefix="cr-scale-ops-"))
    os.chmod(root, 0o755)
    srv = start_embedded(root / "pgdata", cleanup_mode=None)
    pgdata = root / "pgdata"
    srv.pgdata_path = pgdata
    with psycopg.connect(srv.superuser_uri("postgres"), autocommit=True) as su:
        su.execute(f"ALTER SYSTEM SET max_connections = {CONSOLES * 3 + 100}")
    pg_tool("pg_ctl", "-D", pgdata, "-w", "-t", "60", "-m", "fast", "restart")
    try:
        yield srv
    finally:
        try:
            pg_tool("pg_ctl", "-D", pgdata, "-w", "-t", "60", "-m", "immediate", "stop")
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def force(server):
    """The demo force plus CONSOLES despatchers, each a login role with a password of their own."""
    url = server.get_uri("scale_ops")
    init_database(url, demo=True)
    users = [f"op{i:03d}" for i in range(CONSOLES)]
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for i, u in enumerate(users):
            create_operator(conn, u, job_role="despatcher", password=f"pw-{u}")
            conn.execute("INSERT INTO users (username, display_name, home_room_code) VALUES (%s, %s, %s) "
                         "ON CONFLICT (username) DO NOTHING",
                         (u, f"Bench operator {i}", "north" if i % 2 == 0 else "south"))
        grant_database_access(conn)
    print(f"\nscale_ops_roles_created: {len(users)} roles in {time.perf_counter() - t0:.1f} s")
    return url, users


def _server_cpu_s(pgdata: Path) -> float:
    """CPU seconds (user + system) used so far by this server's processes alive now."""
    pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    master = psutil.Process(pid)
    total = 0.0
    for p in [master, *master.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _postgres_memory(pgdata: Path) -> tuple[int, float]:
    """(processes, PSS MB) of this server: its postmaster and every process it forked (PSS counts
    shared buffers once across them, unlike RSS)."""
    pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    n, pss = 0, 0
    master = psutil.Process(pid)
    for p in [master, *master.children(recursive=True)]:
        try:
            pss += p.memory_full_info().pss
            n += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return n, pss / 2**20


@pytest.mark.parametrize("mode", MODES)
def test_four_hundred_operator_consoles(server, force, mode):
    url, users = force
    insert = report(f"scale_ops_{mode}_bare_insert", bare_insert(url, n=300))
    notify = report(f"scale_ops_{mode}_bare_notify", bare_notify(url, n=200))
    bouncer = None
    pool_url = ""
    if mode.startswith("pooled"):
        if BINARY is None:
            pytest.fail("pgbouncer is not installed (tools/debian-packages.txt lists it)")
        # pooled: a pool of 1 per operator; pooled-capped: and at most a quarter of the consoles'
        # worth of server connections for all of them, idle ones closed after 2 s
        capped = mode == "pooled-capped"
        bouncer = start_bouncer(server.superuser_uri("postgres"), users=users, pool_size=1,
                                server_idle_timeout=2 if capped else 30, max_client_conn=CONSOLES * 16,
                                max_db_connections=max(2, CONSOLES // 4) if capped else 0)
        pool_url = bouncer.url("scale_ops")
    fleet = Fleet()
    per = CONSOLES // PROCESSES
    rate = PER_HOUR / 3600 / PROCESSES
    for p in range(PROCESSES):
        group = users[p * per:(p + 1) * per]
        fleet.spawn(f"{mode}{p}", "tests.perf.operator_consoles", "--url", url, "--pool-url", pool_url,
                    "--users", ",".join(group), "--duration", str(SECONDS), "--writer",
                    "--rate", f"{rate:.4f}", "--wait-go")
    peak = {"client": 0, "total": 0}
    mem_peak = (0, 0.0)
    try:
        fleet.wait_ready(timeout=600)
        cpu0, t0 = _server_cpu_s(server.pgdata_path), time.monotonic()
        fleet.go()
        deadline = time.monotonic() + SECONDS + 420  # (catch-up and 100 sign-outs per process under load)
        with psycopg.connect(url, autocommit=True) as conn:
            while fleet.running() and time.monotonic() < deadline:
                total, client = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE backend_type = 'client backend') "
                    "FROM pg_stat_activity").fetchone()
                peak = {"client": max(peak["client"], client), "total": max(peak["total"], total)}
                m = _postgres_memory(server.pgdata_path)
                if m[1] > mem_peak[1]:
                    mem_peak = m
                time.sleep(2.0)
                if time.monotonic() - t0 < SECONDS:
                    cpu1, t1 = _server_cpu_s(server.pgdata_path), time.monotonic()
        results = [p.result() for p in fleet.procs]
    finally:
        fleet.kill()
        if bouncer is not None:
            bouncer.stop()
    delays = [d for r in results for d in r["delays"]]
    counts = [c for r in results for c in r["events_per_console"]]
    creates = [v for r in results for v in r["writer"]["lat"]["create"]]
    closes = [v for r in results for v in r["writer"]["lat"]["close"]]
    made = sum(r["writer"]["incidents"] for r in results)
    errors = {k: v for r in results for k, v in r["writer"]["errors"].items()}
    elapsed = max(r["elapsed"] for r in results)
    consoles = sum(r["consoles"] for r in results)
    print()
    print(f"scale_ops_{mode}_consoles: {consoles} operators (own roles) in {PROCESSES} processes")
    print(f"scale_ops_{mode}_sign_in: {max(r['sign_in_s'] for r in results):.1f} s for {per} consoles per process")
    print(f"scale_ops_{mode}_incidents_per_hour: {made / elapsed * 3600:.0f} per_h (target >= {PER_HOUR:.0f})")
    print(f"scale_ops_{mode}_backends_peak: {peak['client']} client backends ({peak['total']} in all)")
    print(f"scale_ops_{mode}_backends_per_console: {peak['client'] / consoles:.2f} count")
    print(f"scale_ops_{mode}_server_memory: {mem_peak[1]:.0f} MB PSS over {mem_peak[0]} postgres processes "
          f"({mem_peak[1] / max(1, mem_peak[0]):.2f} MB each)")
    print(f"scale_ops_{mode}_events_per_console: {min(counts)} min / {max(counts)} max "
          f"(every console caught up within {max(r['caught_up_s'] for r in results):.1f} s of the last write; "
          f"{sum(r['behind'] for r in results)} still behind)")
    print(f"scale_ops_{mode}_propagation p50: {pct(delays, 50):.1f} ms (bare NOTIFY p50 {notify['p50']:.2f} ms)")
    print(f"scale_ops_{mode}_propagation p99: {pct(delays, 99):.1f} ms (target <= 250)")
    print(f"scale_ops_{mode}_create p95: {pct(creates, 95):.1f} ms (bare INSERT p95 {insert['p95']:.2f} ms)")
    print(f"scale_ops_{mode}_close p95: {pct(closes, 95):.1f} ms")
    print(f"scale_ops_{mode}_heartbeats_failing: {sum(r['heartbeat_failing'] for r in results)} consoles")
    print(f"scale_ops_{mode}_writer_errors: {sum(errors.values())} count")
    print(f"scale_ops_{mode}_client_cpu: {sum(r['cpu_s'] for r in results) / elapsed * 100:.0f} % of a core "
          f"(the {consoles} consoles, which share this machine's {psutil.cpu_count()} cores with the server)")
    server_cores = (cpu1 - cpu0) / (t1 - t0)
    print(f"scale_ops_{mode}_server_cpu: {server_cores * 100:.0f} % of a core "
          f"({server_cores / max(1e-9, made / elapsed) * 1000:.0f} ms of server CPU per incident worked, "
          f"{server_cores / max(1e-9, made / elapsed * 3) / consoles * 1e6:.0f} µs per event per console)")
    print(f"load_average_after: {load_average()}")
    assert not errors, [s for r in results for s in r["writer"]["error_samples"]]
    assert min(counts) == max(counts) > 0, "every console sees every incident event"
