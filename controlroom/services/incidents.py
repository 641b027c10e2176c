"""Incident service: the writer of `incidents` and `incident_log` (plus THRIVE, links, breaches)."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select, text

from ..kernel import config
from ..kernel.errors import Conflict, InvalidInput, NotPermitted
from ..geo.gazetteer import address_mismatch, names_place
from ..models import Incident, IncidentLog
from .base import ServiceContext
from .incident_lifecycle import LifecycleMixin
from .incident_related import RelatedMixin
from .validate import code_field, grade_field, int_id, phone_field, text_field, uprn_field
from .views import IncidentView, LogEntryView, parse_ts, view_from

FLAG_NAMES = ("firearms", "domestic_abuse", "vulnerable_person", "repeat_victim", "missing_person")
GRADES = ("G1", "G2", "G3", "G4")

# Fields `update` may change (grade has its own call with rationale; status via close/reopen).
UPDATABLE = ("channel", "incident_type", "summary", "address", "caller_name", "caller_phone",
             "lat", "lon", "uprn", "location_ref") + FLAG_NAMES


def target_minutes(grade: str | None, *, rural: bool = False) -> int | None:
    """Minutes from creation to the grade's attendance target (resources/grades.yaml)."""
    if grade is None:
        return None
    mins = config.grade_policy()["grades"][grade]["attend_minutes"]
    return int(mins["rural" if rural else "urban"])


def normalise_phone(value: Any, *, field: str = "caller_phone") -> str | None:
    """Validated caller number with spaces, brackets and dashes removed (so repeat callers match)."""
    v = phone_field(value, field=field)
    return re.sub(r"[ ()-]", "", v) if v else None


