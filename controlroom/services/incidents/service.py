"""Incident service: the writer of `incidents` and `incident_log` (plus THRIVE, links, breaches)."""
from __future__ import annotations

import re
from typing import Any, Callable

from sqlalchemy import select, text

from ...kernel import config
from ...kernel.errors import Conflict, InvalidInput, NotPermitted
from ...geo.gazetteer import address_mismatch, names_place, parse_latlon
from ...models import Incident, IncidentLog
from ..base import ServiceContext
from ...geo import search as location_search
from ...geo import validate_latlon
from ...kernel.roles import allowed
from .lifecycle import LINK_KINDS, RISK_LEVELS, closing_codes
from .related import DUPLICATE_RADIUS_M, GENERIC_PLANS, HISTORY_RADIUS_M, RELATED_SQL, box_params
from .views import THRIVE_FIELDS, BreachView, LinkView, PlaceView, RelatedIncident, RelatedView, ThriveView
from ..validate import code_field, grade_field, int_id, phone_field, text_field, uprn_field
from ..views import FLAG_NAMES, IncidentView, LogEntryView, parse_ts, view_from

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


class IncidentService:
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
        row: dict[str, Any] = tx.call(
            "api.incident_create", channel=params["channel"], incident_type=params["incident_type"],
            summary=params["summary"], lat=params["lat"], lon=params["lon"], area=params["area"],
            grade=params["grade"], caller_name=params["caller_name"],
            caller_phone=params["caller_phone"], address=params["address"],
            uprn=params.get("uprn"), location_ref=params.get("location_ref"),
            audit_as=("incident.create", None), **{f: params[f] for f in FLAG_NAMES})
        return row

    def _validated(self, channel: Any, incident_type: Any, summary: Any, lat: Any, lon: Any,
                   grade: Any, caller_name: Any, caller_phone: Any, address: Any,
                   flags: dict[str, Any]) -> dict[str, Any]:
        self._check_flags(flags)
        out: dict[str, Any] = {
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
    def last_related(self) -> RelatedView:
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
        checks: dict[str, Callable[[Any], Any]] = {
                  "channel": self._channel, "incident_type": self._type, "summary": self._summary,
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

    # ---- close / reopen -------------------------------------------------------------------
    def close(self, incident_id: int, *, closing_code: str, qualifier: str | None = None,
              result: str) -> IncidentView:
        """Close with a result. Refused while units are assigned; call handlers only close
        incidents that never had a unit."""
        ctx = self.ctx
        entity = f"incident:{incident_id}"
        full = allowed(ctx.actor.role, "incident.close", training=ctx.training)
        if not full:
            ctx.require("incident.close_undeployed", entity=entity, what="close incidents")
        incident_id = int_id(incident_id)
        code, qual = self._closing(closing_code, qualifier)
        result_text = text_field(result, "Result", field="result", max_len=4000)
        # One call: the database re-checks the role (a call handler closes only what never had a
        # unit), units, THRIVE policy, then closes, logs, frees talk groups and emits.
        with ctx.single() as tx:
            row = tx.call("api.incident_close", incident_id=incident_id, closing_code=code, qualifier=qual,
                          result=result_text, audit_as=("incident.close", entity))
        return self._with_current_room(row)

    @staticmethod
    def _closing(code: Any, qualifier: Any) -> tuple[str, str | None]:
        codes = closing_codes()
        if not isinstance(code, str) or code.strip().upper() not in codes:
            raise InvalidInput(f"Closing code '{code}' is not recognised. Choose one of: "
                               f"{', '.join(codes)}.", field="closing_code")
        code = code.strip().upper()
        if qualifier is None or (isinstance(qualifier, str) and not qualifier.strip()):
            return code, None
        allowed_q = codes[code].get("qualifiers") or []
        if not isinstance(qualifier, str) or qualifier.strip().lower() not in allowed_q:
            raise InvalidInput(f"Qualifier '{qualifier}' does not go with {code}. Choose one of: "
                               f"{', '.join(allowed_q) or '(none)'}.", field="qualifier")
        return code, qualifier.strip().lower()

    def reopen(self, incident_id: int, *, reason: str) -> IncidentView:
        """Reopen a closed incident (its closing result is cleared; the log keeps it)."""
        ctx = self.ctx
        ctx.require("incident.reopen", entity=f"incident:{incident_id}", what="reopen incidents")
        incident_id = int_id(incident_id)
        why = text_field(reason, "Reason", field="reason", max_len=2000)
        with ctx.single() as tx:
            row = tx.call("api.incident_reopen", incident_id=incident_id, reason=why,
                          audit_as=("incident.reopen", f"incident:{incident_id}"))
        return self._with_current_room(row)

    # ---- links ----------------------------------------------------------------------------
    def link(self, a: int, b: int, *, reason: str, kind: str = "related") -> LinkView:
        """Link two incidents as duplicates or related (stored once per pair)."""
        ctx = self.ctx
        ctx.require("incident.link", entity=f"incident:{a}", what="link incidents")
        a, b = int_id(a), int_id(b)
        if a == b:
            raise InvalidInput("An incident cannot be linked to itself.", field="b")
        if kind not in LINK_KINDS:
            raise InvalidInput(f"Link kind '{kind}' is not valid: use duplicate or related.", field="kind")
        why = text_field(reason, "Reason", field="reason", max_len=2000)
        with ctx.single() as tx:
            row = tx.call("api.incident_link", a=a, b=b, reason=why, kind=kind,
                          audit_as=("incident.link", f"incident:{a}"))
        return view_from(LinkView, row)

    def links(self, incident_id: int) -> list[LinkView]:
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                "SELECT l.*, o.id AS other_id, o.urn AS other_urn FROM incident_links l "
                "JOIN incidents o ON o.id = CASE WHEN l.a_id = :i THEN l.b_id ELSE l.a_id END "
                "WHERE l.a_id = :i OR l.b_id = :i ORDER BY l.at"), {"i": incident_id}).mappings().all()
        return [view_from(LinkView, r) for r in rows]

    # ---- THRIVE ---------------------------------------------------------------------------
    def thrive(self, incident_id: int, *, threat: str, harm: str, risk: str, investigation: str,
               vulnerability: str, engagement: str, risk_level: str | None = None) -> ThriveView:
        """Record a THRIVE assessment; each one is a new version (the earlier ones stay)."""
        ctx = self.ctx
        ctx.require("incident.thrive", entity=f"incident:{incident_id}", what="record THRIVE assessments")
        incident_id = int_id(incident_id)
        given = dict(threat=threat, harm=harm, risk=risk, investigation=investigation,
                     vulnerability=vulnerability, engagement=engagement)
        values: dict[str, Any] = {f: text_field(given[f], f.title(), field=f, max_len=2000) for f in THRIVE_FIELDS}
        if risk_level is not None and risk_level not in RISK_LEVELS:
            raise InvalidInput(f"Risk level '{risk_level}' is not valid: use high, medium or low.",
                               field="risk_level")
        with ctx.single() as tx:  # the incident row lock in the database serialises reassessments
            row = tx.call("api.incident_thrive", incident_id=incident_id, risk_level=risk_level,
                          audit_as=("incident.thrive", f"incident:{incident_id}"), **values)
        return view_from(ThriveView, row)

    def thrive_history(self, incident_id: int) -> list[ThriveView]:
        """Every THRIVE version, oldest first (the last is the current assessment)."""
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            rows = conn.execute(text("SELECT * FROM incident_thrive WHERE incident_id = :i "
                                          "ORDER BY version"), {"i": incident_id}).mappings().all()
        return [view_from(ThriveView, r) for r in rows]

    # ---- SLA breaches ---------------------------------------------------------------------
    def record_breaches(self) -> list[BreachView]:
        """Record (once) every open incident whose target passed unmet; emits incident.breached.

        Breaches are observed by time passing, so any console may call this (the UI does on its
        countdown timer); the database makes sure each breach is recorded and announced once.
        """
        ctx = self.ctx
        if not allowed(ctx.actor.role, "incident.log", training=ctx.training):
            return []  # read-only roles observe but do not write
        with ctx.single() as tx:
            rows = tx.call("api.incident_record_breaches")
        return [view_from(BreachView, r) for r in rows]

    def breaches(self, incident_id: int) -> list[BreachView]:
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                "SELECT b.*, i.urn FROM incident_breaches b JOIN incidents i ON i.id = b.incident_id "
                "WHERE b.incident_id = :i ORDER BY b.deadline_at"), {"i": incident_id}).mappings().all()
        return [view_from(BreachView, r) for r in rows]

    # ---- related incidents and places (read-only, fast) ----------------------------------------
    def find_related(self, *, lat: float, lon: float, caller_phone: str | None = None,
                     exclude_id: int | None = None, uprn: int | None = None,
                     location_ref: str | None = None) -> RelatedView:
        """Likely duplicates (open and ≤60 min: the same property, ≤200 m, or the same caller number),
        address history (last 12 months: the same property (UPRN), else ≤50 m among incidents
        without one) and how often this number called in the last 12 months."""
        validate_latlon(lat, lon)
        phone = normalise_phone(caller_phone)  # the same normalisation create stores
        ex = None if exclude_id is None else int_id(exclude_id)
        place_only = bool(location_ref and str(location_ref).startswith("place:"))
        params: dict[str, Any] = {"lat": float(lat), "lon": float(lon), "phone": phone, "ex": ex,
                                  "uprn": uprn_field(uprn), "place_only": place_only,
                                  **box_params(lat, lon, DUPLICATE_RADIUS_M, "d"),
                                  **box_params(lat, lon, HISTORY_RADIUS_M, "h")}
        with self.ctx.read() as conn:
            row = conn.execute(text(RELATED_SQL), params).tuples().one()
        dup, hist, repeat = row
        return RelatedView(duplicates=tuple(view_from(RelatedIncident, d) for d in dup),
                           history=tuple(view_from(RelatedIncident, h) for h in hist),
                           repeat_caller_count=int(repeat))

    def assigned_units(self) -> dict[int, list[str]]:
        """Callsigns per incident for every unit currently assigned (for list views)."""
        with self.ctx.read() as conn:
            rows = conn.execute(text("SELECT incident_id, array_agg(callsign ORDER BY callsign) FROM units "
                                     "WHERE incident_id IS NOT NULL GROUP BY incident_id")).tuples().all()
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
            conn.execute(GENERIC_PLANS)
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
