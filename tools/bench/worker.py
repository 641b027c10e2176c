"""One simulated console for the load/scale benchmarks: `python -m tools.bench.worker ...`.

Signs in, prints `ready`, waits for `go` on stdin, then works incidents through their life
(create, update, assign, arrive, clear, close) at a fixed pace for a fixed time and prints one
JSON line: per-action latencies (ms), counts and errors by type. Runs as its own process so 20
consoles are 20 interpreters, as on a real control-room floor (no shared GIL, no shared pool).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from typing import Any, Callable

from controlroom.errors import Conflict, ControlRoomError
from controlroom.session import Session, open_session

MK = (52.0406, -0.7594)
THRIVE = {"threat": "None apparent", "harm": "Low", "risk": "Low", "investigation": "None needed",
          "vulnerability": "None identified", "engagement": "Advice by phone"}
CLOSE = {"closing_code": "ADVICE", "qualifier": "by_phone", "result": "Advice given by phone"}


class Worker:
    """Drives one session; `step()` does the next action of the current incident's life."""

    def __init__(self, session: Session, *, units: list[str], hot: list[str], mix: str, seed: int,
                 leave_open_every: int = 4) -> None:
        self.s = session
        self.units = units
        self.hot = hot
        self.mix = mix
        self.rng = random.Random(seed)
        self.leave_open_every = leave_open_every
        self.lat: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.error_samples: list[str] = []
        self.n_created = 0
        self._plan: list[tuple[str, Callable[[], Any]]] = []
        self._inc: Any = None
        self._unit: str | None = None

    def step(self) -> None:
        if not self._plan:
            self._plan = self._new_plan()
        name, fn = self._plan.pop(0)
        t0 = time.perf_counter()
        try:
            fn()
        except Conflict as exc:
            self.errors["Conflict"] += 1
            self._note(name, exc)
            if name == "assign_hot":  # someone else has the hot unit: take our own instead
                self._plan.insert(0, ("assign", self._assign_own))
            else:  # the rest of this incident's life depends on the step that lost
                self._plan = []
        except ControlRoomError as exc:
            self.errors[type(exc).__name__] += 1
            self._note(name, exc)
            self._plan = []  # this incident's life is broken; start the next one
        except Exception as exc:  # a bug: count it, the harness fails on any
            self.errors[f"UNEXPECTED {type(exc).__name__}"] += 1
            self._note(name, exc)
            self._plan = []
        finally:
            self.lat[name.removesuffix("_hot")].append((time.perf_counter() - t0) * 1000)

    def _note(self, name: str, exc: BaseException) -> None:
        if len(self.error_samples) < 10:
            self.error_samples.append(f"{name}: {type(exc).__name__}: {exc}")

    def _new_plan(self) -> list[tuple[str, Callable[[], Any]]]:
        plan: list[tuple[str, Callable[[], Any]]] = [("create", self._create)]
        if self.mix == "create":
            return plan
        plan.append(("update", self._update))
        self.n_created += 1
        plan.append(("thrive", self._thrive))  # the force's policy: no closing a G2 without THRIVE
        if self.n_created % self.leave_open_every == 0:
            return plan  # some stay open, so the consoles' lists grow as on a real shift
        if self.hot and self.rng.random() < 0.2:
            plan.append(("assign_hot", self._assign_hot))
        else:
            plan.append(("assign", self._assign_own))
        plan += [("arrive", self._arrive), ("clear", self._clear), ("close", self._close)]
        return plan

    def _create(self) -> None:
        lat, lon = MK[0] + self.rng.uniform(-0.03, 0.03), MK[1] + self.rng.uniform(-0.04, 0.04)
        self._inc = self.s.incidents.create(channel="999", incident_type="ASB", grade="G2", lat=lat, lon=lon,
                                            summary=f"load {self.s.console_id} {time.time():.6f}")

    def _update(self) -> None:
        self._inc = self.s.incidents.update(self._inc.id, expected_version=self._inc.version,
                                            summary=self._inc.summary + " (updated)")

    def _thrive(self) -> None:
        self.s.incidents.thrive(self._inc.id, **THRIVE)

    def _assign(self, callsign: str) -> None:
        self.s.despatch.assign(self._inc.id, callsign)
        self._unit = callsign

    def _assign_hot(self) -> None:
        self._assign(self.rng.choice(self.hot))

    def _assign_own(self) -> None:
        self._assign(self.units[self.n_created % len(self.units)])

    def _arrive(self) -> None:
        self.s.despatch.arrived(self._inc.id, self._unit)

    def _clear(self) -> None:
        self.s.despatch.clear(self._inc.id, self._unit, result="Words of advice")

    def _close(self) -> None:
        self.s.incidents.close(self._inc.id, **CLOSE)


def run(args: argparse.Namespace) -> dict[str, Any]:
    session = open_session(args.url, args.user, args.password, args.console)
    try:
        w = Worker(session, units=[u for u in args.units.split(",") if u],
                   hot=[u for u in args.hot.split(",") if u], mix=args.mix, seed=args.seed)
        session.incidents, session.despatch  # build services (and the unit index) before the clock starts
        print("ready", flush=True)
        if args.wait_go:
            sys.stdin.readline()
        interval = 1.0 / args.rate
        start, cpu0 = time.perf_counter(), time.process_time()
        next_at, late = start, 0.0
        while (now := time.perf_counter()) - start < args.duration:
            if now < next_at:
                time.sleep(next_at - now)
            else:
                late = max(late, now - next_at)
            w.step()
            next_at += interval
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
        return {"console": args.console, "elapsed": elapsed, "actions": sum(len(v) for v in w.lat.values()),
                "lat": {k: [round(x, 3) for x in v] for k, v in w.lat.items()}, "errors": dict(w.errors),
                "error_samples": w.error_samples, "max_behind_s": round(late, 3),
                "cpu_s": round(cpu, 3), "events_seen": session.events.last_seen}
    finally:
        session.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--user", default="despatch.north")
    p.add_argument("--password", default="demo")
    p.add_argument("--console", required=True)
    p.add_argument("--rate", type=float, default=10.0, help="actions per second")
    p.add_argument("--duration", type=float, default=60.0, help="seconds")
    p.add_argument("--units", default="", help="this console's own callsigns, comma-separated")
    p.add_argument("--hot", default="", help="callsigns every console competes for (expected Conflicts)")
    p.add_argument("--mix", choices=["life", "create"], default="life")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--wait-go", action="store_true", help="wait for a line on stdin before starting")
    args = p.parse_args(argv)
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
