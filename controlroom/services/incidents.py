"""Incident service: the writer of `incidents` and `incident_log`."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .. import config
from ..errors import InvalidInput
from ..models import Incident, IncidentLog
from .base import ServiceContext
from .validate import code_field, grade_field, int_id, phone_field, text_field
from .views import IncidentView, LogEntryView, view_from

FLAG_NAMES = ("firearms", "domestic_abuse", "vulnerable_person", "repeat_victim", "missing_person")

# One statement, one round trip: number the URN, insert, append event + audit, NOTIFY, commit.
CREATE_SQL = """
WITH n AS (
  INSERT INTO urn_counter (day, n) VALUES (to_char(now() AT TIME ZONE 'Europe/London', 'YYYYMMDD'), 1)
  ON CONFLICT (day) DO UPDATE SET n = urn_counter.n + 1
  RETURNING day, n),
inc AS (
  INSERT INTO incidents (urn, channel, incident_type, summary, lat, lon, address, area_code, room_code,
      grade, caller_name, caller_phone, firearms, domestic_abuse, vulnerable_person, repeat_victim,
      missing_person, created_by, updated_by, console_id, deadline_at)
  SELECT :prefix || '-' || n.day || '-' || lpad(n.n::text, 5, '0'), :channel, :incident_type, :summary,
      :lat, :lon, :address, CAST(:area AS text), (SELECT room_code FROM areas WHERE code = CAST(:area AS text)), :grade,
      :caller_name, :caller_phone, :firearms, :domestic_abuse, :vulnerable_person, :repeat_victim,
      :missing_person, CAST(:username AS text), CAST(:username AS text), CAST(:console AS text),
      CASE WHEN CAST(:target_min AS integer) IS NULL THEN NULL
           ELSE now() + make_interval(mins => CAST(:target_min AS integer)) END
  FROM n
  RETURNING *)
SELECT inc.*, cr_emit('incident.created', inc.id::text, inc.room_code, to_jsonb(inc), CAST(:username AS text),
                      :role, CAST(:console AS text)) AS seq
FROM inc
"""


def target_minutes(grade: str | None, *, rural: bool = False) -> int | None:
    """Minutes from creation to the grade's attendance target (resources/grades.yaml)."""
    if grade is None:
        return None
    mins = config.grade_policy()["grades"][grade]["attend_minutes"]
    return int(mins["rural" if rural else "urban"])


class IncidentService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def create(self, *, channel: str, incident_type: str, summary: str, lat: float, lon: float,
               grade: str | None = None, caller_name: str | None = None,
               caller_phone: str | None = None, address: str | None = None,
               **flags: bool) -> IncidentView:
        """Record a new incident; area and owning room come from the location."""
        ctx = self.ctx
        ctx.require("incident.create", what="create incidents")
        params = self._validated(channel, incident_type, summary, lat, lon, grade, caller_name,
                                 caller_phone, address, flags)
        a = ctx.actor
        params.update(prefix="TRN" if ctx.training else "TV", username=a.username, role=a.role,
                      console=a.console_id, target_min=target_minutes(params["grade"]))
        with ctx.tx() as tx:
            row = tx.execute(CREATE_SQL, params).mappings().one()
        return view_from(IncidentView, row)

    def _validated(self, channel: Any, incident_type: Any, summary: Any, lat: Any, lon: Any,
                   grade: Any, caller_name: Any, caller_phone: Any, address: Any,
                   flags: dict[str, Any]) -> dict[str, Any]:
        unknown = set(flags) - set(FLAG_NAMES)
        if unknown:
            raise InvalidInput(f"Unknown flag(s): {', '.join(sorted(unknown))}. "
                               f"Flags are: {', '.join(FLAG_NAMES)}.", field="flags")
        for k, v in flags.items():
            if not isinstance(v, bool):
                raise InvalidInput(f"Flag {k} must be yes or no.", field=k)
        return {
            "channel": code_field(channel, "Channel", field="channel", allowed=config.channels()),
            "incident_type": code_field(incident_type, "Incident type", field="incident_type",
                                        allowed=config.incident_types()),
            "summary": text_field(summary, "Summary", field="summary", max_len=2000),
            "area": self.ctx.areas.require(lat, lon),
            "lat": float(lat), "lon": float(lon),
            "grade": grade_field(grade),
            "caller_name": text_field(caller_name, "Caller name", field="caller_name", max_len=200,
                                      required=False, multiline=False),
            "caller_phone": phone_field(caller_phone),
            "address": text_field(address, "Address", field="address", max_len=500, required=False),
            **{f: bool(flags.get(f, False)) for f in FLAG_NAMES},
        }

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

    def add_log(self, incident_id: int, text: str, *, kind: str = "note") -> LogEntryView:
        """Append to the incident's narrative log (append-only)."""
        ctx = self.ctx
        ctx.require("incident.log", entity=f"incident:{incident_id}", what="write incident logs")
        incident_id = int_id(incident_id)
        body = text_field(text, "Log entry", field="text", max_len=4000)
        kind = text_field(kind, "Log kind", field="kind", max_len=32, multiline=False) or "note"
        a = ctx.actor
        with ctx.tx() as tx:
            row = tx.execute(
                "INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
                "SELECT id, :u, :c, :k, :t FROM incidents WHERE id = :id "
                "RETURNING id, incident_id, at, username, console_id, kind, text",
                {"u": a.username, "c": a.console_id, "k": kind, "t": body, "id": incident_id},
            ).mappings().first()
            if row is None:
                raise InvalidInput(f"No incident with reference {incident_id}.", field="id")
            entry = view_from(LogEntryView, row)
            room = tx.execute("SELECT room_code FROM incidents WHERE id = :id", {"id": incident_id}).scalar()
            tx.emit("incident.logged", incident_id, {"incident_id": incident_id, "log_id": entry.id,
                                                     "kind": kind, "text": body, "at": entry.at,
                                                     "username": a.username}, room=room)
        return entry

    def log(self, incident_id: int) -> list[LogEntryView]:
        """The narrative log, oldest first."""
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            rows = conn.execute(select(IncidentLog.__table__).where(IncidentLog.incident_id == incident_id)
                                .order_by(IncidentLog.id)).mappings().all()
        return [view_from(LogEntryView, r) for r in rows]
