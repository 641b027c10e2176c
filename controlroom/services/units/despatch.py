"""Despatch service: assign / arrive / clear / divert units, and recommend the nearest capable."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Optional

from sqlalchemy import text as sql

from ...kernel import config
from ...kernel.errors import InvalidInput, NotPermitted
from ...models.resources import CAPABILITIES
from ..base import ServiceContext
from .service import UnitView, shared_index, unit_view
from ..validate import callsign_field, code_field, int_id, text_field
from ..views import IncidentView, view_from

log = logging.getLogger(__name__)

# Every despatch write is one database API function (migration 0022): it locks the unit and the
# incident, enforces the rules (free or divertable unit, open incident, THE FIREARMS GATE: no armed
# unit to a firearms incident before the inspector's authorisation, armed incident types included)
# and writes the unit, assignment, incident, logs and the despatch.* event itself.


@dataclass(frozen=True)
class AssignmentView:
    id: int
    incident_id: int
    callsign: str
    assigned_at: datetime
    assigned_by: str
    arrived_at: Optional[datetime] = None
    cleared_at: Optional[datetime] = None
    cleared_by: Optional[str] = None
    diverted_from: Optional[int] = None
    result: Optional[str] = None


@dataclass(frozen=True)
class DespatchResult:
    """What one despatch action changed: the incident, the unit and its assignment."""

    incident: IncidentView
    unit: UnitView
    assignment: AssignmentView
    from_incident: Optional[IncidentView] = None  # set when the unit was diverted

    @property
    def callsign(self) -> str:
        return self.unit.callsign


@dataclass(frozen=True)
class Recommendation:
    callsign: str
    capabilities: tuple[str, ...]
    status: str
    distance_m: float
    eta_s: float
    room_code: Optional[str]
    area_code: Optional[str] = None
    other_room: bool = False  # from the other control room's area (virtual room)
    lat: Optional[float] = None
    lon: Optional[float] = None
    # 'road network' (drive time over the force's imported roads) or 'estimate' (straight line x
    # road factor / typical speed): the operator is told which.
    eta_basis: str = "estimate"


def policy() -> dict[str, Any]:
    return config.load_resource("despatch")


def needed_capability(incident_type: str, area_code: str | None, firearms: bool) -> str:
    """The capability the attendance policy sends first (resources/despatch.yaml)."""
    pol = policy()
    if firearms:
        return str(pol.get("firearms_needs", "ARV"))
    by_area = (pol.get("area_needs") or {}).get(area_code or "", {}) or {}
    if incident_type in by_area:
        return str(by_area[incident_type])
    if incident_type in (pol.get("needs") or {}):
        return str(pol["needs"][incident_type])
    return str(config.incident_types().get(incident_type, {}).get("needs") or pol.get("default_capability", "IRV"))


class DespatchService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.index = shared_index(ctx)
        self._incidents: dict[int, dict[str, Any]] = {}  # location etc. for recommend, event-kept
        self._lock = threading.Lock()

    # -- events (subscribed by the session) ----------------------------------------------------
    def on_event(self, ev: Any) -> None:
        """Keep the unit index and the incident cache current from the event stream."""
        self.index.on_event(ev)
        if ev.kind.startswith("incident.") and ev.entity_id and ev.entity_id.isdigit():
            self._incidents.pop(int(ev.entity_id), None)
        elif ev.kind.startswith("despatch.") and isinstance(ev.payload, dict):
            for key in ("incident", "from_incident"):
                inc = ev.payload.get(key)
                if isinstance(inc, dict) and "id" in inc:
                    self._incidents.pop(int(inc["id"]), None)
        elif ev.kind.startswith("command.") and ev.entity_id and ev.entity_id.isdigit():
            self._incidents.pop(int(ev.entity_id), None)

    # -- writes --------------------------------------------------------------------------------
    def assign(self, incident_id: int, callsign: str, *, divert: bool = False) -> DespatchResult:
        """Send a unit to an incident (unit goes en route); Conflict if someone else has it."""
        ctx = self.ctx
        incident_id, cs = int_id(incident_id), callsign_field(callsign)
        ctx.require("despatch.assign", entity=f"incident:{incident_id}", what="assign units")
        if divert:
            ctx.require("despatch.divert", entity=f"incident:{incident_id}", what="divert units")
        return self._call("despatch.assign", "api.despatch_assign",
                          incident_id=incident_id, callsign=cs, divert=bool(divert))

    def arrived(self, incident_id: int, callsign: str) -> DespatchResult:
        """The unit is at scene; the incident's first arrival time is recorded."""
        ctx = self.ctx
        incident_id, cs = int_id(incident_id), callsign_field(callsign)
        ctx.require("despatch.assign", entity=f"incident:{incident_id}", what="book units at scene")
        return self._call("despatch.assign", "api.despatch_arrived",
                          incident_id=incident_id, callsign=cs)

    def clear(self, incident_id: int, callsign: str, *, result: str) -> DespatchResult:
        """The unit leaves the incident with a result and is available again; with no unit left
        attending, the incident is open again (no longer shown despatched)."""
        ctx = self.ctx
        incident_id, cs = int_id(incident_id), callsign_field(callsign)
        ctx.require("despatch.clear", entity=f"incident:{incident_id}", what="clear units")
        outcome = text_field(result, "Result", field="result", max_len=500)
        return self._call("despatch.clear", "api.despatch_clear",
                          incident_id=incident_id, callsign=cs, result=outcome)

    def _call(self, permission: str, function: str, **params: Any) -> DespatchResult:
        ctx, incident_id, cs = self.ctx, params["incident_id"], params["callsign"]
        try:
            with ctx.single() as tx:
                res = tx.call(function, **params)
        except NotPermitted as exc:  # a rule the database enforces (the firearms gate): audit it
            ctx.audit_refused(permission, entity=f"incident:{incident_id}", reason=str(exc),
                              details={"callsign": cs})
            raise
        self.index.apply_unit(res["unit"], seq=int(res["seq"]))
        return DespatchResult(view_from(IncidentView, res["incident"]), unit_view(res["unit"]),
                              view_from(AssignmentView, res["assignment"]),
                              view_from(IncidentView, res["from_incident"]) if res.get("from_incident") else None)

    # -- reads ---------------------------------------------------------------------------------
    def assignments(self, incident_id: int, *, open_only: bool = False) -> list[AssignmentView]:
        """The units sent to an incident, first assigned first."""
        incident_id = int_id(incident_id)
        q = "SELECT * FROM assignments WHERE incident_id = :i" + (" AND cleared_at IS NULL" if open_only else "")
        with self.ctx.read() as conn:
            rows = conn.execute(sql(q + " ORDER BY assigned_at, id"), {"i": incident_id}).mappings().all()
        return [view_from(AssignmentView, r) for r in rows]

    def recommend(self, incident_id: int, *, capability: str | None = None,
                  limit: int = 5) -> list[Recommendation]:
        """Nearest available units with the needed capability, ranked by ETA (in-memory index)."""
        incident_id = int_id(incident_id)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 50:
            raise InvalidInput("Ask for between 1 and 50 recommendations.", field="limit")
        inc = self._incident(incident_id)
        if capability is None:
            capability = needed_capability(inc["incident_type"], inc["area_code"], bool(inc["firearms"]))
        else:
            capability = code_field(capability, "Capability", field="capability", allowed=CAPABILITIES)
        self.index.ensure_built(self._load_units)
        roads = self._road_graph()
        # With a road network, a wider straight-line shortlist is re-ranked by drive time (the
        # nearest as the crow flies is often not the quickest across a river or a motorway).
        hits = self.index.nearest(inc["lat"], inc["lon"], capability,
                                  limit=limit if roads is None else max(limit * 5, 25),
                                  max_distance_m=float(policy().get("max_distance_km", 150)) * 1000)
        etas = {}
        if roads is not None:
            # The search stops at three times the slowest shortlisted estimate: far enough for a
            # detour, never the whole force.
            cutoff = min(3 * 3600.0, 3 * max((h.eta_s for h in hits), default=600.0) + 300)
            etas = roads.etas_to(inc["lat"], inc["lon"], [(h.unit.callsign, h.unit.lat, h.unit.lon) for h in hits],
                                 cutoff_s=cutoff)
        rooms = self.ctx.area_rooms
        inc_room = rooms.get(inc["area_code"], inc["room_code"])
        out = []
        for h in hits:
            u = h.unit
            room = rooms.get(u.area_code or u.home_area_code or "")
            road = etas.get(u.callsign)
            out.append(Recommendation(u.callsign, u.capabilities, u.status, round(h.distance_m, 1),
                                      round(road.eta_s if road else h.eta_s, 1), room, u.area_code,
                                      room != inc_room, u.lat, u.lon,
                                      eta_basis="road network" if road else "estimate"))
        out.sort(key=lambda r: (r.eta_s, r.callsign))
        return out[:limit]

    def _road_graph(self) -> Any:
        """The force's road graph if one is imported (loaded once per process), else None."""
        from ...geo.roads import graph_for

        try:
            return graph_for(self.ctx.engine, self.ctx.read)
        except Exception:  # a broken graph must not stop recommendations: the estimate stays
            log.exception("road graph not usable; ETAs are estimates")
            return None

    def _incident(self, incident_id: int) -> dict[str, Any]:
        inc = self._incidents.get(incident_id)
        if inc is None:
            with self.ctx.read() as conn:
                row = conn.execute(sql("SELECT id, urn, incident_type, lat, lon, area_code, room_code, "
                                       "firearms, status FROM incidents WHERE id = :i"),
                                   {"i": incident_id}).mappings().first()
            if row is None:
                raise InvalidInput(f"No incident with reference {incident_id}.", field="incident_id")
            inc = dict(row)
            if len(self._incidents) > 5000:
                self._incidents.clear()
            self._incidents[incident_id] = inc
        return inc

    def _load_units(self) -> tuple[list[Mapping[str, Any]], int]:
        with self.ctx.read() as conn:
            rows = conn.execute(sql("SELECT callsign, capabilities, status, lat, lon, area_code, home_area_code, "
                                    "incident_id, (SELECT coalesce(max(seq), 0) FROM events) AS head "
                                    "FROM units")).mappings().all()
            head = rows[0]["head"] if rows else conn.execute(
                sql("SELECT coalesce(max(seq), 0) FROM events")).scalar_one()
        return [dict(r) for r in rows], int(head)
