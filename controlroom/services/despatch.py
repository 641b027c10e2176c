"""Despatch service: assign / arrive / clear / divert units, and recommend the nearest capable."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Optional

import sqlalchemy.exc as sa_exc
from sqlalchemy import text as sql

from .. import config
from ..errors import Conflict, InvalidInput, NotPermitted
from ..models.resources import CAPABILITIES
from .base import ServiceContext
from .units import STATUS_LABELS, UNIT_COLUMNS, UnitView, callsign_field, shared_index, unit_row, unit_view
from .validate import code_field, int_id, text_field
from .views import IncidentView, view_from

LOCK_SQL = f"""
SELECT {UNIT_COLUMNS}, (SELECT to_jsonb(i) FROM incidents i WHERE i.id = :i) AS incident,
       (SELECT urn FROM incidents o WHERE o.id = u.incident_id) AS current_urn
FROM units u WHERE callsign = :c FOR UPDATE OF u
"""
# The guard: the database decides who gets the unit. The unit must be free (or divertable when a
# despatcher diverts), the incident open, and no ARV may go to an unauthorised firearms incident.
ASSIGN_SQL = """
UPDATE units u SET incident_id = :i, status = 'en_route', status_at = now()
WHERE u.callsign = :c
  AND ((u.incident_id IS NULL AND u.status = ANY(CAST(:deployable AS text[])))
       OR (CAST(:divert AS boolean) AND u.incident_id <> :i AND u.status = ANY(CAST(:divertable AS text[]))))
  AND EXISTS (SELECT 1 FROM incidents i WHERE i.id = :i AND i.status <> 'closed'
              AND NOT (i.firearms AND i.armed_authorised_at IS NULL AND 'ARV' = ANY(u.capabilities)))
RETURNING u.*
"""
INCIDENT_TOUCH_SQL = """
UPDATE incidents SET status = CASE WHEN :step = 'assigned' AND status = 'open' THEN 'despatched'
                                   WHEN :step = 'arrived' AND status IN ('open', 'despatched') THEN 'at_scene'
                                   ELSE status END,
       despatched_at = CASE WHEN :step = 'assigned' THEN coalesce(despatched_at, now()) ELSE despatched_at END,
       arrived_at = CASE WHEN :step = 'arrived' THEN coalesce(arrived_at, now()) ELSE arrived_at END,
       updated_at = now(), updated_by = :username
WHERE id = :i RETURNING *
"""
LOG_SQL = ("INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
           "VALUES (:i, :username, :console, 'despatch', :text) "
           "RETURNING id, incident_id, at, username, console_id, kind, text")
STATUS_LOG_SQL = ("INSERT INTO unit_status_log (callsign, status, previous_status, incident_id, note, "
                  "username, console_id) VALUES (:c, :status, :prev, :i, :note, :username, :console)")


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


def _retry_deadlock(fn: Any) -> Any:
    """A deadlock with another service's locks (sqlstate 40P01) is retried, then a Conflict."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(3):
            try:
                return fn(*args, **kwargs)
            except sa_exc.DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", "") not in ("40P01", "40001") or attempt == 2:
                    if getattr(exc.orig, "sqlstate", "") in ("40P01", "40001"):
                        raise Conflict("Another console was changing the same unit or incident; "
                                       "try again.") from exc
                    raise
    return wrapper


def policy() -> dict[str, Any]:
    return config.load_resource("despatch")


