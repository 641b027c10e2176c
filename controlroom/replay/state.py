"""Time-travel replay: the virtual room rebuilt from the event log in a pure in-memory model.

`VirtualRoomState.apply(event)` is a reducer table keyed by event kind; it never reads the
database (payloads carry the full new row of what changed, see the contracts). The state holds
what a console shows: open incidents (grade, status, timers, firearms/major flags), their units,
talk groups and command chain, every unit (status, position, incident, talk group) and which room
owns each area. Entity dicts are replaced, never mutated, so a snapshot is a shallow copy.

The Replayer (loading events and snapshots from the database) lives in `store.py`; this module
imports nothing of the database.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping, Optional, Protocol

from ..services.views import parse_ts

INCIDENT_KEYS = (
    "id", "urn", "channel", "incident_type", "summary", "lat", "lon", "address", "area_code",
    "room_code", "grade", "status", "caller_name", "caller_phone", "firearms", "domestic_abuse",
    "vulnerable_person", "repeat_victim", "missing_person", "version", "created_at", "created_by",
    "updated_at", "updated_by", "deadline_at", "despatched_at", "arrived_at", "closed_at",
    "closing_code", "closing_qualifier", "result", "firearms_declared_at", "armed_authorised_at",
    "armed_authorised_by", "major_kind")
UNIT_KEYS = ("callsign", "capabilities", "home_area_code", "area_code", "status", "lat", "lon",
             "position_at", "incident_id", "talk_group", "status_at")
GROUP_KEYS = ("name", "kind", "area_code", "incident_id", "patched_with")


class EventLike(Protocol):
    """What the reducer reads of an event (read-only: db.listener.Event is a frozen dataclass)."""

    @property
    def seq(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def entity_id(self) -> Optional[str]: ...
    @property
    def room_code(self) -> Optional[str]: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def at(self) -> Optional[datetime]: ...
    @property
    def console_id(self) -> Optional[str]: ...
    @property
    def username(self) -> Optional[str]: ...


def _ts_fields(d: dict[str, Any]) -> dict[str, Any]:
    for k, v in d.items():
        if k.endswith("_at") and isinstance(v, str):
            d[k] = parse_ts(v)
    return d


def incident_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """The replayable part of an incident row (payload or DB row), timestamps parsed."""
    d: dict[str, Any] = {k: row.get(k) for k in INCIDENT_KEYS}
    d["id"] = int(d["id"])
    return _ts_fields(d)


def unit_record(row: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    d = dict(base or {})
    d.update({k: row[k] for k in UNIT_KEYS if k in row})
    d["capabilities"] = tuple(d.get("capabilities") or ())
    return _ts_fields(d)


def chain_record(roles: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """role -> {holder, accredited} from a list of current command roles (stood-down left out)."""
    return {r["role"]: {"holder": r["holder"], "accredited": bool(r.get("accredited"))}
            for r in roles if r.get("holder") is not None}


class VirtualRoomState:
    """The virtual room at one event seq."""

    def __init__(self) -> None:
        self.seq = 0
        self.at: Optional[datetime] = None
        self.areas: dict[str, str] = {}
        self.units: dict[str, dict[str, Any]] = {}
        self.incidents: dict[int, dict[str, Any]] = {}       # open only
        self.talk_groups: dict[str, dict[str, Any]] = {}
        self.command: dict[int, dict[str, dict[str, Any]]] = {}
        self.consoles: dict[str, dict[str, Any]] = {}        # console id -> user, role, room
        self.alerts: dict[int, dict[str, Any]] = {}          # open alerts (issue 20): id -> state
        self.created: dict[int, tuple[int, str]] = {}       # incident id -> (seq created, URN)
        self.ignored: Counter[str] = Counter()               # unknown kinds seen
        self.applied = 0

    # ---- building -----------------------------------------------------------------------------
    @classmethod
    def from_baseline(cls, seq: int, doc: Mapping[str, Any]) -> "VirtualRoomState":
        """From a cr_replay_baseline() document (rows as the database had them at `seq`)."""
        s = cls()
        s.seq = int(seq)
        s.areas = dict(doc.get("areas") or {})
        s.units = {u["callsign"]: unit_record(u) for u in doc.get("units") or ()}
        patched: dict[str, list[str]] = {}
        for p in doc.get("patches") or ():
            patched.setdefault(p["incident_group"], []).append(p["other_group"])
            patched.setdefault(p["other_group"], []).append(p["incident_group"])
        s.talk_groups = {g["name"]: {**{k: g.get(k) for k in GROUP_KEYS[:-1]},
                                     "patched_with": tuple(patched.get(g["name"], ()))}
                         for g in doc.get("talk_groups") or ()}
        s.incidents = {int(i["id"]): incident_record(i) for i in doc.get("incidents") or ()}
        latest: dict[tuple[int, str], Mapping[str, Any]] = {}
        for r in doc.get("command_roles") or ():
            key = (int(r["incident_id"]), r["role"])
            if key not in latest or r["n"] > latest[key]["n"]:
                latest[key] = r
        for (inc, _), r in latest.items():
            if r.get("holder") is not None:
                s.command.setdefault(inc, {})[r["role"]] = {"holder": r["holder"],
                                                            "accredited": bool(r.get("accredited"))}
        s.created = {i: (0, d["urn"]) for i, d in s.incidents.items()}
        return s

    def copy(self) -> "VirtualRoomState":
        """A snapshot: entity dicts are never mutated in place, so shallow copies suffice."""
        c = VirtualRoomState.__new__(VirtualRoomState)
        c.seq, c.at, c.applied = self.seq, self.at, self.applied
        c.areas, c.units, c.incidents = dict(self.areas), dict(self.units), dict(self.incidents)
        c.talk_groups, c.command = dict(self.talk_groups), dict(self.command)
        c.consoles, c.created, c.ignored = dict(self.consoles), dict(self.created), Counter(self.ignored)
        c.alerts = dict(self.alerts)
        return c

    def apply(self, ev: EventLike) -> None:
        """Apply one event (in seq order); unknown kinds change nothing and are counted."""
        if ev.seq <= self.seq:
            return  # already part of this state (e.g. the baseline)
        reducer = REDUCERS.get(ev.kind)
        if reducer is None:
            if not ev.kind.startswith(IGNORED_PREFIXES):
                self.ignored[ev.kind] += 1
        else:
            reducer(self, ev, ev.payload if isinstance(ev.payload, dict) else {})
        self.seq, self.at = ev.seq, ev.at or self.at
        self.applied += 1

    def apply_all(self, events: Iterable[EventLike]) -> "VirtualRoomState":
        for ev in events:
            self.apply(ev)
        return self

    # ---- entity updates (always new dicts) ----------------------------------------------------
    def set_incident(self, row: Mapping[str, Any], seq: int = 0) -> None:
        d = incident_record(row)
        if d["id"] not in self.created:
            self.created[d["id"]] = (seq, d["urn"])
        if d["status"] == "closed":
            self.incidents.pop(d["id"], None)
        else:
            self.incidents[d["id"]] = d

    def set_unit(self, row: Mapping[str, Any]) -> None:
        cs = row.get("callsign")
        if cs:
            self.units[cs] = unit_record(row, self.units.get(cs))

    def set_group(self, g: Mapping[str, Any]) -> None:
        name = g.get("name")
        if name:
            old = self.talk_groups.get(name, {})
            d = {k: g.get(k, old.get(k)) for k in GROUP_KEYS}
            d["patched_with"] = tuple(d.get("patched_with") or ())
            self.talk_groups[name] = d

    # ---- views --------------------------------------------------------------------------------
    def incident_view(self, incident_id: int) -> dict[str, Any]:
        """One open incident as a console shows it: row, owning room now, units, groups, chain."""
        d = dict(self.incidents[incident_id])
        d["room_code"] = self.areas.get(d["area_code"], d["room_code"])
        d["units"] = tuple(sorted(cs for cs, u in self.units.items() if u.get("incident_id") == incident_id))
        d["talk_groups"] = tuple(sorted(n for n, g in self.talk_groups.items()
                                        if g.get("incident_id") == incident_id))
        d["command"] = dict(self.command.get(incident_id, {}))
        return d

    def open_incidents(self, *, room: str | None = None) -> list[dict[str, Any]]:
        """Open incidents oldest first, optionally only those a room owns at this moment."""
        out = [self.incident_view(i) for i in self.incidents]
        if room is not None:
            out = [d for d in out if d["room_code"] == room]
        return sorted(out, key=lambda d: (d["created_at"] or datetime.min, d["id"]))

    def structured(self) -> dict[str, Any]:
        """A normalised, comparable view (what the replay test compares with the live room)."""
        return {
            "areas": dict(sorted(self.areas.items())),
            "incidents": {i: normalise_incident(self.incident_view(i)) for i in sorted(self.incidents)},
            "units": {cs: normalise_unit(u) for cs, u in sorted(self.units.items())},
            "talk_groups": {n: (g.get("incident_id"), tuple(sorted(g.get("patched_with") or ())))
                            for n, g in sorted(self.talk_groups.items())
                            if g.get("incident_id") is not None or g.get("patched_with")},
        }


def _num(v: Any) -> Any:
    return round(float(v), 7) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


def normalise_incident(d: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: _num(d.get(k)) if k in ("lat", "lon") else d.get(k) for k in INCIDENT_KEYS}
    out["id"] = int(out["id"])
    for k in ("units", "talk_groups"):
        out[k] = tuple(sorted(d.get(k) or ()))
    out["command"] = {r: (v["holder"], bool(v["accredited"])) for r, v in sorted((d.get("command") or {}).items())}
    return out


def normalise_unit(d: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: _num(d.get(k)) if k in ("lat", "lon") else d.get(k) for k in UNIT_KEYS}
    out["capabilities"] = tuple(out["capabilities"] or ())
    out["incident_id"] = None if out["incident_id"] is None else int(out["incident_id"])
    return out


# ---- reducers ---------------------------------------------------------------------------------
Reducer = Callable[[VirtualRoomState, Any, dict[str, Any]], None]


def _incident_row(s: VirtualRoomState, ev: Any, p: dict[str, Any]) -> None:
    if "id" in p and "urn" in p:
        s.set_incident(p, ev.seq)


def _despatch(s: VirtualRoomState, ev: Any, p: dict[str, Any]) -> None:
    for key in ("from_incident", "incident"):
        if isinstance(p.get(key), dict):
            s.set_incident(p[key], ev.seq)
    if isinstance(p.get("unit"), dict):
        s.set_unit(p["unit"])


def _unit_status(s: VirtualRoomState, ev: Any, p: dict[str, Any]) -> None:
    s.set_unit(p)


def _unit_position(s: VirtualRoomState, ev: Any, p: dict[str, Any]) -> None:
    cs = p.get("callsign")
    if cs:
        s.set_unit({"callsign": cs, "lat": p.get("lat"), "lon": p.get("lon"), "position_at": p.get("at"),
                    "area_code": p.get("area_code"), "status": p.get("status", s.units.get(cs, {}).get("status"))})


def _group(s: VirtualRoomState, ev: Any, p: dict[str, Any]) -> None:
    s.set_group(p)
    if isinstance(p.get("other"), dict):
        s.set_group(p["other"])
    for r in p.get("units_returned") or ():      # released: back on the area's primary (NULL)
        if r.get("callsign") in s.units:
            s.set_unit({"callsign": r["callsign"], "talk_group": None})
    if ev.kind == "talkgroup.units_moved":
        for m in p.get("moved") or ():
            if m.get("callsign") in s.units:
                s.set_unit({"callsign": m["callsign"], "talk_group": p.get("name")})


def _chain(s: VirtualRoomState, ev: Any, p: dict[str, Any]) -> None:
    inc_id = p.get("incident_id") or (p.get("incident") or {}).get("id") or ev.entity_id
    if isinstance(p.get("incident"), dict):
        s.set_incident(p["incident"], ev.seq)
    if inc_id is not None and isinstance(p.get("chain"), list):
        s.command[int(inc_id)] = chain_record(p["chain"])


def _major(s: VirtualRoomState, ev: Any, p: dict[str, Any]) -> None:
    # The payload has the chain and major_kind, not the row: the UPDATE stamped updated_at with the
    # transaction's now(), which is exactly the event's `at` (same transaction).
    _chain(s, ev, p)
    inc_id = int(p.get("incident_id") or ev.entity_id)
    if "incident" not in p and inc_id in s.incidents:
        s.incidents[inc_id] = {**s.incidents[inc_id], "major_kind": p.get("major_kind"),
                               "updated_at": ev.at, "updated_by": ev.username}


def _rooms(s: VirtualRoomState, ev: Any, p: dict[str, Any]) -> None:
    if isinstance(p.get("area_rooms"), dict):
        s.areas = {**s.areas, **p["area_rooms"]}


def _signed_in(s: VirtualRoomState, ev: Any, p: dict[str, Any]) -> None:
    cid = p.get("console_id") or ev.console_id
    if cid:
        s.consoles[cid] = {"username": p.get("username"), "role": p.get("role"), "room": p.get("room")}


def _alert(s: VirtualRoomState, ev: Any, p: dict[str, Any]) -> None:
    """The alert queue as it stood: raised, taken (by whom), escalated, cleared (with what)."""
    try:
        aid = int(p["id"])
    except (KeyError, TypeError, ValueError):
        return
    if p.get("state") == "cleared":
        s.alerts.pop(aid, None)
        return
    s.alerts[aid] = {k: p.get(k) for k in ("kind", "state", "level", "title", "room_code", "callsign",
                                           "incident_id", "raised_at", "acknowledged_by", "talk_group")}


def _nothing(s: VirtualRoomState, ev: Any, p: dict[str, Any]) -> None:
    """Kinds that add records (logs, decisions, radio) but change no replayed state."""


REDUCERS: dict[str, Reducer] = {
    **{k: _incident_row for k in ("incident.created", "incident.updated", "incident.graded",
                                  "incident.closed", "incident.reopened", "incident.breached",
                                  "command.firearms_declared")},
    **{k: _despatch for k in ("despatch.assigned", "despatch.arrived", "despatch.cleared",
                              "despatch.diverted")},
    "unit.status": _unit_status,
    "unit.position": _unit_position,
    **{k: _group for k in ("talkgroup.allocated", "talkgroup.released", "talkgroup.units_moved",
                           "talkgroup.patched")},
    **{k: _chain for k in ("command.firearms_accepted", "command.armed_authorised",
                           "command.role_assigned")},
    "command.major_declared": _major,
    **{k: _rooms for k in ("room.area_transferred", "room.take_over", "room.hand_back")},
    "console.signed_in": _signed_in,
    **{k: _alert for k in ("alert.raised", "alert.acknowledged", "alert.escalated", "alert.cleared")},
    **{k: _nothing for k in ("incident.logged", "incident.linked", "incident.thrive",
                             "talkgroup.transmission", "command.decision", "command.methane",
                             "command.firearms_acknowledged", "console.presence", "console.heartbeat",
                             "user.locked", "alarm.muted", "alarm.unmuted")},
}
# Whole families outside the room state (contacts queue, training control): known, not counted.
IGNORED_PREFIXES = ("contact.", "training.", "exercise.", "room.fallback", "qa.", "records.")

__all__ = ["VirtualRoomState", "REDUCERS", "normalise_incident", "normalise_unit", "incident_record",
           "unit_record", "chain_record"]
