"""Generate quiet_shift.yaml: an ordinary 8-hour late shift (>= 200 timed events), reproducibly.

    .venv/bin/python resources/scenarios/generate_quiet_shift.py   # rewrites quiet_shift.yaml
"""
from __future__ import annotations

import csv
import random
from pathlib import Path

import yaml
from shapely.geometry import Point, shape

from controlroom.kernel.config import MAPS
from controlroom.geo import load_shipped_areas

HERE = Path(__file__).resolve().parent
SHIFT = 8 * 3600
# (type, grade, channel, weight, summaries)
CALLS = [
    ("ASB", "G3", "101", 14, ["Youths kicking a ball against cars", "Noise from a house party",
                              "Group drinking in the play park"]),
    ("BURGLARY", "G2", "101", 8, ["Shed broken into overnight, tools taken", "Garage door forced"]),
    ("ALARM", "G2", "alarm", 8, ["Intruder alarm activation, commercial premises",
                                 "Monitored alarm, zone 3 activation, keyholder en route"]),
    ("CONCERN", "G2", "999", 7, ["Elderly neighbour not seen for two days",
                                 "Caller worried about friend's messages"]),
    ("DOMESTIC", "G2", "999", 6, ["Shouting and banging heard from next door",
                                  "Ex-partner at the door refusing to leave"]),
    ("RTC", "G2", "999", 6, ["Two-car shunt, no injuries, blocking lane",
                             "Car in a ditch, driver out and walking about"]),
    ("ASSAULT", "G1", "999", 4, ["Fight outside the pub, one male on the floor",
                                 "Man hit with a bottle at the taxi rank"]),
    ("MISSING", "G2", "101", 3, ["Teenager not home from school, phone off"]),
]
UNITS = ["MK11", "MK12", "MK13", "BK11", "BK12", "BE11", "BE12", "BW11", "BW12", "OX11", "OX12", "OX13"]
CONTACT_CHANNELS = ["online", "email", "sms", "webchat"]
CONTACT_TEXTS = ["Report of a bike stolen from outside the station", "Query about a crime reference",
                 "Neighbour's hedge blocking the pavement", "Lost purse handed in?",
                 "Someone keeps phoning me and threatening me"]


def places() -> list[tuple[str, float, float, str]]:
    geoms = {f["properties"]["code"]: shape(f["geometry"]) for f in load_shipped_areas()}
    out = []
    with open(MAPS / "places.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            lat, lon, area = float(row["lat"]), float(row["lon"]), row["area_code"]
            if row["kind"] == "place" and area in geoms and geoms[area].contains(Point(lon, lat)):
                out.append((row["name"], lat, lon, area))
    return out


def t(seconds: float) -> str:
    s = int(seconds)
    return f"T+{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def build(seed: int = 2026) -> dict:
    rng = random.Random(seed)
    spots = places()
    events: list[dict] = []
    expects: list[dict] = []
    weights = [c[3] for c in CALLS]
    at, n = 60.0, 0
    while at < SHIFT - 900:
        kind, grade, channel, _, texts = rng.choices(CALLS, weights)[0]
        name, lat, lon, _area = rng.choice(spots)
        n += 1
        ref = f"q{n}"
        events.append({"at": t(at), "do": "incident", "ref": ref, "args": {
            "channel": channel, "incident_type": kind, "grade": grade,
            "summary": f"{rng.choice(texts)} ({name})", "lat": lat, "lon": lon,
            "address": f"{rng.randint(1, 180)} High Street, {name}",
            "caller_name": rng.choice(["J Smith", "A Khan", "P Jones", "R Patel", "M Brown", None]),
            "caller_phone": f"07700 9{rng.randint(0, 99999):05d}"}})
        events.append({"at": t(at + rng.randint(120, 600)), "do": "log", "args": {
            "incident": f"@{ref}", "text": rng.choice(["Caller rang back: no change.",
                                                       "Second caller reporting the same.",
                                                       "Informant now says the people have left."])}})
        if grade == "G1":
            expects.append({"after": ref, "kind": "despatch.assigned", "within": "3:00",
                            "label": f"G1 {kind.lower()} at {name} despatched"})
        elif grade == "G2" and rng.random() < 0.25:
            events.append({"at": t(at + rng.randint(300, 900)), "do": "grade", "args": {
                "incident": f"@{ref}", "grade": "G3", "rationale": "No ongoing risk; appointment offered"}})
        at += rng.expovariate(1 / 420)  # a call every ~7 minutes: a quiet night
    for _ in range(24):  # non-emergency digital contacts
        events.append({"at": t(rng.uniform(300, SHIFT - 300)), "do": "contact", "args": {
            "channel": rng.choice(CONTACT_CHANNELS), "from_": f"member{rng.randint(1, 999)}@example.org",
            "text": rng.choice(CONTACT_TEXTS)}})
    for unit in UNITS:  # refreshment breaks and station visits, paired so every change is sensible
        span = (SHIFT - 5400) // 3  # one break per third of the shift: breaks never overlap
        for start in (1800 + k * span + rng.randint(0, span - 2400) for k in range(3)):
            status = rng.choice(["refreshments", "at_station"])
            events.append({"at": t(start), "do": "unit_status", "args": {"callsign": unit, "status": status}})
            events.append({"at": t(start + rng.randint(900, 2400)), "do": "unit_status",
                           "args": {"callsign": unit, "status": "available"}})
    for _ in range(40):  # AVL: patrols moving between places
        name, lat, lon, _area = rng.choice(spots)
        events.append({"at": t(rng.uniform(120, SHIFT - 60)), "do": "avl", "args": {
            "callsign": rng.choice(UNITS), "lat": round(lat + rng.uniform(-0.004, 0.004), 5),
            "lon": round(lon + rng.uniform(-0.006, 0.006), 5)}})
    events.sort(key=lambda e: tuple(int(x) for x in e["at"][2:].split(":")))
    return {
        "name": "quiet_shift", "title": "Quiet late shift (8 hours)",
        "description": "An ordinary weekday late shift across both rooms: routine 101/999 calls, alarms, "
                       "digital contacts, refreshment breaks and patrol movements. Run at x16 to fit "
                       "the 8 hours into 30 minutes. Generated by generate_quiet_shift.py.",
        "duration": t(SHIFT),
        "start": {"units": {u: {"status": "available"} for u in UNITS}},
        "events": events, "expect": expects,
    }


if __name__ == "__main__":
    data = build()
    out = HERE / "quiet_shift.yaml"
    header = "# Generated by generate_quiet_shift.py: edit the generator, not this file.\n"
    out.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110),
                   encoding="utf-8")
    print(f"{out.name}: {len(data['events'])} events, {len(data['expect'])} expectations")
