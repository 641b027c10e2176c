"""The SQL behind duplicates, address history, repeat callers and gazetteer suggestions (read-only,
fast); IncidentService.find_related / suggest_places in service.py run it.

Both lookups run while the call handler is still typing, so each is one indexed statement:
a GiST box search on point(lon, lat) then an exact distance filter; pg_trgm for place names.
"""
from __future__ import annotations

import math

from sqlalchemy import text

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




def box_params(lat: float, lon: float, radius_m: float, prefix: str) -> dict[str, float]:
    dlat = radius_m / M_PER_DEG
    dlon = radius_m / (M_PER_DEG * max(math.cos(math.radians(lat)), 0.01))
    return {f"{prefix}lat1": lat - dlat, f"{prefix}lat2": lat + dlat,
            f"{prefix}lon1": lon - dlon, f"{prefix}lon2": lon + dlon}


GENERIC_PLANS = text("SET LOCAL plan_cache_mode = force_generic_plan")


__all__ = ["RELATED_SQL", "GENERIC_PLANS", "box_params", "DUPLICATE_RADIUS_M", "HISTORY_RADIUS_M"]
