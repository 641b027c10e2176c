"""Business continuity: database outage on a private server, and two console processes in two rooms."""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from controlroom.db import init_database
from controlroom.db.embedded import start_embedded
from tools.replica_demo import start_server, stop_server
from controlroom.errors import Unavailable
from controlroom.session import open_session

from .conftest import MK, OXFORD
from .helpers import wait_for



def create(session, summary, where=MK):
    return session.incidents.create(channel="999", incident_type="ASB", summary=summary,
                                    lat=where[0], lon=where[1])


@pytest.fixture
def private_server():
    """Our own embedded PostgreSQL (never the shared test server: we stop it)."""
    root = Path(tempfile.mkdtemp(prefix="cr-outage-"))
    os.chmod(root, 0o755)
    server = start_embedded(root / "pgdata", cleanup_mode="delete")
    url = server.get_uri("outage")
    init_database(url, demo=True)
    yield server, url
    try:
        stop_server(server.pgdata, mode="fast")
    except Exception:
        pass
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


def test_outage_refuses_writes_fast_then_reconnects_and_catches_up_in_order(private_server):
    server, url = private_server
    pgdata, sock = server.pgdata, server.get_postmaster_info().socket_dir
    writer = open_session(url, "handler.north", "demo", "OUT-W")
    idle = open_session(url, "despatch.north", "demo", "OUT-I")  # makes no call during the outage
    watcher = open_session(url, "despatch.south", "demo", "OUT-R")
    got, states = [], []
    watcher.events.subscribe(got.append)
    watcher.events.on_connection_state(lambda up: states.append((up, time.monotonic())))
    try:
        assert watcher.events.listener.wait_connected()
        acked = [create(writer, f"before {i}").id for i in range(3)]
        create(idle, "warms the idle console's pool")
        t_stop = time.monotonic()
        stop_server(pgdata, mode="fast")
        assert wait_for(lambda: not watcher.events.connected, timeout=2)
        detected = next(t for up, t in states if not up) - t_stop

        t = time.monotonic()
        with pytest.raises(Unavailable, match="nothing was saved"):
            create(writer, "typed during the outage")
        refused_in = time.monotonic() - t
        assert refused_in < 5

        start_server(pgdata, options=f'-h "" -k {sock}')
        t_up = time.monotonic()
        during, refusals = [], 0  # written while the watcher's listener is still away (backing off)
        while len(during) < 3:
            try:
                inc = create(writer, f"after restart {len(during)}")
            except Unavailable:
                refusals += 1
                assert time.monotonic() - t_up < 10
                time.sleep(0.05)
                continue
            during.append((inc.id, watcher.events.connected))
        first_write_after = time.monotonic() - t_up
        idle_inc = create(idle, "first call after the outage")  # dead pooled connection replaced
        assert watcher.events.listener.wait_connected(timeout=10)
        reconnected = next(t for up, t in states if up and t > t_stop) - t_up
        after = [create(writer, f"after reconnect {i}").id for i in range(3)]
        acked += [i for i, _ in during] + [idle_inc.id] + after
        assert wait_for(lambda: {str(i) for i in acked} <= {e.entity_id for e in got}, timeout=10)
        with psycopg.connect(url) as conn:
            committed = [r[0] for r in conn.execute(
                "SELECT seq FROM events WHERE seq >= %s ORDER BY seq", (got[0].seq,))]
            present = conn.execute("SELECT count(*) FROM incidents WHERE id = ANY(%s)", (acked,)).fetchone()[0]
        assert wait_for(lambda: len(got) >= len(committed))
        assert [e.seq for e in got][:len(committed)] == committed  # in order, none missing, no repeats
        assert present == len(acked)
        print(f"\noutage detection_s: {detected:.3f}\noutage write_refused_in_s: {refused_in:.3f}"
              f"\noutage first_write_after_restart_s: {first_write_after:.3f} (refused {refusals}x)"
              f"\noutage listener_reconnect_after_restart_s: {reconnected:.3f}"
              f"\noutage written_while_listener_away: {sum(not up for _, up in during)}"
              f"\noutage acknowledged: {len(acked)} present: {present}")
    finally:
        for s in (writer, idle, watcher):
            s.close()


# -- two console processes in two rooms ---------------------------------------------------------

CHILD = r"""
import json, sys, time
from controlroom.session import open_session
url, user, console = sys.argv[1:4]
s = open_session(url, user, "demo", console)
out = lambda **kw: (sys.stdout.write(json.dumps(kw, default=str) + "\n"), sys.stdout.flush())
def on_event(ev):
    if ev.kind.startswith(("incident.created", "room.")):
        out(ev=ev.kind, id=ev.entity_id, t=time.time(), area_rooms=dict(s.ctx.area_rooms))
s.events.subscribe(on_event)
s.events.listener.wait_connected()
out(ready=s.room.code)
for line in sys.stdin:
    cmd = json.loads(line)
    try:
        op = cmd["op"]
        if op == "create":
            inc = s.incidents.create(channel="999", incident_type="ASB", summary="two rooms",
                                     lat=cmd["lat"], lon=cmd["lon"])
            out(done=op, id=inc.id, room=inc.room_code, t=time.time())
        elif op == "mine":
            out(done=op, ids=sorted(i.id for i in s.incidents.list_open() if i.room_code == s.room.code))
        elif op == "quit":
            break
        else:
            v = getattr(s.rooms, op)(*cmd.get("args", []), **cmd.get("kw", {}))
            out(done=op, areas=list(v.areas), t=time.time())
    except Exception as exc:
        out(done=cmd.get("op"), error=f"{type(exc).__name__}: {exc}")
s.close()
"""


