"""Demo activity for the embedded first run: a believable live picture, made through the real services.

`seed_demo_activity(url)` signs in as the demo users and creates a handful of open incidents in both
rooms (mixed grades, a firearms incident awaiting authorisation, a unit at scene, a talk group
allocated) plus queued contacts, once per database (meta key 'demo_activity'). Everything goes
through the same services a console uses, so events, audit rows and the hash chain are real.

`DemoAvl` keeps the demo units' AVL fresh while a demo console is open: available units patrol
(movement from controlroom.demo.avl), the rest re-report where they are, so nothing goes stale-grey.
"""
from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import text

from . import avl as avl_sim
from ..db.engine import make_engine
from ..kernel.errors import ControlRoomError

if TYPE_CHECKING:
    from ..session import Session
from ..db.seed import DEMO_PASSWORD

log = logging.getLogger(__name__)
META_KEY = "demo_activity"
SEED_CONSOLE = "DEMO-SEED"


@dataclass(frozen=True)
class DemoIncident:
    """One demo incident: who takes it, where, and what happens to it after creation."""
    key: str
    room: str  # which room's staff take the call
    incident_type: str
    grade: str | None
    place: str
    summary: str
    channel: str = "999"
    flags: tuple[str, ...] = ()
    assign: int = 0  # units sent
    at_scene: bool = False
    talk_group: bool = False
    regrade: str | None = None  # graded afterwards through incidents.grade (handler's assessment)
    caller: tuple[str, str] | None = None


INCIDENTS: tuple[DemoIncident, ...] = (
    DemoIncident("firearms", "north", "FIREARMS", "G1", "Bletchley",
                 "Male seen with a handgun outside the railway station, walking towards the shops",
                 flags=("firearms",), caller=("Priya Shah", "07700 900123")),
    DemoIncident("domestic", "north", "DOMESTIC", "G1", "Aylesbury",
                 "Screaming heard next door; female says partner has a knife", flags=("domestic_abuse",),
                 assign=1, caller=("Mark Evans", "07700 900456")),
    DemoIncident("burglary", "north", "BURGLARY", "G2", "Slough",
                 "Rear door forced overnight, property disturbed; occupant home now", flags=("repeat_victim",),
                 assign=1, at_scene=True),
    DemoIncident("asb", "north", "ASB", None, "High Wycombe",
                 "Group of youths throwing stones at buses at the bus station", channel="101", regrade="G3"),
    DemoIncident("admin", "north", "ADMIN", "G4", "Milton Keynes",
                 "Lost wallet handed in at a shop; owner asking where to collect it", channel="101"),
    DemoIncident("missing", "south", "MISSING", "G1", "Witney",
                 "Girl aged 9 not home from school, last seen at the park at 15:30",
                 flags=("missing_person", "vulnerable_person"), assign=2, at_scene=True, talk_group=True,
                 caller=("Claire Dunn", "07700 900789")),
    DemoIncident("rtc", "south", "RTC", "G2", "M40 J4",
                 "Two vehicles in collision, lane 2 blocked, no injuries reported", assign=1),
    DemoIncident("concern", "south", "CONCERN", None, "Reading",
                 "Elderly man seen confused in the road in his pyjamas", regrade="G2",
                 flags=("vulnerable_person",)),
    DemoIncident("theft", "south", "THEFT", "G3", "Oxford station",
                 "Bicycle stolen from the rack this morning; CCTV available", channel="online"),
)

CONTACTS: tuple[tuple[str, str, str, str | None], ...] = (  # room, channel, from, text
    ("north", "999", "07700 900111", None),
    ("north", "sms", "07700 900222", "please help he has a knife and is outside my flat in Bletchley"),
    ("north", "email", "j.brown@example.org", "My neighbour's car alarm has gone off every night this week."),
    ("south", "101", "01865 000333", None),
    ("south", "webchat", "webchat-4411", "Someone has been leaving rubbish in our alley, who do I report it to?"),
)


