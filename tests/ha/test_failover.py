"""Chaos tests (issue 25): 20 consoles writing while the Patroni cluster loses its leader.

One cluster (etcd + three PostgreSQL 18 members under Patroni, synchronous_mode) for the module;
three faults in turn: the leader's host killed (kill -9 of Patroni and PostgreSQL), the leader
frozen (SIGSTOP) until another member is promoted and then let go, and the whole cluster
restarted. After each: every write acknowledged to a console is present exactly once, every
console's event stream has no gap and no reordering, the audit chain verifies across the
failover; printed: time from the fault to the first successful write, in-doubt writes.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from controlroom.errors import ControlRoomError, Unavailable
from tools.replica_demo import write_outage

CONSOLES = 20
PEOPLE = ("handler.north", "handler.south", "despatch.north", "despatch.south", "super.north",
          "super.south", "inspector.north", "inspector.south")
MK = (52.0406, -0.7594)


def _missing() -> str | None:
    try:
        from controlroom.db.cluster import binaries
        binaries()
    except (FileNotFoundError, ImportError) as exc:
        return str(exc)
    return None


# On a developer machine without etcd/Patroni the HA tests skip; in CI they must run (a skip there
# would hide a broken failover), so a missing or refused binary fails them with its message.
pytestmark = pytest.mark.skipif(_missing() is not None and not os.environ.get("CI"),
                                reason=f"HA packages missing: {_missing()}")


@dataclass
class Writer:
    n: int
    session: object
    acked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    ack_times: list[tuple[float, float]] = field(default_factory=list)  # (started, acknowledged)
    seqs: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def cluster():
    from controlroom.db import init_database
    from controlroom.db.cluster import start, stop

    root = Path(tempfile.mkdtemp(prefix="cr-ha-"))
    os.chmod(root, 0o755)
    state = start(root / "c")
    try:
        init_database(state.admin_url(), demo=True)
        yield state
    finally:
        stop(root / "c")
        if not os.environ.get("CR_KEEP_HA"):
            shutil.rmtree(root, ignore_errors=True)


def _writers(state, label: str) -> list[Writer]:
    from controlroom.session import open_session

    out = []
    for i in range(CONSOLES):
        s = open_session(state.admin_url(), PEOPLE[i % len(PEOPLE)], "demo", f"HA-{label}-{i:02d}")
        w = Writer(i, s)
        s.events.subscribe(lambda ev, w=w: w.seqs.append(ev.seq))
        s.events.start()
        out.append(w)
    return out


def _write_loop(w: Writer, stop: threading.Event, label: str) -> None:
    k = 0
    while not stop.is_set():
        summary = f"{label} console {w.n} write {k}"
        k += 1
        started = time.monotonic()
        try:
            w.session.incidents.create(channel="101", incident_type="THEFT", summary=summary,
                                       lat=MK[0] + 0.001 * w.n, lon=MK[1])
        except Unavailable:
            w.failed.append(summary)
            time.sleep(0.2)
            continue
        except ControlRoomError as exc:
            w.errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.2)
            continue
        w.acked.append(summary)
        w.ack_times.append((started, time.monotonic()))
        time.sleep(0.05)


def _run_fault(state, label: str, fault) -> dict:
    writers = _writers(state, label)
    stop = threading.Event()
    threads = [threading.Thread(target=_write_loop, args=(w, stop, label), daemon=True) for w in writers]
    for t in threads:
        t.start()
    time.sleep(3)
    t_fault = time.monotonic()
    applied = fault()  # a fault may say when it took full effect (all processes stopped)
    if isinstance(applied, float):
        t_fault = applied
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until writes flow again, then a little more
        if sum(1 for w in writers for t0, _ in w.ack_times if t0 > t_fault) >= CONSOLES:
            break
        time.sleep(0.2)
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join(10)
    # the first write a console STARTED after the fault and got acknowledged (not one in flight)
    first = min((t1 for w in writers for t0, t1 in w.ack_times if t0 > t_fault), default=None)
    # the longest time no console got any write acknowledged, across the fault
    outage = write_outage([t1 for w in writers for _, t1 in w.ack_times], t_fault)
    time.sleep(2)  # listeners catch up
    with psycopg.connect(state.admin_url()) as conn:
        rows = conn.execute("SELECT summary, count(*) FROM incidents WHERE summary LIKE %s GROUP BY 1",
                            (f"{label} %",)).fetchall()
        seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
    present = dict(rows)
    acked = [s for w in writers for s in w.acked]
    failed = [s for w in writers for s in w.failed]
    result = {
        "acked": len(acked), "present": sum(1 for s in acked if present.get(s) == 1),
        "lost": sum(1 for s in acked if s not in present),
        "duplicated": sum(1 for c in present.values() if c > 1),
        "failed_unavailable": len(failed), "in_doubt_committed": sum(1 for s in failed if s in present),
        "time_to_first_write_s": None if first is None else first - t_fault,
        "write_outage_s": outage,
        "event_gaps": sum(1 for a, b in zip(seqs, seqs[1:]) if b != a + 1),
        "console_stream_faults": sum(1 for w in writers for a, b in zip(w.seqs, w.seqs[1:]) if b != a + 1),
        "other_errors": sorted({e for w in writers for e in w.errors})[:3],
    }
    auditor = _writers_auditor(state, label)
    result["audit_ok"] = auditor.audit.verify().ok
    auditor.close()
    for w in writers:
        w.session.close()
    print(f"\nfault {label}: " + ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                                          for k, v in result.items()))
    for k in ("acked", "present", "lost", "duplicated", "failed_unavailable", "in_doubt_committed",
              "event_gaps"):
        print(f"ha_{label}_{k}: {result[k]} count")
    if result["time_to_first_write_s"] is not None:
        print(f"ha_{label}_time_to_first_write: {result['time_to_first_write_s']:.2f} s")
    if result["write_outage_s"] is not None:
        print(f"ha_{label}_write_outage: {result['write_outage_s']:.2f} s (longest wait for any acknowledged write)")
    return result


def _writers_auditor(state, label):
    from controlroom.session import open_session
    return open_session(state.admin_url(), "auditor", "demo", f"HA-{label}-audit")


def _check(r: dict) -> None:
    assert r["acked"] > 0
    assert r["lost"] == 0 and r["present"] == r["acked"], r
    assert r["duplicated"] == 0, r
    assert r["event_gaps"] == 0 and r["console_stream_faults"] == 0, r
    assert r["audit_ok"], r
    assert r["time_to_first_write_s"] is not None, r


def _primary_by_sql(state):
    """The member that really accepts writes (asked over SQL, not Patroni's REST API)."""
    found = []
    for m in state.members:
        try:
            with psycopg.connect(f"postgresql://postgres:{state.superuser_password}@127.0.0.1:{m.pg_port}/postgres",
                                 connect_timeout=2) as c:
                if not c.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    found.append(m)
        except psycopg.Error:
            pass
    return found


def _leader_pids(state):
    from controlroom.db.cluster import _wait, leader, postmaster_pid
    _wait(lambda: len(_primary_by_sql(state)) == 1 and leader(state) is not None
          and leader(state).name == _primary_by_sql(state)[0].name, 120, "no single settled leader")
    m = _primary_by_sql(state)[0]
    return m, postmaster_pid(state, m)


def test_leader_host_killed(cluster):
    from controlroom.db.cluster import leader, spawn_member

    m, pg_pid = _leader_pids(cluster)

    def fault() -> None:
        os.kill(m.pid, signal.SIGKILL)
        if pg_pid:
            os.killpg(os.getpgid(pg_pid), signal.SIGKILL) if _alive(pg_pid) else None

    r = _run_fault(cluster, "kill9", fault)
    new = leader(cluster)
    assert new is not None and new.name != m.name
    spawn_member(cluster, m)  # the lost host comes back: as a replica
    _check(r)


def test_leader_frozen_comes_back_as_replica(cluster):
    from controlroom.db.cluster import _wait, leader, status

    m, pg_pid = _leader_pids(cluster)

    def host_processes() -> list[int]:
        # The whole host freezes: Patroni, the postmaster AND every backend. (PostgreSQL puts each
        # backend in a process group of its own, so stopping the postmaster's group alone leaves the
        # backends serving the consoles' open connections: that is not a frozen host.)
        import psutil
        pids = [m.pid]
        if pg_pid:
            pids += [pg_pid] + [c.pid for c in psutil.Process(pg_pid).children(recursive=True)]
        return pids

    frozen: list[int] = []

    def fault() -> float:
        frozen.extend(host_processes())
        for p in frozen:
            os.kill(p, signal.SIGSTOP)
        stopped = time.monotonic()
        _wait(lambda: (lambda x: x is not None and x.name != m.name)(leader(cluster)), 60,
              "no member was promoted while the leader was frozen")
        for p in frozen:
            try:
                os.kill(p, signal.SIGCONT)
            except ProcessLookupError:
                pass
        return stopped

    r = _run_fault(cluster, "sigstop", fault)
    _wait(lambda: sum(1 for s in status(cluster) if s["role"] in ("master", "primary", "leader")) == 1
          and any(s["name"] == m.name and s["role"] == "replica" and s["state"] in ("running", "streaming")
                  for s in status(cluster)), 300, "the frozen leader did not come back as a replica")
    _check(r)


def test_whole_cluster_restart(cluster):
    from controlroom.db.cluster import restart, stop

    def fault() -> float:
        stop(Path(cluster.root))
        down = time.monotonic()  # every member and etcd stopped: the fault has taken effect
        time.sleep(1)
        restart(cluster)
        return down

    r = _run_fault(cluster, "restart", fault)
    _check(r)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
