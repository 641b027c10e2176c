"""Place lookup helpers: pasted coordinates, and the urban/rural rule for grade targets.

The searchable gazetteer itself is the `gazetteer` table (pg_trgm); see services/incident_related.py.
"""
from __future__ import annotations

import csv
import functools
import re

from . import config
from .geo import haversine_m

# "51.752, -1.2577", "51.752 -1.2577", "51.752;-1.2577" (lat first, as phones and maps give it)
_LATLON = re.compile(r"^\s*([-+]?\d{1,2}(?:\.\d+)?)\s*[,; ]\s*([-+]?\d{1,3}(?:\.\d+)?)\s*$")


def parse_latlon(text: str) -> tuple[float, float] | None:
    """(lat, lon) when the text is a pasted coordinate pair, else None."""
    m = _LATLON.match(text or "")
    if not m:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    if abs(lat) > 90 or abs(lon) > 180:
        return None
    return lat, lon


@functools.cache
def _places() -> dict[str, tuple[float, float]]:
    with open(config.MAPS / "places.csv", encoding="utf-8") as fh:
        return {r["name"]: (float(r["lat"]), float(r["lon"])) for r in csv.DictReader(fh)
                if r["kind"] == "place"}


@functools.cache
def urban_towns() -> tuple[tuple[str, float, float], ...]:
    """The towns listed under `urban.towns` in resources/grades.yaml, with gazetteer positions."""
    places = _places()
    towns = config.grade_policy().get("urban", {}).get("towns", [])
    return tuple((t, *places[t]) for t in towns if t in places)


def is_rural(lat: float, lon: float) -> bool:
    """Rural unless within `urban.radius_km` of a listed town (a force edits grades.yaml)."""
    radius_m = float(config.grade_policy().get("urban", {}).get("radius_km", 4.0)) * 1000.0
    return not any(haversine_m(lat, lon, tlat, tlon) <= radius_m for _, tlat, tlon in urban_towns())
