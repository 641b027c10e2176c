"""N consoles in one process, each signed in as its OWN operator (its own database role), as
separate workstations are: `python -m tests.perf.operator_consoles --url … --users op001,op002 …`.

Each console is a real Session (open_session: SCRAM sign-in as the operator, its own LISTEN
connection direct to PostgreSQL, its service pool direct or through PgBouncer with --pool-url),
beats every 5 s (api.console_heartbeat) and keeps its own picture of the incidents. With
--writer the first console also works incidents at --rate incidents a second (create, a log
line, close: three API calls). Prints "ready", waits for a line on stdin (--wait-go), runs
--duration seconds, prints one JSON line of figures.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from typing import Any

from sqlalchemy import text

from controlroom.session import Session, open_session

MK = (52.0406, -0.7594)


class Console:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.incidents: dict[str, Any] = {}
        self.delays: list[float] = []
        self.count = 0
        self.measuring = False
        session.events.subscribe(self.on_event)

    def on_event(self, ev: Any) -> None:
        if not ev.kind.startswith("incident."):
            return
        self.count += 1
        if ev.entity_id:
            self.incidents[ev.entity_id] = ev.payload
        if self.measuring and ev.at is not None:
            self.delays.append(round((time.time() - ev.at.timestamp()) * 1000, 2))


def write(session: Session, rate: float, stop: threading.Event, out: dict[str, Any]) -> None:
    rnd = random.Random(7)
    lat: dict[str, list[float]] = {"create": [], "log": [], "close": []}
    errors: dict[str, int] = {}
    samples: list[str] = []
    next_at = time.monotonic()
    n = 0
    while not stop.is_set():
        next_at += rnd.expovariate(rate)
        delay = next_at - time.monotonic()
        if delay > 0 and stop.wait(delay):
            break
        n += 1
        try:
            t0 = time.perf_counter()
            inc = session.incidents.create(channel="999", incident_type="ASB", summary=f"scale {n}",
                                           lat=MK[0] + rnd.uniform(-0.02, 0.02),
                                           lon=MK[1] + rnd.uniform(-0.02, 0.02), grade="G3")
            t1 = time.perf_counter()
            session.incidents.add_log(inc.id, "caller re-contacted, no change")
            t2 = time.perf_counter()
            session.incidents.close(inc.id, closing_code="NFA", result="Advice given")
            t3 = time.perf_counter()
            lat["create"].append((t1 - t0) * 1000)
            lat["log"].append((t2 - t1) * 1000)
            lat["close"].append((t3 - t2) * 1000)
        except Exception as exc:  # counted and sampled: the benchmark asserts there are none
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            if len(samples) < 5:
                samples.append(f"{type(exc).__name__}: {exc}")
    out.update(lat=lat, errors=errors, error_samples=samples, incidents=n)


def run(args: argparse.Namespace) -> dict[str, Any]:
    users = [u for u in args.users.split(",") if u]
    consoles: list[Console] = []
    t0 = time.perf_counter()
    for u in users:
        s = open_session(args.url, u, f"{args.password_prefix}{u}", f"SC-{u}", pool_url=args.pool_url or None)
        consoles.append(Console(s))
    sign_in_s = time.perf_counter() - t0
    for c in consoles:
        if not c.session.events.listener.wait_connected(30):
            raise SystemExit("a listener did not connect")
        c.session.rooms.start_heartbeat()
    print("ready", flush=True)
    if args.wait_go:
        sys.stdin.readline()
    for c in consoles:
        c.measuring = True
    stop = threading.Event()
    wrote: dict[str, Any] = {}
    writer = None
    if args.writer:
        writer = threading.Thread(target=write, args=(consoles[0].session, args.rate, stop, wrote))
        writer.start()
    start, cpu0 = time.perf_counter(), time.process_time()
    time.sleep(args.duration)
    stop.set()
    if writer is not None:
        writer.join(30)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    # every console must catch up to the last event written (counted only once it has)
    target, read_errors = 0, 0
    for c in consoles:  # (any console that can read: under pooler eviction some may be refused)
        try:
            with c.session.ctx.read() as conn:
                target = conn.execute(text("SELECT coalesce(max(seq), 0) FROM events")).scalar_one()
            break
        except Exception:
            read_errors += 1
    t_stop = time.monotonic()
    while time.monotonic() - t_stop < 120 and any(
            (c.session.events.listener.last_seen or 0) < target for c in consoles):
        time.sleep(0.2)
    caught_up_s = time.monotonic() - t_stop
    for c in consoles:
        c.measuring = False
    hb_fail = sum(1 for c in consoles if c.session.ctx.extras.get("handoff", {}).get("failed"))
    for c in consoles:
        try:
            c.session.close()
        except Exception:
            pass
    return {"consoles": len(consoles), "elapsed": elapsed, "cpu_s": round(cpu, 3),
            "sign_in_s": round(sign_in_s, 2), "heartbeat_failing": hb_fail,
            "caught_up_s": round(caught_up_s, 2), "read_errors": read_errors,
            "behind": sum(1 for c in consoles if (c.session.events.listener.last_seen or 0) < target),
            "events_per_console": [c.count for c in consoles],
            "delays": [d for c in consoles for d in c.delays], "writer": wrote}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--pool-url", default="")
    p.add_argument("--users", required=True)
    p.add_argument("--password-prefix", default="pw-")
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--writer", action="store_true")
    p.add_argument("--rate", type=float, default=1.0, help="incidents a second (writer)")
    p.add_argument("--wait-go", action="store_true")
    args = p.parse_args(argv)
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
