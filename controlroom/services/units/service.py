"""Unit service: the writer of unit statuses and AVL positions (`units`, `unit_status_log`)."""
from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping, Optional

from sqlalchemy import text as sql

from ...kernel import config
from ...kernel.errors import InvalidInput
from ...geo import validate_latlon
from ...models.resources import CAPABILITIES, UNIT_STATUSES, Unit
from ..base import ServiceContext
from ..validate import callsign_field, code_field, text_field, time_field
from ..views import parse_ts, view_from

STATUS_LABELS = {
    "available": "available (on patrol)", "at_station": "at station", "en_route": "en route",
    "at_scene": "at scene", "transporting": "transporting", "committed": "committed",
    "refreshments": "on refreshments", "off_duty": "off duty",
    "emergency": "EMERGENCY",
}
# Status model (set_status): target -> statuses it may be reached from. en_route is reached only
# through despatch.assign; at_scene from en_route is the arrival (despatch.arrived).
FREE_STATUSES = ("available", "at_station", "refreshments", "off_duty")  # never with an incident
ON_INCIDENT = ("en_route", "at_scene", "transporting")                   # always with an incident
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "available": ("at_station", "refreshments", "off_duty", "committed"),
    "at_station": ("available", "refreshments", "off_duty", "committed"),
    "refreshments": ("available", "at_station", "committed"),
    "off_duty": ("available", "at_station", "refreshments", "committed"),
    "committed": ("available", "at_station", "refreshments", "at_scene", "transporting"),
    "transporting": ("at_scene", "committed"),
    "at_scene": ("transporting", "committed", "en_route"),
}

# every column of `units`, in table order, from the model (tests/test_schema.py checks the model)
UNIT_COLUMNS = ", ".join(c.name for c in Unit.__table__.columns)

# Writes are database API functions (migration 0026): api.unit_set_status enforces the status
# model above, api.unit_position / api.unit_positions record AVL fixes (one statement per batch).


@dataclass(frozen=True)
class UnitView:
    callsign: str
    capabilities: tuple[str, ...]
    home_area_code: str
    status: str
    area_code: Optional[str] = None
    lat: Optional[float] = None
    lon: Optional[float] = None
    position_at: Optional[datetime] = None
    incident_id: Optional[int] = None
    talk_group: Optional[str] = None
    status_at: Optional[datetime] = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a unit's timeline: a status change, an incident step, or an AVL fix."""

    at: datetime
    kind: str  # status | assigned | arrived | cleared | position
    text: str
    status: Optional[str] = None
    incident_id: Optional[int] = None
    urn: Optional[str] = None
    lat: Optional[float] = None
    lon: Optional[float] = None
    username: Optional[str] = None


def unit_view(row: Mapping[Any, Any]) -> UnitView:  # a dict or a RowMapping
    d = dict(row)
    d["capabilities"] = tuple(d.get("capabilities") or ())
    return view_from(UnitView, d)


def unit_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A unit row as an event payload (plain JSON-able values)."""
    keys = [k.strip() for k in UNIT_COLUMNS.split(",")]
    d = {k: row[k] for k in keys if k in row}
    d["capabilities"] = list(d.get("capabilities") or [])
    return d


def shared_index(ctx: ServiceContext) -> Any:
    """The session's one UnitIndex (units and despatch share it, so own writes show at once)."""
    from .index import UnitIndex
    idx = ctx.extras.get("unit_index")
    if idx is None:
        pol = config.load_resource("despatch")
        idx = ctx.extras.setdefault("unit_index", UnitIndex(
            speeds_kmh=pol["speeds_kmh"], default_speed_kmh=pol.get("default_speed_kmh", 50),
            road_factor=pol.get("road_factor", 1.3), deployable=pol.get("deployable_statuses", ["available"])))
    return idx


if TYPE_CHECKING:
    from ..alerts import AlertView