def seed_demo_activity(url: str) -> int:
    """Create the demo's live incidents and queued contacts once per database; returns how many incidents."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            mode = conn.execute(text("SELECT value FROM meta WHERE key = 'mode'")).scalar()
            if mode != "live":
                return 0
            # Claim first: two consoles starting together must not both seed (the DB decides).
            claimed = conn.execute(text("INSERT INTO meta (key, value) VALUES (:k, 'seeding') "
                                        "ON CONFLICT (key) DO NOTHING RETURNING key"), {"k": META_KEY}).scalar()
        if not claimed:
            return 0
        t0 = time.monotonic()
        try:
            n = _seed(url)
        except BaseException:
            with engine.begin() as conn:  # let the next start try again
                conn.execute(text("DELETE FROM meta WHERE key = :k"), {"k": META_KEY})
            raise
        with engine.begin() as conn:
            conn.execute(text("UPDATE meta SET value = now()::text WHERE key = :k"), {"k": META_KEY})
        log.info("demo activity: %d incidents and %d contacts in %.1f s", n, len(CONTACTS), time.monotonic() - t0)
        return n
    finally:
        engine.dispose()


def _seed(url: str) -> int:
    from ..session import open_session

    sessions: dict[str, Any] = {}

    def as_(user: str) -> Any:
        if user not in sessions:
            sessions[user] = open_session(url, user, DEMO_PASSWORD, f"{SEED_CONSOLE}-{user}")  # one console each
        return sessions[user]

    try:
        used: set[str] = set()
        for spec in INCIDENTS:
            _make_incident(spec, as_(f"handler.{spec.room}"), as_(f"despatch.{spec.room}"), used)
        for room, channel, sender, body in CONTACTS:
            as_(f"handler.{room}").contacts.receive(channel, from_=sender, text=body)
        return len(INCIDENTS)
    finally:
        for s in sessions.values():
            s.close()


def _make_incident(spec: DemoIncident, handler: Any, despatcher: Any, used: set[str]) -> Any:
    place = handler.incidents.suggest_places(spec.place, limit=1)[0]
    caller = {"caller_name": spec.caller[0], "caller_phone": spec.caller[1]} if spec.caller else {}
    inc = handler.incidents.create(channel=spec.channel, incident_type=spec.incident_type, summary=spec.summary,
                                   lat=place.lat, lon=place.lon, grade=spec.grade, address=place.name,
                                   **caller, **{f: True for f in spec.flags})
    if spec.regrade:
        handler.incidents.grade(inc.id, spec.regrade, rationale="Assessed with THRIVE after the call")
    # a firearms flag (or an armed type) is declared by the database at create: no FA needed
    sent: list[str] = []
    for rec in despatcher.despatch.recommend(inc.id, limit=8):
        if len(sent) >= spec.assign:
            break
        if rec.callsign in used or ("ARV" in rec.capabilities and "firearms" not in spec.flags):
            continue  # armed units stay free for armed work
        try:
            despatcher.despatch.assign(inc.id, rec.callsign)
        except ControlRoomError as exc:  # e.g. taken meanwhile: the demo just picks the next one
            log.info("demo: %s not sent to %s: %s", rec.callsign, inc.urn, exc)
            continue
        used.add(rec.callsign)
        sent.append(rec.callsign)
    if spec.at_scene and sent:
        despatcher.despatch.arrived(inc.id, sent[0])
    if spec.talk_group:
        despatcher.talkgroups.allocate(inc.id)
    return inc


LEASE = "demo-avl"
ON_SCENE = ("at_scene", "committed")  # a unit booked at scene is drawn at its incident


class DemoAvl:
    """Background AVL for the demo console: every unit reports within ~10 s; stopped by stop()."""

    def __init__(self, url: str, *, username: str = "despatch.north", password: str = DEMO_PASSWORD,
                 interval: float = 2.0, refresh_every: int = 10, seed: int = 7,
                 session_factory: Callable[[], Any] | None = None) -> None:
        self.url, self.username, self.password = url, username, password
        self.interval = interval
        self.refresh_every = refresh_every  # ticks between re-reading unit statuses
        self.rng = random.Random(seed)
        self._factory = session_factory
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Each patrolling unit reports about every 10 s (~6 fixes/s for the demo force, not 30).
        self.stride = max(1, round(10 / interval))
        self._last_fix: dict[str, float] = {}
        self.sent = 0
        self.ticks = 0
        # One simulator per database: only the holder of the lease moves units (migration 0025).
        self.lease_ttl = max(6.0, 4 * interval)
        self.holder = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.holding = False
        self._renewed = 0.0

    def start(self) -> "DemoAvl":
        self._thread = threading.Thread(target=self._run, name="demo-avl", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _open(self) -> Any:
        if self._factory is not None:
            return self._factory()
        from ..session import open_session
        return open_session(self.url, self.username, self.password, f"DEMO-AVL-{os.getpid()}")

    def _run(self) -> None:
        try:
            session = self._open()
        except ControlRoomError as exc:
            log.warning("demo AVL not started: %s", exc)
            return
        try:
            areas = session.ctx.areas
            inside = lambda la, lo: areas.locate(la, lo) is not None  # noqa: E731
            roads = avl_sim.load_roads()
            movers: dict[str, avl_sim.Mover] = {}
            fixed: dict[str, tuple[float, float]] = {}
            while not self._stop.is_set():
                if not self._lease(session):
                    self._stop.wait(min(self.interval, self.lease_ttl / 3))
                    continue
                if self.ticks % self.refresh_every == 0:
                    movers, fixed = self._plan(session, movers, roads)
                self._send(session, self._due(movers, inside), fixed)
                self.ticks += 1
                self._stop.wait(self.interval)
        finally:
            if self.holding:
                with contextlib.suppress(ControlRoomError):
                    session.units.release_sim_lease(name=LEASE, holder=self.holder)
                self.holding = False
            session.close()

    def _lease(self, session: Session) -> bool:
        """Hold the database's AVL lease: renew it a few times per ttl; take it when it lapses."""
        now = time.monotonic()
        if self.holding and now - self._renewed < self.lease_ttl / 3:
            return True
        try:
            held = session.units.take_sim_lease(name=LEASE, holder=self.holder, ttl_s=round(self.lease_ttl))
        except ControlRoomError as exc:  # DB down: stop moving units until it is back
            log.warning("demo AVL lease not renewed: %s", exc)
            held = False
        if held and not self.holding:
            log.info("demo AVL: this console moves the demo units (lease %s)", self.holder)
        self.holding, self._renewed = held, now
        return held

    def _due(self, movers: dict[str, avl_sim.Mover], inside: Callable[[float, float], bool]) -> list[avl_sim.Mover]:
        """This tick's share of the patrolling units (all of them on the first tick), moved on."""
        ms = list(movers.values())
        if self.ticks:
            ms = ms[self.ticks % self.stride::self.stride]
        now = time.monotonic()
        for m in ms:
            avl_sim.step(m, now - self._last_fix.get(m.callsign, now), self.rng, inside)
            self._last_fix[m.callsign] = now
        return ms

    def _plan(self, session: Any, movers: dict[str, avl_sim.Mover],
              roads: list[list[tuple[float, float]]]) -> tuple[dict[str, avl_sim.Mover], dict[str, tuple[float, float]]]:
        """Available units patrol (keeping their Mover); units en route drive to their incident and
        units at scene report its location; the rest report where they are."""
        try:
            units = [u for u in session.units.list() if u.lat is not None and u.status != "off_duty"]
            places = self._incident_places(session, units)
        except ControlRoomError as exc:
            log.warning("demo AVL: cannot read units: %s", exc)
            return movers, {}
        free = [u for u in units if u.status == "available"]
        keep = {u.callsign: movers[u.callsign] for u in free if u.callsign in movers and movers[u.callsign].target is None}
        fresh = avl_sim.make_movers([u for u in free if u.callsign not in keep], roads, self.rng)
        keep.update({m.callsign: m for m in fresh})
        fixed = {}
        for u in units:
            place = places.get(u.incident_id) if u.incident_id is not None else None
            if u.status == "en_route" and place is not None:
                m = movers.get(u.callsign)
                if m is None or m.target != place:
                    m = avl_sim.Mover(u.callsign, u.lat, u.lon, 0.0, target=place)
                keep[u.callsign] = m
            elif u.status != "available":
                fixed[u.callsign] = place if u.status in ON_SCENE and place is not None else (u.lat, u.lon)
        return keep, fixed

    @staticmethod
    def _incident_places(session: Any, units: list[Any]) -> dict[int, tuple[float, float]]:
        """Where the incidents units are committed to are (one read per incident)."""
        ids = {u.incident_id for u in units if u.incident_id is not None and u.status in ("en_route", *ON_SCENE)}
        out = {}
        for iid in ids:
            inc = session.incidents.get(iid)
            out[iid] = (inc.lat, inc.lon)
        return out

    def _send(self, session: Any, movers: list[avl_sim.Mover], fixed: dict[str, tuple[float, float]]) -> None:
        at = datetime.now(timezone.utc)
        batch = [(m.callsign, m.lat, m.lon, at) for m in movers]
        # Stationary units only need a fix well inside the 60 s stale limit.
        if self.ticks % self.stride == 0:
            batch += [(cs, la, lo, at) for cs, (la, lo) in fixed.items()]
        if not batch:
            return
        try:
            self.sent += session.units.update_positions(batch)
        except ControlRoomError as exc:  # DB down: keep going, the next tick tries again
            log.warning("demo AVL fixes not sent: %s", exc)
