"""Many consoles' event streams in one process: `python -m tools.bench.listeners ...`.

Each simulated console keeps its own picture of the incidents (entity id -> latest payload, as
a list model would) and notes, for every event, receive time minus the event's commit-side
timestamp (`events.at`, the database clock on the same host). `--mode shared` (default): one
LISTEN connection for all consoles in the process (controlroom.db.multiplex); `--mode own`:
one connection per console, as separate workstations would have.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from controlroom.db.listener import Event, EventListener
from controlroom.db.multiplex import SharedListener


class Console:
    """The part of a console that matters here: apply each event to its own state, quickly."""

    def __init__(self) -> None:
        self.incidents: dict[str, dict[str, Any]] = {}
        self.delays: list[float] = []
        self.count = 0
        self.measuring = False

    def on_event(self, ev: Event) -> None:
        if ev.kind.startswith(("incident.", "despatch.")):  # the writers' work (not their sign-ins)
            self.count += 1
        if ev.kind.startswith("incident.") and ev.entity_id:
            self.incidents[ev.entity_id] = ev.payload
        if self.measuring and ev.at is not None:
            self.delays.append(round((time.time() - ev.at.timestamp()) * 1000, 2))


def run(args: argparse.Namespace) -> dict[str, Any]:
    consoles = [Console() for _ in range(args.consoles)]
    listeners: list[EventListener] = []
    shared = None
    if args.mode == "shared":
        shared = SharedListener.acquire(args.url)
        for c in consoles:
            shared.subscribe(c.on_event)
        ok = shared.wait_connected(30)
    else:
        for c in consoles:
            li = EventListener(args.url)
            li.subscribe(c.on_event)
            li.start()
            listeners.append(li)
        ok = all(li.wait_connected(60) for li in listeners)
    if not ok:
        raise SystemExit("listeners did not connect")
    print("ready", flush=True)
    if args.wait_go:
        sys.stdin.readline()
    for c in consoles:
        c.measuring = True
    start, cpu0 = time.perf_counter(), time.process_time()
    time.sleep(args.duration)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    for c in consoles:
        c.measuring = False
    if shared is not None:
        shared.release()
    for li in listeners:
        li.stop()
    return {"consoles": len(consoles), "mode": args.mode, "elapsed": elapsed, "cpu_s": round(cpu, 3),
            "events_per_console": [c.count for c in consoles],
            "delays": [d for c in consoles for d in c.delays]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--consoles", type=int, default=100)
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--mode", choices=["shared", "own"], default="shared")
    p.add_argument("--wait-go", action="store_true")
    args = p.parse_args(argv)
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