class Console:
    """A console in its own OS process; speaks JSON lines."""

    def __init__(self, url: str, user: str, console: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, url, user, console], text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1)
        self.lines: queue.Queue = queue.Queue()
        self.events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.room = self.expect(lambda m: "ready" in m, timeout=30)["ready"]

    def _read(self) -> None:
        for line in self.proc.stdout:
            msg = json.loads(line)
            if "ev" in msg:
                self.events.append(msg)
            else:
                self.lines.put(msg)

    def expect(self, pred, timeout=10.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if pred(msg):
                return msg
        raise AssertionError("no reply from the console process")

    def call(self, op: str, **kw) -> dict:
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        reply = self.expect(lambda m: m.get("done") == op)
        assert "error" not in reply, reply["error"]
        return reply

    def event(self, kind: str, entity: str | None = None, timeout: float = 5.0) -> dict:
        assert wait_for(lambda: any(e["ev"] == kind and entity in (None, e["id"]) for e in self.events),
                        timeout=timeout), f"{self.room} never saw {kind} {entity}"
        return next(e for e in self.events if e["ev"] == kind and entity in (None, e["id"]))

    def close(self) -> None:
        try:
            self.proc.stdin.write('{"op": "quit"}\n')
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


def test_two_console_processes_in_two_rooms_see_incidents_and_areas_change_hands_live(db_url):
    north = Console(db_url, "super.north", "PROC-N")
    south = Console(db_url, "inspector.south", "PROC-S")
    try:
        assert (north.room, south.room) == ("north", "south")
        made = north.call("create", lat=MK[0], lon=MK[1])
        assert made["room"] == "north"
        seen = south.event("incident.created", str(made["id"]), timeout=1.0)
        latency = seen["t"] - made["t"]
        assert latency < 1.0
        assert made["id"] in north.call("mine")["ids"] and made["id"] not in south.call("mine")["ids"]

        north.call("transfer_area", args=["mk", "south"], kw={"reason": "north room short-staffed"})
        for c in (north, south):
            assert c.event("room.area_transferred")["area_rooms"]["mk"] == "south"
        assert made["id"] in south.call("mine")["ids"] and made["id"] not in north.call("mine")["ids"]

        ox = south.call("create", lat=OXFORD[0], lon=OXFORD[1])
        took = south.call("take_over_all", kw={"reason": "north room evacuated"})
        assert set(took["areas"]) == {"bucks", "berks-east"}
        for c in (north, south):
            assert set(c.event("room.take_over")["area_rooms"].values()) == {"south"}
        assert north.call("mine")["ids"] == [] and {made["id"], ox["id"]} <= set(south.call("mine")["ids"])

        south.call("hand_back", kw={"reason": "north room back"})
        for c in (north, south):
            assert c.event("room.hand_back")["area_rooms"]["mk"] == "north"
        assert made["id"] in north.call("mine")["ids"] and ox["id"] in south.call("mine")["ids"]
        print(f"\ntwo_process incident_latency_ms: {latency * 1000:.1f}")
    finally:
        north.close()
        south.close()


def test_listener_fills_a_gap_without_deadlocking_and_keeps_delivering(open_as, db_url):
    """A NOTIFY carrying only its seq (payload > 7.9 kB) or a seq jump (sequence after failover)
    makes the listener read the gap on its own connection: that read must not deadlock."""
    a, b = open_as("handler.north"), open_as("despatch.south")
    got = []
    b.events.subscribe(got.append)
    assert b.events.listener.wait_connected()
    # (an event this large is written by the schema owner: consoles cannot emit events at all)
    with psycopg.connect(db_url, autocommit=True) as owner:
        big = owner.execute("SELECT cr_emit('test.big', NULL, NULL, %s::jsonb, false)",
                            (json.dumps({"blob": "x" * 9000}),)).fetchone()[0]
    inc = create(a, "after the big one")
    assert wait_for(lambda: any(e.entity_id == str(inc.id) for e in got), timeout=5)
    assert next(e for e in got if e.seq == big).payload["blob"] == "x" * 9000


def test_write_outage_is_the_longest_wait_between_acknowledgements_across_the_fault():
    from tools.replica_demo import write_outage

    # acks at 1, 2, 3 s; the fault at 4 s; next acks at 11 and 11.5 s: consoles waited 8 s
    assert write_outage([11.5, 1.0, 2.0, 3.0, 11.0], 4.0) == 8.0
    assert write_outage([1.0, 2.0], 4.0) is None            # nothing acknowledged after the fault
    assert write_outage([5.0, 9.0], 4.0) == 4.0             # nothing before it: counted from the fault
