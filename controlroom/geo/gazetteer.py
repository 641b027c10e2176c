"""Place lookup helpers: pasted coordinates, and the urban/rural rule for grade targets.

The searchable gazetteer itself is the `gazetteer` table (pg_trgm); see services/incidents/related.py.
"""
from __future__ import annotations

import csv
import functools
import re

from ..kernel import config
from . import haversine_m

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


_places = config.shipped_places
urban_towns = config.urban_towns   # kernel: the grading policy (db.policy) needs them too


def is_rural(lat: float, lon: float) -> bool:
    """Rural unless within `urban.radius_km` of a listed town (a force edits grades.yaml)."""
    radius_m = float(config.grade_policy().get("urban", {}).get("radius_km", 4.0)) * 1000.0
    return not any(haversine_m(lat, lon, tlat, tlon) <= radius_m for _, tlat, tlon in urban_towns())


# How far a stored pin may sit from the gazetteer point of the place its address names:
# a town's name covers the town, a landmark or junction name only its surroundings.
MATCH_RADIUS_M = {"place": 6000.0, "street": 1500.0, "junction": 1000.0, "landmark": 1000.0}
COORDS_RADIUS_M = 100.0


@functools.cache
def _named() -> dict[str, tuple[str, str, float, float]]:
    """Every gazetteer entry (the `gazetteer` table is loaded from the same file) by folded name."""
    with open(config.maps_path("places.csv"), encoding="utf-8") as fh:
        return {r["name"].casefold(): (r["name"], r["kind"], float(r["lat"]), float(r["lon"]))
                for r in csv.DictReader(fh)}


def names_place(address: str | None) -> bool:
    """True when the text is a gazetteer name or a 'lat, lon' pair (so it can be checked)."""
    text = " ".join((address or "").split())
    return bool(text) and (parse_latlon(text) is not None or text.casefold() in _named())


def address_mismatch(address: str | None, lat: float, lon: float) -> str | None:
    """Why this address text cannot describe (lat, lon), or None when it can (or cannot be checked).

    Only texts that *name* a known place are checked: a house number or a description is taken as
    typed. Catches a location field retyped to another town while the pin stayed where it was.
    """
    text = " ".join((address or "").split())
    if not text:
        return None
    coords = parse_latlon(text)
    if coords is not None:
        far = haversine_m(lat, lon, *coords)
        return (f"The address '{text}' is {far / 1000:.1f} km from the location given; pick the location "
                "again so the coordinates and the address agree.") if far > COORDS_RADIUS_M else None
    hit = _named().get(text.casefold())
    if hit is None:
        return None
    name, kind, plat, plon = hit
    far = haversine_m(lat, lon, plat, plon)
    if far <= MATCH_RADIUS_M.get(kind, 1000.0):
        return None
    return (f"The address says '{name}' but the location given is {far / 1000:.1f} km away from it. "
            f"Pick '{name}' (or the right place) from the location suggestions so the map pin follows, "
            "or correct the address.")