class UnitService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # -- reads ---------------------------------------------------------------------------------
    def list(self, *, area: str | None = None, status: str | None = None,
             capability: str | None = None) -> list[UnitView]:
        """Units, optionally by current area, status or capability, by callsign."""
        where, params = [], {}
        if area is not None:
            where.append("area_code = :area")
            params["area"] = code_field(area, "Area", field="area", allowed=self.ctx.area_rooms)
        if status is not None:
            where.append("status = :status")
            params["status"] = code_field(status, "Status", field="status", allowed=UNIT_STATUSES)
        if capability is not None:
            where.append(":cap = ANY(capabilities)")
            params["cap"] = code_field(capability, "Capability", field="capability", allowed=CAPABILITIES)
        query = f"SELECT {UNIT_COLUMNS} FROM units" + (" WHERE " + " AND ".join(where) if where else "")
        with self.ctx.read() as conn:
            rows = conn.execute(sql(query + " ORDER BY callsign"), params).mappings().all()
        return [unit_view(r) for r in rows]

    def get(self, callsign: str) -> UnitView:
        cs = callsign_field(callsign)
        with self.ctx.read() as conn:
            row = conn.execute(sql(
                f"SELECT {UNIT_COLUMNS} FROM units WHERE callsign = :c"), {"c": cs}).mappings().first()
        if row is None:
            raise InvalidInput(f"There is no unit with callsign {cs}.", field="callsign")
        return unit_view(row)

    def room_of(self, unit: UnitView) -> str | None:
        """The room that owns the unit's current area (its home area's room when outside)."""
        return self.ctx.area_rooms.get(unit.area_code or unit.home_area_code)

    # -- officer safety ----------------------------------------------------------------------
    def emergency(self, callsign: str, *, at: datetime | None, lat: float | None = None,
                  lon: float | None = None, source: str) -> "AlertView":
        """An officer pressed the radio's emergency button: the entry point a radio or AVL
        gateway adaptor calls. The unit goes to EMERGENCY (overriding every other status) and an
        emergency alert is raised for its room; see services/alerts.py."""
        from ..alerts import AlertService
        return AlertService(self.ctx).raise_emergency(callsign, at=at, lat=lat, lon=lon, source=source)

    # -- status --------------------------------------------------------------------------------
    def set_status(self, callsign: str, status: str, *, note: str | None = None) -> UnitView:
        """Change a unit's status when the status model allows it (else InvalidInput)."""
        ctx = self.ctx
        cs = callsign_field(callsign)
        ctx.require("unit.status", entity=f"unit:{cs}", what="change unit statuses")
        status = code_field(status, "Status", field="status", allowed=UNIT_STATUSES)
        note = text_field(note, "Note", field="note", max_len=500, required=False)
        if status == "emergency":
            raise InvalidInput(f"An emergency is raised with the emergency action (EM {cs}), not as a "
                               "status, so that it reaches every console and is taken.", field="status")
        if status == "en_route":
            raise InvalidInput(f"A unit goes en route by being assigned to an incident: assign {cs} "
                               "from the incident's despatch tab.", field="status")
        # (at scene for a unit en route is its arrival: the database books it as despatch.arrived)
        with ctx.single() as tx:
            payload = tx.call("api.unit_set_status", callsign=cs, status=status, note=note)
        seq = payload.pop("seq")
        shared_index(ctx).apply_unit(payload, seq=int(seq))
        return unit_view(payload)

    # -- AVL -----------------------------------------------------------------------------------
    def update_position(self, callsign: str, lat: float, lon: float, *,
                        at: datetime | None = None) -> bool:
        """Record an AVL fix (one statement; telemetry, not audited). False if older than the last."""
        ctx = self.ctx
        ctx.require("unit.position", entity=f"unit:{callsign}", what="update unit positions")
        cs = callsign_field(callsign)
        validate_latlon(lat, lon)
        _check_at(at)
        area = ctx.areas.locate(lat, lon)
        with ctx.single() as tx:
            seq = tx.call("api.unit_position", callsign=cs, lat=float(lat), lon=float(lon), at=at, area=area)
        if seq is None:
            return False
        shared_index(ctx).apply_unit({"callsign": cs, "lat": float(lat), "lon": float(lon),
                                      "area_code": area}, seq=seq)
        return True

    def take_sim_lease(self, *, name: str, holder: str, ttl_s: int) -> bool:
        """Take or renew the database's lease for one simulator (e.g. the demo AVL); False while
        another holder's lease is alive. Expiry is the database's clock (migration 0026)."""
        with self.ctx.single() as tx:
            return bool(tx.call("api.sim_lease_take", name=name, holder=holder, ttl_s=int(ttl_s)))

    def release_sim_lease(self, *, name: str, holder: str) -> bool:
        """Give the lease up at once (a console closing), so another simulator takes over now."""
        with self.ctx.single() as tx:
            return bool(tx.call("api.sim_lease_release", name=name, holder=holder))

    def update_positions(self, batch: Iterable[tuple[str, float, float, datetime]]) -> int:
        """Many AVL fixes in one statement (simulator, AVL gateway); returns how many applied."""
        ctx = self.ctx
        ctx.require("unit.position", what="update unit positions")
        latest: dict[str, tuple[float, float, datetime]] = {}
        if isinstance(batch, (str, bytes, Mapping)) or not isinstance(batch, Iterable):
            raise InvalidInput("Give the positions as a list of (callsign, lat, lon, time) fixes.",
                               field="batch")
        for fix in batch:
            if isinstance(fix, (str, bytes)) or not isinstance(fix, (tuple, list)) or len(fix) != 4:
                raise InvalidInput("Each position fix is (callsign, lat, lon, time); one is not.",
                                   field="batch")
            cs, lat, lon, at = fix
            validate_latlon(lat, lon)
            _check_at(at, required=True)
            cs = callsign_field(cs)
            if cs not in latest or latest[cs][2] <= at:
                latest[cs] = (float(lat), float(lon), at)
        if not latest:
            return 0
        fixes = [{"callsign": cs, "lat": lat, "lon": lon, "at": at.isoformat(),
                  "area": ctx.areas.locate(lat, lon)} for cs, (lat, lon, at) in latest.items()]
        with ctx.single() as tx:
            return int(tx.call("api.unit_positions", fixes=fixes))

    # -- timeline ------------------------------------------------------------------------------
    def timeline(self, callsign: str, *, limit: int = 200, positions: int = 30) -> builtins.list[TimelineEntry]:
        """Statuses, incidents and recent positions of one unit, oldest first."""
        cs = callsign_field(callsign)
        self.get(cs)
        out: list[TimelineEntry] = []
        with self.ctx.read() as conn:
            for r in conn.execute(sql(
                    "SELECT at, status, previous_status, incident_id, note, username FROM unit_status_log "
                    "WHERE callsign = :c ORDER BY at DESC, id DESC LIMIT :n"), {"c": cs, "n": limit}).mappings():
                text = f"Status {STATUS_LABELS.get(r['status'], r['status'])}" + (
                    f", was {STATUS_LABELS.get(r['previous_status'], r['previous_status'])}"
                    if r["previous_status"] else "") + (f": {r['note']}" if r["note"] else "")
                out.append(TimelineEntry(r["at"], "status", text, status=r["status"],
                                         incident_id=r["incident_id"], username=r["username"]))
            for r in conn.execute(sql(
                    "SELECT a.*, i.urn, f.urn AS from_urn FROM assignments a JOIN incidents i ON i.id = a.incident_id "
                    "LEFT JOIN incidents f ON f.id = a.diverted_from WHERE a.callsign = :c "
                    "ORDER BY a.assigned_at DESC LIMIT :n"), {"c": cs, "n": limit}).mappings():
                extra = f" (diverted from {r['from_urn']})" if r["from_urn"] else ""
                out.append(TimelineEntry(r["assigned_at"], "assigned", f"Assigned to {r['urn']}{extra}",
                                         incident_id=r["incident_id"], urn=r["urn"], username=r["assigned_by"]))
                if r["arrived_at"]:
                    out.append(TimelineEntry(r["arrived_at"], "arrived", f"At scene {r['urn']}",
                                             incident_id=r["incident_id"], urn=r["urn"]))
                if r["cleared_at"]:
                    out.append(TimelineEntry(r["cleared_at"], "cleared",
                                             f"Cleared from {r['urn']}: {r['result'] or ''}".rstrip(": "),
                                             incident_id=r["incident_id"], urn=r["urn"],
                                             username=r["cleared_by"]))
            for r in conn.execute(sql(
                    "SELECT payload FROM events WHERE kind = 'unit.position' AND entity_id = :c "
                    "ORDER BY seq DESC LIMIT :n"), {"c": cs, "n": positions}).mappings():
                p = r["payload"]
                at = parse_ts(p.get("at"))
                if at is None:  # a fix with no time cannot be placed on the timeline
                    continue
                out.append(TimelineEntry(at, "position",
                                         f"Position {p['lat']:.5f}, {p['lon']:.5f} ({p.get('area_code') or 'outside force'})",
                                         status=p.get("status"), lat=p["lat"], lon=p["lon"]))
        # One transaction shares one now(): show the incident step before the status it caused.
        out.sort(key=lambda e: (e.at, {"assigned": 0, "arrived": 1, "cleared": 1}.get(e.kind, 2)))
        return out[-limit:]


def _check_at(at: Any, *, required: bool = False) -> None:
    if at is None and not required:
        return
    # A fix from the future would freeze the unit: every real fix after it looks older and is ignored.
    time_field(at, "The position time", field="at", future=timedelta(minutes=10))
