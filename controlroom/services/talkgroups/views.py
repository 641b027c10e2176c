"""Talk-group views, payload shapes and the one query that reads a group's full state."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping, Optional

from ..views import view_from

LOW_POOL_FRACTION = 0.2

# The effective talk group of a unit: the one it was moved to, else its area's primary.
_UNITS_ON = """coalesce((SELECT array_agg(u.callsign ORDER BY u.callsign) FROM units u
   WHERE u.status <> 'off_duty' AND (u.talk_group = t.name
         OR (u.talk_group IS NULL AND t.kind = 'primary' AND u.area_code = t.area_code))), '{}')"""
GROUPS_SQL = """
SELECT t.name, t.kind, t.area_code, t.room_code, t.description, t.incident_id, t.allocated_at,
       i.urn, i.area_code AS incident_area_code, i.room_code AS incident_room_code, a.allocated_by,
       {units_on} AS units,
       coalesce((SELECT array_agg(CASE WHEN p.incident_group = t.name THEN p.other_group
                                       ELSE p.incident_group END ORDER BY p.id)
                 FROM talk_group_patches p WHERE p.unpatched_at IS NULL
                   AND t.name IN (p.incident_group, p.other_group)), '{}') AS patched_with
FROM talk_groups t
LEFT JOIN incidents i ON i.id = t.incident_id
LEFT JOIN talk_group_allocations a ON a.talk_group = t.name AND a.released_at IS NULL
WHERE {where}
ORDER BY array_position(ARRAY['primary','incident','hailing','partner','training'], t.kind::text), t.name
""".replace("{units_on}", _UNITS_ON)

@dataclass(frozen=True)
class TalkGroupView:
    name: str
    kind: str
    incident_id: Optional[int] = None
    urn: Optional[str] = None
    area_code: Optional[str] = None
    room_code: Optional[str] = None  # owning room now (area's room, or the incident's room)
    description: Optional[str] = None
    allocated_at: Optional[datetime] = None
    allocated_by: Optional[str] = None
    incident_area_code: Optional[str] = None
    units: tuple[str, ...] = ()
    patched_with: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        """free / allocated / patched (primary groups are 'standing': always in use)."""
        if self.patched_with:
            return "patched"
        if self.incident_id is not None:
            return "allocated"
        return "standing" if self.kind == "primary" else "free"


@dataclass(frozen=True)
class TransmissionView:
    id: int
    talk_group: str
    at: datetime
    username: str
    text: str
    incident_id: Optional[int] = None
    callsign: Optional[str] = None
    console_id: Optional[str] = None


@dataclass(frozen=True)
class PoolStatus:
    kind: str
    free: int
    total: int

    @property
    def low(self) -> bool:
        return self.total > 0 and self.free < LOW_POOL_FRACTION * self.total


def armed_warning(urn: str, armed: Iterable[str]) -> str:
    return f"{urn}: armed units {', '.join(armed)} deployed with no dedicated talk group."


def pool_warning(pool: PoolStatus) -> str:
    return f"Talk-group pool low: {pool.free} of {pool.total} {pool.kind} groups free."


def owning_room(row: Mapping[str, Any], area_rooms: Mapping[str, str]) -> Optional[str]:
    """Primary: its area's room; allocated: the incident's room; otherwise the stored room."""
    if row.get("incident_id") is not None:
        area = row.get("incident_area_code")
        return area_rooms.get(area, row.get("incident_room_code")) if area else row.get("incident_room_code")
    if row.get("kind") == "primary" and row.get("area_code"):
        return area_rooms.get(row["area_code"], row.get("room_code"))
    return row.get("room_code")


def group_dict(row: Mapping[str, Any], area_rooms: Mapping[str, str]) -> dict[str, Any]:
    """The full state of one group: event payload and the source of TalkGroupView."""
    d = {k: row[k] for k in ("name", "kind", "incident_id", "urn", "area_code", "description",
                             "allocated_at", "allocated_by", "incident_area_code")}
    d["room_code"] = owning_room(row, area_rooms)
    d["units"] = list(row["units"] or [])
    d["patched_with"] = list(row["patched_with"] or [])
    return d


def view_of(d: Mapping[str, Any]) -> TalkGroupView:
    """Build a view from a group dict (also from an event payload)."""
    v = dict(d)
    v["units"] = tuple(v.get("units") or ())
    v["patched_with"] = tuple(v.get("patched_with") or ())
    return view_from(TalkGroupView, v)
