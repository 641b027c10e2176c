"""Duplicates, address history, repeat callers and gazetteer suggestions (read-only, fast).

Both lookups run while the call handler is still typing, so each is one indexed statement:
a GiST box search on point(lon, lat) then an exact distance filter; pg_trgm for place names.
"""
from __future__ import annotations

import math
from typing import Any

from sqlalchemy import text

from ..kernel.errors import InvalidInput
from ..geo.gazetteer import parse_latlon
from ..geo import search as location_search
from ..geo import validate_latlon
from .incident_views import PlaceView, RelatedIncident, RelatedView
from .validate import int_id, text_field
from .views import view_from

DUPLICATE_RADIUS_M = 200.0
DUPLICATE_WINDOW_MIN = 60
HISTORY_RADIUS_M = 50.0
HISTORY_MONTHS = 12
M_PER_DEG = 111_195.0

_COLS = ("i.id, i.urn, i.incident_type, i.summary, i.status, i.created_at, i.grade, i.address, "
         "i.caller_phone, i.closing_code, i.closed_at")
_DIST = ("sqrt(power((i.lat - :lat) * 111195.0, 2) + "
         "power((i.lon - :lon) * 111195.0 * cos(radians(:lat)), 2))")
_BOX = "point(i.lon, i.lat) <@ box(point(:{p}lon1, :{p}lat1), point(:{p}lon2, :{p}lat2))"

# Address matching is UPRN first, distance second: the same property (UPRN) is the same address
# at any distance; for history, a different property next door is not this address's history,
# and an incident placed only on a town's centre point says nothing about any one address.
_SAME_UPRN = "CAST(:uprn AS bigint) IS NOT NULL AND i.uprn = CAST(:uprn AS bigint)"
_PLACE_ONLY = "coalesce(i.location_ref, '') LIKE 'place:%'"

RELATED_SQL = f"""
WITH near AS (
  SELECT {_COLS}, {_DIST} AS distance_m, 'nearby' AS reason FROM incidents i
  WHERE i.status <> 'closed' AND {_BOX.format(p='d')}
    AND i.created_at > now() - make_interval(mins => {DUPLICATE_WINDOW_MIN})
    AND i.id IS DISTINCT FROM CAST(:ex AS bigint)),
same_addr AS (
  SELECT {_COLS}, {_DIST} AS distance_m, 'same address' AS reason FROM incidents i
  WHERE {_SAME_UPRN} AND i.status <> 'closed'
    AND i.created_at > now() - make_interval(mins => {DUPLICATE_WINDOW_MIN})
    AND i.id IS DISTINCT FROM CAST(:ex AS bigint)),
caller AS (
  SELECT {_COLS}, {_DIST} AS distance_m, 'same caller' AS reason FROM incidents i
  WHERE CAST(:phone AS text) IS NOT NULL AND i.caller_phone = CAST(:phone AS text)
    AND i.status <> 'closed' AND i.id IS DISTINCT FROM CAST(:ex AS bigint)),
dup AS (
  SELECT DISTINCT ON (id) * FROM (SELECT * FROM same_addr
                                  UNION ALL SELECT * FROM near WHERE distance_m <= {DUPLICATE_RADIUS_M}
                                  UNION ALL SELECT * FROM caller) x
  ORDER BY id, CASE reason WHEN 'same address' THEN 0 WHEN 'nearby' THEN 1 ELSE 2 END),
hist AS (
  SELECT {_COLS}, {_DIST} AS distance_m, 'nearby' AS reason FROM incidents i
  WHERE {_BOX.format(p='h')} AND i.created_at > now() - make_interval(months => {HISTORY_MONTHS})
    AND i.id IS DISTINCT FROM CAST(:ex AS bigint) AND i.id NOT IN (SELECT id FROM dup)
    AND NOT CAST(:place_only AS boolean) AND NOT {_PLACE_ONLY}
    AND (CAST(:uprn AS bigint) IS NULL OR i.uprn IS NULL)
  UNION ALL
  SELECT {_COLS}, {_DIST} AS distance_m, 'same address' AS reason FROM incidents i
  WHERE {_SAME_UPRN} AND i.created_at > now() - make_interval(months => {HISTORY_MONTHS})
    AND i.id IS DISTINCT FROM CAST(:ex AS bigint) AND i.id NOT IN (SELECT id FROM dup)),
hist_near AS (SELECT * FROM hist WHERE distance_m <= {HISTORY_RADIUS_M} OR reason = 'same address'
              ORDER BY created_at DESC LIMIT 25)
SELECT (SELECT coalesce(json_agg(d ORDER BY d.reason <> 'same address', d.distance_m NULLS LAST,
                                 d.created_at DESC), '[]') FROM dup d) AS dup,
       (SELECT coalesce(json_agg(h ORDER BY h.created_at DESC), '[]') FROM hist_near h) AS hist,
       (SELECT count(*) FROM incidents i WHERE CAST(:phone AS text) IS NOT NULL
          AND i.caller_phone = CAST(:phone AS text)
          AND i.created_at > now() - make_interval(months => {HISTORY_MONTHS})
          AND i.id IS DISTINCT FROM CAST(:ex AS bigint)) AS repeat
"""




