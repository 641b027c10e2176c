"""Training scenarios: the file format (resources/scenarios/*.yaml) and the player.

The player injects each timed event through the SAME session services a console uses
(`session.incidents.create`, `session.units.set_status`, ...), so trainees see exactly what live
traffic looks like. Its clock is injectable: tests drive it by hand, the trainer window by a timer.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from ..kernel.config import resource_path
from ..kernel.errors import ControlRoomError, InvalidInput

log = logging.getLogger(__name__)
SCENARIOS = resource_path("scenarios")

# Event kind in a scenario file -> "service.method" on the session. The first argument of
# methods that act on an incident is given as `incident:` (a "@ref" to an earlier event).
KINDS: dict[str, str] = {
    "incident": "incidents.create",
    "log": "incidents.add_log",
    "grade": "incidents.grade",
    "close": "incidents.close",
    "contact": "contacts.receive",
    "unit_status": "units.set_status",
    "avl": "units.update_position",
    "assign": "despatch.assign",
    "arrive": "despatch.arrived",
    "clear": "despatch.clear",
    "talkgroup": "talkgroups.allocate",
    "firearms": "command.declare_firearms",
    "accept_firearms": "command.accept_firearms_command",
    "authorise_armed": "command.authorise_armed_deployment",
    "major_incident": "command.declare_major",
    "methane": "command.methane",
    "decision": "command.log_decision",
}
SPEEDS = (1.0, 4.0, 16.0)
_TIME = re.compile(r"^\s*(?:T\s*\+\s*)?(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)\s*$")


def parse_time(value: Any, *, field: str = "at") -> float:
    """'T+12:00' / '1:02:03' / 90 -> seconds from the scenario start."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    m = _TIME.match(str(value))
    if not m:
        raise InvalidInput(f"Scenario time {value!r} is not T+mm:ss or T+h:mm:ss.", field=field)
    h, mins, secs = m.groups()
    return int(h or 0) * 3600 + int(mins) * 60 + float(secs)


def format_time(seconds: float) -> str:
    s = int(seconds)
    return f"T+{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


@dataclass(frozen=True)
class ScenarioEvent:
    at: float
    kind: str
    args: dict[str, Any]
    ref: str | None = None
    note: str | None = None

    @property
    def target(self) -> str:
        return str(self.args.get("call")) if self.kind == "call" else KINDS[self.kind]


@dataclass(frozen=True)
class Expectation:
    """A trainee should do `kind` on the incident of event `after` within `within` seconds."""
    after: str
    kind: str
    within: float
    label: str


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str
    duration: float
    events: tuple[ScenarioEvent, ...]
    expectations: tuple[Expectation, ...] = ()
    start_units: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_scenario(source: str | Path | dict[str, Any]) -> Scenario:
    """A scenario from a name in resources/scenarios, a path, or an already-parsed dict."""
    if isinstance(source, dict):
        data, name = source, str(source.get("name", "scenario"))
    else:
        path = Path(source)
        if not path.suffix:
            path = SCENARIOS / f"{source}.yaml"
        if not path.is_file():
            raise InvalidInput(f"No scenario file {path.name}.", field="scenario")
        data, name = yaml.safe_load(path.read_text(encoding="utf-8")) or {}, path.stem
    events = []
    for i, raw in enumerate(data.get("events") or []):
        kind = str(raw.get("do", ""))
        if kind not in KINDS and kind != "call":
            raise InvalidInput(f"Event {i + 1}: unknown kind {kind!r} (known: {', '.join(KINDS)}, call).",
                               field="events")
        args = dict(raw.get("args") or {})
        if kind == "call":
            args["call"] = raw.get("call")
        events.append(ScenarioEvent(at=parse_time(raw.get("at", 0)), kind=kind, args=args,
                                    ref=raw.get("ref"), note=raw.get("note")))
    events.sort(key=lambda e: e.at)  # stable: same-time events keep their file order
    refs = {e.ref for e in events if e.ref}
    expects = []
    for raw in data.get("expect") or []:
        if raw.get("after") not in refs:
            raise InvalidInput(f"Expectation {raw.get('label')!r} follows unknown event {raw.get('after')!r}.",
                               field="expect")
        expects.append(Expectation(after=raw["after"], kind=str(raw["kind"]),
                                   within=parse_time(raw.get("within", "5:00"), field="within"),
                                   label=str(raw.get("label") or raw["kind"])))
    duration = parse_time(data["duration"]) if "duration" in data else (events[-1].at if events else 0.0)
    return Scenario(name=str(data.get("name", name)), title=str(data.get("title", name)),
                    description=str(data.get("description", "")), duration=duration,
                    events=tuple(events), expectations=tuple(expects),
                    start_units=dict((data.get("start") or {}).get("units") or {}))