def needed_capability(incident_type: str, area_code: str | None, firearms: bool) -> str:
    """The capability the attendance policy sends first (resources/despatch.yaml)."""
    pol = policy()
    if firearms:
        return pol.get("firearms_needs", "ARV")
    by_area = (pol.get("area_needs") or {}).get(area_code or "", {}) or {}
    if incident_type in by_area:
        return by_area[incident_type]
    if incident_type in (pol.get("needs") or {}):
        return pol["needs"][incident_type]
    return config.incident_types().get(incident_type, {}).get("needs") or pol.get("default_capability", "IRV")


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
    @_retry_deadlock
    def assign(self, incident_id: int, callsign: str, *, divert: bool = False) -> DespatchResult:
        """Send a unit to an incident (unit goes en route); Conflict if someone else has it."""
        ctx = self.ctx
        incident_id, cs = int_id(incident_id), callsign_field(callsign)
        ctx.require("despatch.assign", entity=f"incident:{incident_id}", what="assign units")
        if divert:
            ctx.require("despatch.divert", entity=f"incident:{incident_id}", what="divert units")
        pol = policy()
        refused: NotPermitted | None = None
        with ctx.tx() as tx:
            locked = self._lock_unit(tx, cs, incident_id)
            row = tx.execute(ASSIGN_SQL, {"i": incident_id, "c": cs, "divert": bool(divert),
                                          "deployable": list(pol["deployable_statuses"]),
                                          "divertable": list(pol["divertable_statuses"])}).mappings().first()
            if row is None:
                err = self._assign_refusal(locked, cs, divert, pol)
                if not isinstance(err, NotPermitted):
                    raise err
                refused = err
            else:
                result, seq, payload = self._record_assignment(tx, locked, row, incident_id, cs)
        if refused is not None:  # audited outside the rolled-back transaction
            ctx.audit_refused("despatch.assign", entity=f"incident:{incident_id}", reason=str(refused),
                              details={"callsign": cs})
            raise refused
        self.index.apply_unit(payload["unit"], seq=int(seq))
        return result

    def _lock_unit(self, tx: Any, cs: str, incident_id: int) -> Mapping[str, Any]:
        locked = tx.execute(LOCK_SQL, {"c": cs, "i": incident_id}).mappings().first()
        if locked is None:
            raise InvalidInput(f"There is no unit with callsign {cs}.", field="callsign")
        if locked["incident"] is None:
            raise InvalidInput(f"No incident with reference {incident_id}.", field="incident_id")
        return locked

    def _assign_refusal(self, locked: Mapping[str, Any], cs: str, divert: bool,
                        pol: Mapping[str, Any]) -> Exception:
        inc = locked["incident"]
        if inc["status"] == "closed":
            return InvalidInput(f"Incident {inc['urn']} is closed; reopen it before assigning units.",
                                field="incident_id")
        if locked["incident_id"] == inc["id"]:
            return InvalidInput(f"{cs} is already assigned to {inc['urn']}.", field="callsign")
        if inc["firearms"] and inc.get("armed_authorised_at") is None and "ARV" in (locked["capabilities"] or []):
            return NotPermitted(f"Armed deployment not authorised for {inc['urn']}: the duty inspector "
                                "must record the authorisation first.")
        status = STATUS_LABELS.get(locked["status"], locked["status"])
        if locked["incident_id"] is not None:
            if divert:
                return Conflict(f"{cs} is {status} on {locked['current_urn']} and cannot be diverted "
                                "from that status.")
            return Conflict(f"{cs} is already on incident {locked['current_urn']} ({status}). "
                            "Divert it if this incident needs it more.", incident=locked["current_urn"])
        return Conflict(f"{cs} is {status}, not available for deployment.")

    def _record_assignment(self, tx: Any, locked: Mapping[str, Any], row: Mapping[str, Any],
                           incident_id: int, cs: str) -> tuple[DespatchResult, int, dict[str, Any]]:
        a = self.ctx.actor
        who = {"username": a.username, "console": a.console_id}
        old_id = locked["incident_id"]
        logs, old_inc = [], None
        if old_id is not None:  # diversion: close the old attendance and say so on both incidents
            tx.execute("UPDATE assignments SET cleared_at = now(), cleared_by = :username, "
                       "result = :r WHERE callsign = :c AND cleared_at IS NULL",
                       {"c": cs, "r": f"Diverted to {locked['incident']['urn']}", **who})
            old_inc = tx.execute("SELECT * FROM incidents WHERE id = :i", {"i": old_id}).mappings().one()
            logs.append(tx.execute(LOG_SQL, {"i": old_id, "text": f"{cs} diverted to "
                                             f"{locked['incident']['urn']} by {a.username}.", **who}).mappings().one())
        asg = tx.execute("INSERT INTO assignments (incident_id, callsign, assigned_by, diverted_from) "
                         "VALUES (:i, :c, :username, :old) RETURNING *",
                         {"i": incident_id, "c": cs, "old": old_id, "username": a.username}).mappings().one()
        inc = tx.execute(INCIDENT_TOUCH_SQL, {"i": incident_id, "step": "assigned", **who}).mappings().one()
        text = f"{cs} assigned, en route" + (f" (diverted from {old_inc['urn']})" if old_inc else "") + "."
        logs.append(tx.execute(LOG_SQL, {"i": incident_id, "text": text, **who}).mappings().one())
        tx.execute(STATUS_LOG_SQL, {"c": cs, "status": "en_route", "prev": locked["status"],
                                    "i": incident_id, "note": None, **who})
        kind = "despatch.diverted" if old_inc else "despatch.assigned"
        return self._finish(tx, kind, inc, row, asg, logs, old_inc)

    def _finish(self, tx: Any, kind: str, inc: Mapping[str, Any], unit: Mapping[str, Any],
                asg: Mapping[str, Any], logs: list[Mapping[str, Any]],
                old_inc: Mapping[str, Any] | None = None) -> tuple[DespatchResult, int, dict[str, Any]]:
        inc_d, old_d = self._current_room(inc), self._current_room(old_inc) if old_inc else None
        payload = {"incident": inc_d, "unit": unit_row(unit), "assignment": dict(asg),
                   "from_incident": old_d, "log": [dict(x) for x in logs]}
        seq = tx.emit(kind, inc_d["id"], payload, room=inc_d["room_code"])
        result = DespatchResult(view_from(IncidentView, inc_d), unit_view(unit),
                                view_from(AssignmentView, asg),
                                view_from(IncidentView, old_d) if old_d else None)
        return result, seq, payload

    def _current_room(self, row: Mapping[str, Any]) -> dict[str, Any]:
        d = dict(row)
        d["room_code"] = self.ctx.area_rooms.get(d["area_code"], d["room_code"])
        return d

    @_retry_deadlock
    def arrived(self, incident_id: int, callsign: str) -> DespatchResult:
        """The unit is at scene; the incident's first arrival time is recorded."""
        ctx = self.ctx
        incident_id, cs = int_id(incident_id), callsign_field(callsign)
        ctx.require("despatch.assign", entity=f"incident:{incident_id}", what="book units at scene")
        a = ctx.actor
        who = {"username": a.username, "console": a.console_id}
        with ctx.tx() as tx:
            locked = self._lock_unit(tx, cs, incident_id)
            row = tx.execute("UPDATE units SET status = 'at_scene', status_at = now() WHERE callsign = :c "
                             "AND incident_id = :i AND status = 'en_route' RETURNING *",
                             {"c": cs, "i": incident_id}).mappings().first()
            if row is None:
                raise self._not_on(locked, cs, "at scene")
            asg = tx.execute("UPDATE assignments SET arrived_at = coalesce(arrived_at, now()) WHERE callsign = :c "
                             "AND incident_id = :i AND cleared_at IS NULL RETURNING *",
                             {"c": cs, "i": incident_id}).mappings().one()
            inc = tx.execute(INCIDENT_TOUCH_SQL, {"i": incident_id, "step": "arrived", **who}).mappings().one()
            logs = [tx.execute(LOG_SQL, {"i": incident_id, "text": f"{cs} at scene.", **who}).mappings().one()]
            tx.execute(STATUS_LOG_SQL, {"c": cs, "status": "at_scene", "prev": locked["status"],
                                        "i": incident_id, "note": None, **who})
            result, seq, payload = self._finish(tx, "despatch.arrived", inc, row, asg, logs)
        self.index.apply_unit(payload["unit"], seq=int(seq))
        return result

    @_retry_deadlock
    def clear(self, incident_id: int, callsign: str, *, result: str) -> DespatchResult:
        """The unit leaves the incident with a result and is available again."""
        ctx = self.ctx
        incident_id, cs = int_id(incident_id), callsign_field(callsign)
        ctx.require("despatch.clear", entity=f"incident:{incident_id}", what="clear units")
        outcome = text_field(result, "Result", field="result", max_len=500)
        a = ctx.actor
        who = {"username": a.username, "console": a.console_id}
        with ctx.tx() as tx:
            locked = self._lock_unit(tx, cs, incident_id)
            row = tx.execute("UPDATE units SET status = 'available', status_at = now(), incident_id = NULL "
                             "WHERE callsign = :c AND incident_id = :i RETURNING *",
                             {"c": cs, "i": incident_id}).mappings().first()
            if row is None:
                raise self._not_on(locked, cs, "cleared")
            asg = tx.execute("UPDATE assignments SET cleared_at = now(), cleared_by = :username, result = :r "
                             "WHERE callsign = :c AND incident_id = :i AND cleared_at IS NULL RETURNING *",
                             {"c": cs, "i": incident_id, "r": outcome, **who}).mappings().one()
            inc = tx.execute(INCIDENT_TOUCH_SQL, {"i": incident_id, "step": "cleared", **who}).mappings().one()
            logs = [tx.execute(LOG_SQL, {"i": incident_id, "text": f"{cs} cleared: {outcome}", **who})
                    .mappings().one()]
            tx.execute(STATUS_LOG_SQL, {"c": cs, "status": "available", "prev": locked["status"],
                                        "i": incident_id, "note": outcome, **who})
            res, seq, payload = self._finish(tx, "despatch.cleared", inc, row, asg, logs)
        self.index.apply_unit(payload["unit"], seq=int(seq))
        return res

    def _not_on(self, locked: Mapping[str, Any], cs: str, what: str) -> Exception:
        urn = locked["incident"]["urn"]
        if locked["incident_id"] != locked["incident"]["id"]:
            where = f"is on {locked['current_urn']}" if locked["incident_id"] else "is not on any incident"
            return InvalidInput(f"{cs} is not assigned to {urn} ({cs} {where}).", field="callsign")
        return InvalidInput(f"{cs} cannot be booked {what} on {urn}: it is "
                            f"{STATUS_LABELS.get(locked['status'], locked['status'])}.", field="callsign")

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
        hits = self.index.nearest(inc["lat"], inc["lon"], capability, limit=limit,
                                  max_distance_m=float(policy().get("max_distance_km", 150)) * 1000)
        rooms = self.ctx.area_rooms
        inc_room = rooms.get(inc["area_code"], inc["room_code"])
        out = []
        for h in hits:
            u = h.unit
            room = rooms.get(u.area_code or u.home_area_code or "")
            out.append(Recommendation(u.callsign, u.capabilities, u.status, round(h.distance_m, 1),
                                      round(h.eta_s, 1), room, u.area_code, room != inc_room, u.lat, u.lon))
        return out

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