class IncidentService(LifecycleMixin, RelatedMixin):
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._last_created: IncidentView | None = None

    # ---- create ---------------------------------------------------------------------------
    def create(self, *, channel: str, incident_type: str, summary: str, lat: float, lon: float,
               grade: str | None = None, caller_name: str | None = None,
               caller_phone: str | None = None, address: str | None = None,
               uprn: int | None = None, location_ref: str | None = None,
               **flags: bool) -> IncidentView:
        """Record a new incident; area and owning room come from the location.

        `uprn` (the property picked from the gazetteer) or `location_ref` ('postcode:…',
        'street:…') say what the point stands for: duplicates and history match on them first."""
        ctx = self.ctx
        ctx.require("incident.create", what="create incidents")
        params = self._validated(channel, incident_type, summary, lat, lon, grade, caller_name,
                                 caller_phone, address, flags)
        params.update(uprn=uprn_field(uprn), location_ref=self._location_ref(location_ref))
        # One API call, one round trip: the database numbers the URN, derives the room and the
        # grade deadline, declares an armed incident, and writes rows + events + audit.
        with ctx.single() as tx:
            row = self.create_in(tx, params)
        view = view_from(IncidentView, row)
        self._last_created = view
        return view

    @staticmethod
    def create_in(tx: Any, params: dict[str, Any]) -> dict[str, Any]:
        """api.incident_create with validated `params` (from `_validated`), in `tx`."""
        return tx.call("api.incident_create", channel=params["channel"], incident_type=params["incident_type"],
                       summary=params["summary"], lat=params["lat"], lon=params["lon"], area=params["area"],
                       grade=params["grade"], caller_name=params["caller_name"],
                       caller_phone=params["caller_phone"], address=params["address"],
                       uprn=params.get("uprn"), location_ref=params.get("location_ref"),
                       audit_as=("incident.create", None), **{f: params[f] for f in FLAG_NAMES})

    def _validated(self, channel: Any, incident_type: Any, summary: Any, lat: Any, lon: Any,
                   grade: Any, caller_name: Any, caller_phone: Any, address: Any,
                   flags: dict[str, Any]) -> dict[str, Any]:
        self._check_flags(flags)
        out = {
            "channel": self._channel(channel),
            "incident_type": self._type(incident_type),
            "summary": self._summary(summary),
            "area": self.ctx.areas.require(lat, lon),
            "lat": float(lat), "lon": float(lon),
            "grade": grade_field(grade),
            "caller_name": self._caller_name(caller_name),
            "caller_phone": normalise_phone(caller_phone),
            "address": self._address(address),
            **{f: bool(flags.get(f, False)) for f in FLAG_NAMES},
        }
        self._check_address(out["address"], out["lat"], out["lon"])
        return out

    @staticmethod
    def _check_address(address: str | None, lat: float, lon: float) -> None:
        """An address naming a known place far from the pin is refused, never stored (issue 18)."""
        why = address_mismatch(address, lat, lon)
        if why is not None:
            raise InvalidInput(why, field="location")

    @staticmethod
    def _check_flags(flags: dict[str, Any]) -> None:
        unknown = set(flags) - set(FLAG_NAMES)
        if unknown:
            raise InvalidInput(f"Unknown flag(s): {', '.join(sorted(unknown))}. "
                               f"Flags are: {', '.join(FLAG_NAMES)}.", field="flags")
        for k, v in flags.items():
            if not isinstance(v, bool):
                raise InvalidInput(f"Flag {k} must be yes or no.", field=k)

    @staticmethod
    def _channel(v: Any) -> str:
        return code_field(v, "Channel", field="channel", allowed=config.channels())

    @staticmethod
    def _type(v: Any) -> str:
        return code_field(v, "Incident type", field="incident_type", allowed=config.incident_types())

    @staticmethod
    def _summary(v: Any) -> str | None:
        return text_field(v, "Summary", field="summary", max_len=2000)

    @staticmethod
    def _caller_name(v: Any) -> str | None:
        return text_field(v, "Caller name", field="caller_name", max_len=200, required=False,
                          multiline=False)

    @staticmethod
    def _address(v: Any) -> str | None:
        return text_field(v, "Address", field="address", max_len=500, required=False)

    @staticmethod
    def _location_ref(v: Any) -> str | None:
        return text_field(v, "Location reference", field="location", max_len=300, required=False,
                          multiline=False)

    @property
    def last_related(self):  # -> RelatedView
        """Duplicates/history for the incident this session created last (computed on first use,
        so `create` itself stays one round trip)."""
        inc = self._last_created
        if inc is None:
            raise InvalidInput("No incident has been created in this session yet.", field="id")
        return self.find_related(lat=inc.lat, lon=inc.lon, caller_phone=inc.caller_phone,
                                 exclude_id=inc.id, uprn=inc.uprn, location_ref=inc.location_ref)

    # ---- reads ----------------------------------------------------------------------------
    def get(self, incident_id: int) -> IncidentView:
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            row = conn.execute(select(Incident.__table__).where(Incident.id == incident_id)).mappings().first()
        if row is None:
            raise InvalidInput(f"No incident with reference {incident_id}.", field="id")
        return self._with_current_room(row)

    def get_by_urn(self, urn: str) -> IncidentView:
        urn = text_field(urn, "URN", field="urn", max_len=32, multiline=False) or ""
        with self.ctx.read() as conn:
            row = conn.execute(select(Incident.__table__).where(Incident.urn == urn.upper())).mappings().first()
        if row is None:
            raise InvalidInput(f"No incident with URN {urn}.", field="urn")
        return self._with_current_room(row)

    def list_open(self) -> list[IncidentView]:
        """Every open incident in the virtual room, oldest first."""
        with self.ctx.read() as conn:
            rows = conn.execute(select(Incident.__table__).where(Incident.status != "closed")
                                .order_by(Incident.created_at, Incident.id)).mappings().all()
        return [self._with_current_room(r) for r in rows]

    def _with_current_room(self, row: Any) -> IncidentView:
        # Ownership follows the area: after a transfer the incident belongs to the new room.
        d = dict(row)
        d["room_code"] = self.ctx.area_rooms.get(d["area_code"], d["room_code"])
        return view_from(IncidentView, d)

    # ---- log ------------------------------------------------------------------------------
    def add_log(self, incident_id: int, text: str, *, kind: str = "note") -> LogEntryView:
        """Append to the incident's narrative log (append-only)."""
        ctx = self.ctx
        ctx.require("incident.log", entity=f"incident:{incident_id}", what="write incident logs")
        incident_id = int_id(incident_id)
        body = text_field(text, "Log entry", field="text", max_len=4000)
        kind = text_field(kind, "Log kind", field="kind", max_len=32, multiline=False) or "note"
        with ctx.single() as tx:  # one API call: the database checks, writes, events and audits
            row = tx.call("api.incident_add_log", incident_id=incident_id, text=body, kind=kind)
        entry = view_from(LogEntryView, row)
        return entry

    def log(self, incident_id: int) -> list[LogEntryView]:
        """The narrative log, oldest first."""
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            rows = conn.execute(select(IncidentLog.__table__).where(IncidentLog.incident_id == incident_id)
                                .order_by(IncidentLog.id)).mappings().all()
        return [view_from(LogEntryView, r) for r in rows]

    # ---- update ---------------------------------------------------------------------------
    def update(self, incident_id: int, *, expected_version: int, **fields: Any) -> IncidentView:
        """Change details; a stale `expected_version` raises Conflict naming who changed it."""
        ctx = self.ctx
        ctx.require("incident.update", entity=f"incident:{incident_id}", what="update incidents")
        incident_id = int_id(incident_id)
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise InvalidInput("The incident version you edited is missing; reload it.", field="version")
        values = self._update_values(fields)
        if ("address" in values) != ("lat" in values):  # one half changes: check it against the other
            with ctx.read() as conn:
                self._check_against_stored(conn, incident_id, values)
        with ctx.single() as tx:  # the database checks the version, the rules and declares firearms
            try:
                row = tx.call("api.incident_update", incident_id=incident_id,
                              expected_version=expected_version, fields=values)
            except Conflict as exc:  # stale edit: the details name who changed it and when
                d = dict(exc.details)
                if isinstance(d.get("changed_at"), str):
                    d["changed_at"] = parse_ts(d["changed_at"])
                raise Conflict(exc.message, **d) from exc
        return self._with_current_room(row)

    def _check_against_stored(self, conn: Any, incident_id: int, values: dict[str, Any]) -> None:
        """A new address must fit the stored pin, a new pin the stored address: never keep one
        silently while the other says somewhere else (one read, only when there is something to check)."""
        if "address" in values and not names_place(values["address"]):
            return
        cur = conn.execute(text("SELECT lat, lon, address FROM incidents WHERE id = :id"),
                           {"id": incident_id}).mappings().first()
        if cur is None:
            return  # the UPDATE finds nothing and says why
        lat, lon = values.get("lat", cur["lat"]), values.get("lon", cur["lon"])
        self._check_address(values.get("address", cur["address"]), float(lat), float(lon))

    def _update_values(self, fields: dict[str, Any]) -> dict[str, Any]:
        unknown = set(fields) - set(UPDATABLE)
        if unknown:
            raise InvalidInput(f"These cannot be changed here: {', '.join(sorted(unknown))}. "
                               "Use grade, close or reopen for those.", field=sorted(unknown)[0])
        if not fields:
            raise InvalidInput("Nothing to change.", field="fields")
        if ("lat" in fields) != ("lon" in fields):
            raise InvalidInput("Give both latitude and longitude for a new location.", field="location")
        checks = {"channel": self._channel, "incident_type": self._type, "summary": self._summary,
                  "address": self._address, "caller_name": self._caller_name,
                  "caller_phone": normalise_phone, "uprn": uprn_field, "location_ref": self._location_ref}
        out: dict[str, Any] = {}
        self._check_flags({k: v for k, v in fields.items() if k in FLAG_NAMES})
        for k, v in fields.items():
            if k in checks:
                out[k] = checks[k](v)
            elif k in FLAG_NAMES:
                out[k] = v
        if "lat" in fields:
            out["area_code"] = self.ctx.areas.require(fields["lat"], fields["lon"])
            out["lat"], out["lon"] = float(fields["lat"]), float(fields["lon"])
        if "address" in out and "lat" in out:
            self._check_address(out["address"], out["lat"], out["lon"])
        return out

    # ---- grade ----------------------------------------------------------------------------
    def grade(self, incident_id: int, grade: str | int, *, rationale: str | None = None) -> IncidentView:
        """Grade or regrade; downgrading a G1 needs a supervisor. Every regrade is logged."""
        ctx = self.ctx
        entity = f"incident:{incident_id}"
        ctx.require("incident.grade", entity=entity, what="grade incidents")
        incident_id = int_id(incident_id)
        new = grade_field(grade, required=True)
        why = text_field(rationale, "Rationale", field="rationale", max_len=2000, required=False)
        with ctx.single() as tx:  # one call: rules, sign-off request or regrade, log, event, audit
            row = tx.call("api.incident_grade", incident_id=incident_id, grade=new, rationale=why,
                          audit_as=("incident.downgrade_g1", entity))
        if "refused" in row:  # a downgrade waiting for a supervisor: filed and audited by the database
            raise NotPermitted(row["refused"], signoff_id=row["signoff"]["id"])
        return self._with_current_room(row)

    regrade = grade