def _box(lat: float, lon: float, radius_m: float, prefix: str) -> dict[str, float]:
    dlat = radius_m / M_PER_DEG
    dlon = radius_m / (M_PER_DEG * max(math.cos(math.radians(lat)), 0.01))
    return {f"{prefix}lat1": lat - dlat, f"{prefix}lat2": lat + dlat,
            f"{prefix}lon1": lon - dlon, f"{prefix}lon2": lon + dlon}


_GENERIC_PLANS = text("SET LOCAL plan_cache_mode = force_generic_plan")


class RelatedMixin:
    ctx: Any

    def find_related(self, *, lat: float, lon: float, caller_phone: str | None = None,
                     exclude_id: int | None = None, uprn: int | None = None,
                     location_ref: str | None = None) -> RelatedView:
        """Likely duplicates (open and ≤60 min: the same property, ≤200 m, or the same caller number),
        address history (last 12 months: the same property (UPRN), else ≤50 m among incidents
        without one) and how often this number called in the last 12 months."""
        validate_latlon(lat, lon)
        from .incidents import normalise_phone  # the same normalisation create stores

        phone = normalise_phone(caller_phone)
        ex = None if exclude_id is None else int_id(exclude_id)
        from .validate import uprn_field

        place_only = bool(location_ref and str(location_ref).startswith("place:"))
        params: dict[str, Any] = {"lat": float(lat), "lon": float(lon), "phone": phone, "ex": ex,
                                  "uprn": uprn_field(uprn), "place_only": place_only,
                                  **_box(lat, lon, DUPLICATE_RADIUS_M, "d"),
                                  **_box(lat, lon, HISTORY_RADIUS_M, "h")}
        with self.ctx.read() as conn:
            row = conn.execute(text(RELATED_SQL), params).one()
        dup, hist, repeat = row
        return RelatedView(duplicates=tuple(view_from(RelatedIncident, d) for d in dup),
                           history=tuple(view_from(RelatedIncident, h) for h in hist),
                           repeat_caller_count=int(repeat))

    def assigned_units(self) -> dict[int, list[str]]:
        """Callsigns per incident for every unit currently assigned (for list views)."""
        with self.ctx.read() as conn:
            rows = conn.execute(text("SELECT incident_id, array_agg(callsign ORDER BY callsign) FROM units "
                                     "WHERE incident_id IS NOT NULL GROUP BY incident_id")).all()
        return {int(i): list(cs) for i, cs in rows}

    def suggest_places(self, text_in: str, *, limit: int = 8) -> list[PlaceView]:
        """Gazetteer suggestions as the call handler types (typo-tolerant), or a pasted 'lat, lon'."""
        q = text_field(text_in, "Place", field="location", max_len=200, required=False, multiline=False)
        if q is None:
            return []
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 50:
            raise InvalidInput("Ask for between 1 and 50 suggestions.", field="limit")
        coords = parse_latlon(q)
        if coords is not None:
            area = self.ctx.areas.locate(*coords)
            return [PlaceView(name=f"{coords[0]:.5f}, {coords[1]:.5f}", kind="coordinates", lat=coords[0],
                              lon=coords[1], area_code=area,
                              room_code=self.ctx.area_rooms.get(area) if area else None)]
        sql, params = location_search.build(q, limit)
        with self.ctx.read() as conn:
            # Planning this statement costs more than running it (5-30 ms against 1-2 ms, measured
            # at 1.5 M addresses); every branch is sargable with parameters, so the prepared
            # statement's generic plan is the fast one. Scoped to this read's transaction.
            conn.execute(_GENERIC_PLANS)
            rows = conn.execute(text(sql), params).mappings().all()
        return [PlaceView(name=r["name"], kind=r["kind"], lat=r["lat"], lon=r["lon"], area_code=r["area_code"],
                          room_code=self.ctx.area_rooms.get(r["area_code"]) if r["area_code"] else None,
                          score=float(r["score"]), uprn=r["uprn"], postcode=r["postcode"], ref=r["ref"])
                for r in rows]

    def no_match_message(self, text_in: str) -> str:
        """What to tell the call handler when a search found nothing (never a silent empty list)."""
        with self.ctx.read() as conn:
            st = conn.execute(text(location_search.STATUS_SQL)).mappings().one()
        loaded = (f"{st['names']:,} places and streets, {st['postcodes']:,} postcodes, "
                  + (f"about {max(st['addresses_estimate'], 0):,} addresses" if st["has_addresses"]
                     else "no address file imported"))
        return (f"Nothing matches \"{text_in.strip()}\" (searched {loaded}). Check the spelling, try the "
                "postcode or a nearby street, or paste 'lat, lon'.")


__all__ = ["RelatedMixin"]
