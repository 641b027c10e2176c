"""Geography with shapely: which area (and so which room) a location falls in."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

import shapely
from shapely.geometry import Point, shape
from shapely.strtree import STRtree

from ..kernel.config import shipped_area_features
from ..kernel.errors import InvalidInput

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class AreaShape:
    code: str
    name: str
    geometry: Any  # shapely (Multi)Polygon


class AreaIndex:
    """Point-in-polygon over the force's areas via an STRtree (microseconds per lookup)."""

    def __init__(self, areas: Iterable[AreaShape]) -> None:
        self.areas = list(areas)
        for a in self.areas:
            shapely.prepare(a.geometry)
        self._tree = STRtree([a.geometry for a in self.areas])
        self.outline = shapely.union_all([a.geometry for a in self.areas]) if self.areas else None

    @classmethod
    def from_geojson(cls, features: Iterable[dict[str, Any]]) -> "AreaIndex":
        return cls(AreaShape(f["properties"]["code"], f["properties"].get("name", f["properties"]["code"]),
                             shape(f["geometry"])) for f in features)

    def locate(self, lat: float, lon: float) -> str | None:
        """Area code containing the point, or None when outside the force."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return None
        pt = Point(lon, lat)
        hits = self._tree.query(pt, predicate="intersects")
        if len(hits) == 0:
            return None
        # Shared edges may overlap by a hair; the smaller area wins (a motorway corridor
        # beats the county it runs through).
        best = min((self.areas[int(i)] for i in hits), key=lambda a: a.geometry.area)
        return best.code

    def require(self, lat: float, lon: float) -> str:
        """Area code for a location, or InvalidInput the call handler can act on."""
        validate_latlon(lat, lon)
        code = self.locate(lat, lon)
        if code is None:
            raise InvalidInput(
                f"The location {lat:.5f}, {lon:.5f} is outside the force area. "
                "Check the address or transfer the call to the neighbouring force.", field="location")
        return code


def validate_latlon(lat: object, lon: object) -> None:
    for name, v, lim in (("latitude", lat, 90), ("longitude", lon, 180)):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InvalidInput(f"The {name} must be a number.", field="location")
        if not math.isfinite(v) or abs(v) > lim:
            raise InvalidInput(f"The {name} {v!r} is not a valid coordinate.", field="location")


load_shipped_areas = shipped_area_features  # kernel: the demo seed (db) reads them too


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def locate_many(index: AreaIndex, lats: Any, lons: Any) -> list[str | None]:
    """Area code (or None) for each point, vectorised: one STRtree query for a whole batch."""
    import numpy as np

    lats, lons = np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
    out: list[str | None] = [None] * len(lats)
    if not index.areas or len(lats) == 0:
        return out
    pts = shapely.points(lons, lats)
    pt_idx, area_idx = index._tree.query(pts, predicate="intersects")
    best: dict[int, float] = {}
    for p, a in zip(pt_idx.tolist(), area_idx.tolist()):
        size = index.areas[a].geometry.area
        if p not in best or size < best[p]:  # the smaller area wins, as in AreaIndex.locate
            best[p] = size
            out[p] = index.areas[a].code
    return out
