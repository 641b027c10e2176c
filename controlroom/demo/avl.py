"""AVL simulator: moves units along plausible paths through `session.units.update_position`.

    python -m controlroom.demo.avl --units 40 --rate 20 [--database-url URL] [--seconds 60]

Units drive at about 13 m/s: those near a motorway/A-road (maps/roads.geojson) follow it, the rest
wander with a persistent heading (a random walk that turns gently, like a patrol), staying inside
the force area. Every fix goes through the real service and event path, as a real AVL feed would.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Sequence

from ..kernel.config import maps_path
from ..kernel.errors import ControlRoomError
from ..geo import haversine_m

if TYPE_CHECKING:
    from ..services.units import UnitView

log = logging.getLogger("controlroom.demo.avl")
SPEED_MPS = 13.0
M_PER_DEG_LAT = 111_200.0


@dataclass
class Mover:
    callsign: str
    lat: float
    lon: float
    heading: float  # radians, 0 = north
    road: list[tuple[float, float]] | None = None  # (lat, lon) vertices being followed
    leg: int = 0
    direction: int = 1
    target: tuple[float, float] | None = None  # (lat, lon) of the incident it is driving to


def head_for(m: Mover, dist: float) -> None:
    """Drive straight at the target; stop on it (a unit on its way to an incident)."""
    assert m.target is not None
    tlat, tlon = m.target
    remaining = haversine_m(m.lat, m.lon, tlat, tlon)
    if remaining <= dist:
        m.lat, m.lon = tlat, tlon
        return
    f = dist / remaining
    m.lat, m.lon = m.lat + (tlat - m.lat) * f, m.lon + (tlon - m.lon) * f


def load_roads() -> list[list[tuple[float, float]]]:
    with open(maps_path("roads.geojson"), encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    return [[(c[1], c[0]) for c in f["geometry"]["coordinates"]] for f in features
            if f["geometry"]["type"] == "LineString"]


def _nearest_vertex(roads: list[list[tuple[float, float]]], lat: float, lon: float) -> tuple[int, int, float]:
    best = (0, 0, math.inf)
    for r, line in enumerate(roads):
        for i, (la, lo) in enumerate(line):
            d = haversine_m(lat, lon, la, lo)
            if d < best[2]:
                best = (r, i, d)
    return best


def step(m: Mover, dt: float, rng: random.Random, inside: Callable[[float, float], bool]) -> None:
    """Advance one unit by dt seconds."""
    dist = SPEED_MPS * dt
    if m.target is not None:
        head_for(m, dist)
        return
    if m.road:
        nxt = m.leg + m.direction
        if not 0 <= nxt < len(m.road):
            m.direction = -m.direction  # end of the road: turn round
            nxt = m.leg + m.direction
        tlat, tlon = m.road[nxt]
        remaining = haversine_m(m.lat, m.lon, tlat, tlon)
        if remaining <= dist:
            m.lat, m.lon, m.leg = tlat, tlon, nxt
            return
        f = dist / remaining
        m.lat, m.lon = m.lat + (tlat - m.lat) * f, m.lon + (tlon - m.lon) * f
        return
    m.heading += rng.gauss(0, 0.25)  # patrols turn gently, not at random every second
    dlat = math.cos(m.heading) * dist / M_PER_DEG_LAT
    dlon = math.sin(m.heading) * dist / (M_PER_DEG_LAT * math.cos(math.radians(m.lat)))
    if inside(m.lat + dlat, m.lon + dlon):
        m.lat, m.lon = m.lat + dlat, m.lon + dlon
    else:
        m.heading += math.pi  # the force boundary: turn back


def make_movers(units: Sequence[UnitView], roads: list[list[tuple[float, float]]], rng: random.Random) -> list[Mover]:
    movers = []
    for u in units:
        if u.lat is None or u.lon is None:  # no fix yet: nothing to move from (run() leaves these out)
            continue
        m = Mover(u.callsign, u.lat, u.lon, rng.uniform(0, 2 * math.pi))
        r, i, d = _nearest_vertex(roads, u.lat, u.lon)
        if d < 3_000 or "RPU" in u.capabilities:  # roads policing lives on the motorways
            m.road, m.leg, m.direction = roads[r], i, rng.choice((-1, 1))
            m.lat, m.lon = roads[r][i]
        movers.append(m)
    return movers


def run(url: str, *, units: int, rate: float, seconds: float | None, username: str, password: str,
        seed: int = 6, emergency_every: float | None = None) -> int:
    from ..session import open_session

    rng = random.Random(seed)
    session = open_session(url, username, password, f"AVL-{os.getpid()}")
    sent = 0
    try:
        pool = [u for u in session.units.list() if u.lat is not None and u.status != "off_duty"]
        chosen = rng.sample(pool, min(units, len(pool)))
        movers = make_movers(chosen, load_roads(), rng)
        if not movers:
            log.warning("no units to move")
            return 0
        areas = session.ctx.areas
        inside = lambda la, lo: areas.locate(la, lo) is not None  # noqa: E731
        interval = 1.0 / rate
        last_fix = {m.callsign: time.monotonic() for m in movers}
        t_end = None if seconds is None else time.monotonic() + seconds
        next_at, k = time.monotonic(), 0
        # an officer's radio emergency button, now and then (Poisson), as a gateway would send it
        every = emergency_every or 0.0
        next_emergency = None if not every else time.monotonic() + rng.expovariate(1.0 / every)
        log.info("moving %d units at %.0f fixes/s as %s", len(movers), rate, username)
        while t_end is None or time.monotonic() < t_end:
            m = movers[k % len(movers)]
            k += 1
            now = time.monotonic()
            step(m, now - last_fix[m.callsign], rng, inside)
            last_fix[m.callsign] = now
            try:
                session.units.update_position(m.callsign, m.lat, m.lon, at=datetime.now(timezone.utc))
                sent += 1
            except ControlRoomError as exc:  # DB down: keep moving, report, carry on when it is back
                log.warning("fix for %s not sent: %s", m.callsign, exc)
                time.sleep(1.0)
            if next_emergency is not None and now >= next_emergency:
                next_emergency = now + rng.expovariate(1.0 / every)
                try:
                    session.units.emergency(m.callsign, at=datetime.now(timezone.utc), lat=m.lat, lon=m.lon,
                                            source="AVL simulator (radio emergency button)")
                    log.info("emergency button pressed on %s", m.callsign)
                except ControlRoomError as exc:
                    log.warning("emergency for %s not raised: %s", m.callsign, exc)
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1.0:
                next_at = time.monotonic()  # fell behind: don't burst to catch up
    except KeyboardInterrupt:
        pass
    finally:
        session.close()
    log.info("sent %d fixes", sent)
    return sent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m controlroom.demo.avl", description=__doc__.splitlines()[0])
    p.add_argument("--units", type=int, default=40, help="how many units to move")
    p.add_argument("--rate", type=float, default=20.0, help="position fixes per second, all units together")
    p.add_argument("--seconds", type=float, default=None, help="stop after this long (default: run until Ctrl+C)")
    p.add_argument("--emergency-every", type=float, default=None, metavar="SECONDS",
                   help="press a moving unit's radio emergency button every SECONDS on average")
    p.add_argument("--database-url", default=os.environ.get("CONTROLROOM_DATABASE_URL"))
    p.add_argument("--user", default="despatch.north")
    p.add_argument("--password", help="embedded demo only (visible in ps); otherwise asked for")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.units < 1 or args.rate <= 0:
        p.error("--units and --rate must be positive")
    url = args.database_url
    if not url:
        from ..db import init_database
        from ..db.embedded import start_embedded
        url = start_embedded().get_uri("controlroom")
        init_database(url, demo=True)
        args.password = args.password or "demo"
    elif args.password is None:
        import getpass
        args.password = getpass.getpass(f"Password for {args.user}: ")
    try:
        run(url, units=args.units, rate=args.rate, seconds=args.seconds, username=args.user,
            password=args.password, emergency_every=args.emergency_every)
    except ControlRoomError as exc:
        print(f"avl_sim: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
