"""The demo force (Thames Valley): rooms, areas, users, units, talk groups. Loaded once."""
from __future__ import annotations

import csv
import random
from typing import Any

from shapely.geometry import Point, shape
from sqlalchemy import Connection, text

from ..kernel.config import maps_path, shipped_area_features, to_json

ROOMS = [("north", "North control room", "Milton Keynes"), ("south", "South control room", "Abingdon")]

DEMO_PASSWORD = "demo"  # demo credentials only: README says so
DEMO_USERS = [
    (f"{role}.{room}", f"{label} ({room.title()})", code, room)
    for room in ("north", "south")
    for role, label, code in (("handler", "Call handler", "call_handler"),
                              ("despatch", "Despatcher", "despatcher"),
                              ("super", "Supervisor", "supervisor"),
                              ("inspector", "Inspector", "inspector"))
] + [("trainer", "Trainer", "trainer", "north"), ("auditor", "Auditor", "auditor", None),
      ("admin", "Operator administrator", "admin", None)]

# area code -> (callsign prefix, number of IRVs, NPT, PCSO, CID)
AREA_UNITS = {
    "mk": ("MK", 7, 2, 2, 1), "bucks": ("BK", 8, 3, 2, 1), "berks-east": ("BE", 7, 2, 2, 1),
    "berks-west": ("BW", 7, 2, 2, 1), "oxon": ("OX", 9, 3, 2, 1),
}
# force-wide specialists: callsign, capabilities, home area
SPECIALISTS = [
    ("ARV11", ["ARV", "IRV"], "mk"), ("ARV12", ["ARV", "IRV"], "bucks"),
    ("ARV21", ["ARV", "IRV"], "berks-east"), ("ARV31", ["ARV", "IRV"], "oxon"),
    ("ARV32", ["ARV", "IRV"], "oxon"), ("ARV41", ["ARV", "IRV"], "berks-west"),
    ("ARV42", ["ARV", "RPU"], "motorways"),
    ("RP51", ["RPU"], "motorways"), ("RP52", ["RPU"], "motorways"), ("RP53", ["RPU"], "motorways"),
    ("RP54", ["RPU"], "motorways"), ("RP55", ["RPU", "IRV"], "motorways"),
    ("DOG61", ["DOG"], "mk"), ("DOG62", ["DOG"], "oxon"), ("DOG63", ["DOG"], "berks-west"),
    ("PSU71", ["PSU"], "bucks"), ("PSU72", ["PSU"], "oxon"),
]
PARTNER_GROUPS = [
    ("HAIL-TVP", "hailing", "Hailing: neighbouring forces and partners"),
    ("PART-IMMIGRATION", "partner", "Immigration Enforcement interop"),
    ("PART-HIGHWAYS", "partner", "National Highways traffic officers interop"),
    ("PART-PRISON", "partner", "HM Prison Service interop"),
]


def seed_reference(conn: Connection, *, rng_seed: int = 42) -> None:
    """Rooms, areas, users, units and talk groups (the reference data training copies too)."""
    from .roles import _raw, create_operator

    for code, name, site in ROOMS:
        conn.execute(text("INSERT INTO rooms (code, name, site) VALUES (:c, :n, :s)"),
                     {"c": code, "n": name, "s": site})
    features = shipped_area_features()
    for f in features:
        p = f["properties"]
        conn.execute(text("INSERT INTO areas (code, name, room_code, home_room_code, geojson) "
                          "VALUES (:c, :n, :r, :r, CAST(:g AS jsonb))"),
                     {"c": p["code"], "n": p["name"], "r": p["room"], "g": to_json(f["geometry"])})
    raw = _raw(conn)
    for username, display, role, room in DEMO_USERS:
        # demo operators are PostgreSQL login roles (cluster-wide: kept if they already exist)
        create_operator(raw, username, job_role=role, password=DEMO_PASSWORD)
        conn.execute(text("INSERT INTO users (username, display_name, home_room_code) "
                          "VALUES (:u, :d, :room)"), {"u": username, "d": display, "room": room})
    _seed_units(conn, features, random.Random(rng_seed))
    _seed_talk_groups(conn, features)


def _places_by_area() -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    with open(maps_path("places.csv"), encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["area_code"], []).append((float(row["lat"]), float(row["lon"])))
    return out


def _random_point(geom: Any, places: list[tuple[float, float]], rng: random.Random) -> tuple[float, float]:
    """Near a real place in the area (units patrol where people live), else anywhere inside."""
    for _ in range(50):
        if places:
            lat, lon = rng.choice(places)
            lat, lon = lat + rng.uniform(-0.01, 0.01), lon + rng.uniform(-0.015, 0.015)
        else:
            minx, miny, maxx, maxy = geom.bounds
            lat, lon = rng.uniform(miny, maxy), rng.uniform(minx, maxx)
        if geom.contains(Point(lon, lat)):
            return round(lat, 6), round(lon, 6)
    c = geom.representative_point()
    return round(c.y, 6), round(c.x, 6)


def _seed_units(conn: Connection, features: list[dict[str, Any]], rng: random.Random) -> None:
    geoms = {f["properties"]["code"]: shape(f["geometry"]) for f in features}
    places = _places_by_area()
    units: list[tuple[str, list[str], str]] = []
    for area, (prefix, irv, npt, pcso, cid) in AREA_UNITS.items():
        units += [(f"{prefix}{10 + i}", ["IRV"], area) for i in range(1, irv + 1)]
        units += [(f"{prefix}N{i}", ["NPT"], area) for i in range(1, npt + 1)]
        units += [(f"{prefix}P{i}", ["PCSO"], area) for i in range(1, pcso + 1)]
        units += [(f"{prefix}C{i}", ["CID"], area) for i in range(1, cid + 1)]
    units += SPECIALISTS
    for callsign, caps, area in units:
        status = rng.choices(["available", "at_station", "refreshments", "off_duty"], [70, 12, 8, 10])[0]
        lat, lon = _random_point(geoms[area], places.get(area, []), rng)
        conn.execute(text("INSERT INTO units (callsign, capabilities, home_area_code, area_code, status, "
                          "lat, lon, position_at, status_at) VALUES (:cs, :caps, :a, :a, :st, :lat, :lon, "
                          "now(), now())"),
                     {"cs": callsign, "caps": caps, "a": area, "st": status, "lat": lat, "lon": lon})


def _seed_talk_groups(conn: Connection, features: list[dict[str, Any]]) -> None:
    rows: list[dict[str, Any]] = []
    for f in features:
        p = f["properties"]
        rows.append({"n": f"TV-{p['code'].upper()}-PRI", "k": "primary", "a": p["code"], "r": p["room"],
                     "d": f"Primary talk group, {p['name']}"})
    rows += [{"n": f"TV-INC-{i:02d}", "k": "incident", "a": None, "r": None,
              "d": "Incident talk group (virtual-room pool)"} for i in range(1, 17)]
    rows += [{"n": n, "k": k, "a": None, "r": None, "d": d} for n, k, d in PARTNER_GROUPS]
    rows += [{"n": f"TRN-{i:02d}", "k": "training", "a": None, "r": None, "d": "Training talk group"}
             for i in range(1, 5)]
    for r in rows:
        conn.execute(text("INSERT INTO talk_groups (name, kind, area_code, room_code, description) "
                          "VALUES (:n, :k, :a, :r, :d)"), r)