def list_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


class ManualClock:
    """A clock tests move by hand: `clock.advance(30)`."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Fired:
    index: int
    at: float
    kind: str
    outcome: str  # ok | skipped | failed
    message: str = ""
    result_id: Any = None


class ScenarioPlayer:
    """Plays a scenario into a (training) session. Thread-safe: a timer thread may call `tick`."""

    def __init__(self, session: Any, scenario: Scenario, clock: Callable[[], float] = time.monotonic,
                 *, announce: bool = True) -> None:
        self.session = session
        self.scenario = scenario
        self.clock = clock
        self.announce_events = announce
        self.speed = 1.0
        self.state = "ready"  # ready | running | paused | finished
        self.refs: dict[str, Any] = {}
        self.fired: list[Fired] = []
        self.start_seq = 0  # events after this seq belong to this run (timeline, debrief)
        self.ref_seq: dict[str, tuple[int, Any]] = {}
        self._next = 0
        self._base = 0.0
        self._anchor: float | None = None
        self._lock = threading.RLock()
        self._warned: set[str] = set()

    # -- clock ------------------------------------------------------------------------------------

    @property
    def position(self) -> float:
        """Scenario seconds since T+0 (lock-free: the GUI reads it while a worker fires events)."""
        base, anchor, speed = self._base, self._anchor, self.speed
        if anchor is None:
            return base
        return min(base + (self.clock() - anchor) * speed, self.scenario.duration)

    def _rebase(self, position: float) -> None:
        # Anchor first, then base: a lock-free reader in between sees at most a tiny overshoot.
        self._anchor = None
        self._base = position
        self._anchor = self.clock() if self.state == "running" else None

    def start(self) -> None:
        """Start or resume."""
        with self._lock:
            if self.state == "finished":
                return
            self.state = "running"
            self._rebase(self._base)
            self._announce("started")
        self.tick()

    def pause(self) -> None:
        with self._lock:
            if self.state != "running":
                return
            pos = self.position
            self.state = "paused"
            self._rebase(pos)
            self._announce("paused")

    def set_speed(self, speed: float) -> None:
        if speed not in SPEEDS:
            raise InvalidInput(f"Speed must be one of {', '.join(f'x{s:g}' for s in SPEEDS)}.", field="speed")
        with self._lock:
            pos = self.position
            self.speed = float(speed)
            self._rebase(pos)
            self._announce("speed")

    def jump(self, to: float | str) -> list[Fired]:
        """Go to a scenario time; forwards fires what lies between, backwards resets and replays."""
        target = parse_time(to, field="to")
        if target > self.scenario.duration:
            raise InvalidInput(f"The scenario ends at {format_time(self.scenario.duration)}.", field="to")
        with self._lock:
            if target < self.position:
                self.reset(keep_state=True)
            self._rebase(target)
            fired = self._fire_due(target)
            self._announce("jumped")
            return fired

    def reset(self, *, keep_state: bool = False) -> int:
        """Put the training database back to the scenario start (T+0, nothing fired)."""
        with self._lock:
            seq: int = self.session.exercise.reset(scenario=self.scenario.name, units=self.scenario.start_units)
            self.start_seq = seq - 1
            self.refs.clear()
            self.ref_seq.clear()
            self.fired.clear()
            self._next = 0
            if not keep_state:
                self.state = "ready"
            self._rebase(0.0)
            return seq

    # -- firing -----------------------------------------------------------------------------------

    def tick(self) -> list[Fired]:
        """Fire every event now due; call this often (timer, loop)."""
        with self._lock:
            if self.state != "running":
                return []
            pos = self.position
            fired = self._fire_due(pos)
            if self._next >= len(self.scenario.events) and pos >= self.scenario.duration:
                self.state = "finished"
                self._rebase(pos)
                self._announce("finished")
            return fired

    def _fire_due(self, position: float) -> list[Fired]:
        out = []
        events = self.scenario.events
        while self._next < len(events) and events[self._next].at <= position:
            out.append(self._fire(self._next, events[self._next]))
            self._next += 1
        self.fired.extend(out)
        return out

    def _fire(self, index: int, ev: ScenarioEvent) -> Fired:
        service_name, _, method_name = ev.target.partition(".")
        try:
            method = getattr(getattr(self.session, service_name), method_name)
        except AttributeError as exc:  # a service or method this build does not have
            if ev.target not in self._warned:  # once per kind: a quiet shift has hundreds
                self._warned.add(ev.target)
                log.warning("scenario %s: skipping %s events: %s is not available yet (%s)",
                            self.scenario.name, ev.kind, ev.target, exc)
            return Fired(index, ev.at, ev.kind, "skipped", f"{ev.target} not available")
        try:
            args = {k: self._resolve(v) for k, v in ev.args.items() if k != "call"}
            positional = [args.pop("incident")] if "incident" in args else []
            result = method(*positional, **args)
        except (ControlRoomError, TypeError, KeyError) as exc:
            log.warning("scenario %s at %s: %s failed: %s", self.scenario.name, format_time(ev.at),
                        ev.target, exc)
            return Fired(index, ev.at, ev.kind, "failed", str(exc))
        if ev.ref:
            self.refs[ev.ref] = result
            self.ref_seq[ev.ref] = (self._last_seq(), getattr(result, "id", None))
        return Fired(index, ev.at, ev.kind, "ok", "", getattr(result, "id", None))

    def _resolve(self, value: Any) -> Any:
        """'@ref' -> the id of what event `ref` created; '@ref.urn' -> that attribute."""
        if isinstance(value, str) and value.startswith("@"):
            ref, _, attr = value[1:].partition(".")
            if ref not in self.refs:
                raise KeyError(f"event {ref!r} has not produced anything (skipped or failed)")
            return getattr(self.refs[ref], attr or "id")
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value

    def _last_seq(self) -> int:
        try:
            with self.session.ctx.read() as conn:
                from sqlalchemy import text
                return int(conn.execute(text("SELECT coalesce(max(seq), 0) FROM events")).scalar_one())
        except ControlRoomError:
            return 0

    def _announce(self, what: str) -> None:
        if not self.announce_events:
            return
        try:
            self.session.exercise.announce(what, scenario=self.scenario.name, position=self._base,
                                           speed=self.speed, state=self.state)
        except ControlRoomError as exc:  # the exercise goes on even if the banner lags
            log.warning("could not announce training.%s: %s", what, exc)

    def summary(self) -> dict[str, int]:
        counts = {"ok": 0, "skipped": 0, "failed": 0}
        for f in self.fired:
            counts[f.outcome] += 1
        return counts

    @property
    def remaining(self) -> int:
        return len(self.scenario.events) - self._next


def run_cli(argv: list[str] | None = None) -> int:
    """`python -m controlroom.demo.scenario URL NAME [--speed 16]`: play a scenario as the trainer."""
    import argparse

    from ..session import open_session
    p = argparse.ArgumentParser(description=run_cli.__doc__)
    p.add_argument("url")
    p.add_argument("scenario")
    p.add_argument("--user", default="trainer")
    p.add_argument("--password", default="demo")
    p.add_argument("--speed", type=float, default=16.0)
    p.add_argument("--no-reset", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    with open_session(a.url, a.user, a.password, "TRAINER-CLI", training=True) as s:
        player = ScenarioPlayer(s, load_scenario(a.scenario))
        if not a.no_reset:
            player.reset()
        player.set_speed(a.speed)
        player.start()
        while player.state == "running":
            player.tick()
            time.sleep(0.2)
        print(player.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli())
