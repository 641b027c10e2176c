"""Prompts to the owning room: ageing against grade, victim update due, THRIVE reassessment.

Prompts are observed as time passes and information arrives, so any console may run `check()`
(the prompts panel does on a timer): one INSERT … SELECT per kind with ON CONFLICT DO NOTHING on
(incident, kind, cause) records and announces each prompt exactly once (`prompt.raised`, to the
owning room), however many consoles sweep at the same moment. A prompt stops being active when its
reason goes: ageing when the incident is despatched, victim update when someone arrives or the
update is recorded, reassessment when a new THRIVE version is recorded (a trigger marks it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import text

from .. import config
from ..errors import InvalidInput
from ..roles import allowed
from .base import ServiceContext, Tx
from .validate import int_id, text_field, time_field
from .views import LogEntryView, view_from

KINDS = ("ageing", "victim_update", "reassess")

_EMIT = """SELECT p.*, i.urn, i.grade, i.status, cr_emit('prompt.raised', p.id::text, p.room_code,
    to_jsonb(p) || jsonb_build_object('urn', i.urn, 'grade', i.grade, 'status', i.status),
    CAST(:u AS text), CAST(:role AS text), CAST(:console AS text)) AS seq
FROM p JOIN incidents i ON i.id = p.incident_id ORDER BY p.id"""

AGEING_SQL = """
WITH pts(grade, mins) AS (SELECT * FROM unnest(CAST(:grades AS text[]), CAST(:mins AS integer[]))),
p AS (
  INSERT INTO incident_prompts (incident_id, kind, cause, room_code, message, raised_by)
  SELECT i.id, 'ageing', i.grade || '@' || pts.mins, a.room_code,
         i.grade || ' ' || i.urn || ' (' || i.incident_type || ') not despatched after ' || pts.mins || ' min',
         CAST(:u AS text)
  FROM incidents i JOIN pts ON pts.grade = i.grade JOIN areas a ON a.code = i.area_code
  WHERE i.status = 'open' AND i.created_at <= now() - make_interval(mins => pts.mins)
  ON CONFLICT DO NOTHING RETURNING *)
""" + _EMIT

# Due `lead` minutes before the time the caller was given (else the grade deadline), nobody there.
VICTIM_SQL = """
WITH due AS (
  SELECT i.id, i.urn, a.room_code, coalesce(v.promised_at, i.deadline_at) AS promised
  FROM incidents i JOIN areas a ON a.code = i.area_code LEFT JOIN victim_promises v ON v.incident_id = i.id
  WHERE i.status IN ('open', 'despatched') AND i.arrived_at IS NULL
    AND (v.promised_at IS NOT NULL OR i.grade IN ('G1', 'G2', 'G3'))
    AND coalesce(v.promised_at, i.deadline_at) - make_interval(mins => :lead) <= now()),
p AS (
  INSERT INTO incident_prompts (incident_id, kind, cause, room_code, message, raised_by)
  SELECT id, 'victim_update', 'eta:' || floor(extract(epoch FROM promised))::bigint, room_code,
         'Victim update due on ' || urn || ': the caller expects attendance by '
           || to_char(promised AT TIME ZONE 'Europe/London', 'HH24:MI') || ' and nobody has arrived',
         CAST(:u AS text)
  FROM due
  ON CONFLICT DO NOTHING RETURNING *)
""" + _EMIT

# New information since the latest THRIVE: a call linked to the incident, a log entry flagged as
# new information, or a later call from the incident's caller number (contacts.from_key is 0…).
REASSESS_SQL = """
WITH src AS (
  SELECT l.a_id AS incident_id, 'link:' || l.id AS cause, l.at, 'new call linked (' || o.urn || ')' AS what
    FROM incident_links l JOIN incidents o ON o.id = l.b_id WHERE l.at > now() - make_interval(hours => :win)
  UNION ALL
  SELECT l.incident_id, 'log:' || l.id, l.at, 'new information: ' || left(l.text, 80)
    FROM incident_log l WHERE l.kind = :info_kind AND l.at > now() - make_interval(hours => :win)
  UNION ALL
  SELECT i.id, 'contact:' || c.id, c.received_at, 'repeat call from ' || c.from_addr
    FROM contacts c JOIN incidents i
      ON i.caller_phone = ANY(ARRAY[c.from_key, '+44' || substr(c.from_key, 2), '44' || substr(c.from_key, 2)])
   WHERE c.received_at > now() - make_interval(hours => :win) AND c.received_at > i.created_at
     AND i.status <> 'closed' AND c.incident_id IS DISTINCT FROM i.id),
p AS (
  INSERT INTO incident_prompts (incident_id, kind, cause, room_code, message, raised_by)
  SELECT s.incident_id, 'reassess', s.cause, a.room_code,
         'THRIVE reassessment needed on ' || i.urn || ': ' || s.what, CAST(:u AS text)
  FROM src s JOIN incidents i ON i.id = s.incident_id JOIN areas a ON a.code = i.area_code
  WHERE i.status <> 'closed'
    AND s.at > coalesce((SELECT max(t.at) FROM incident_thrive t WHERE t.incident_id = s.incident_id),
                        '-infinity'::timestamptz)
  ON CONFLICT DO NOTHING RETURNING *)
""" + _EMIT

ACTIVE_SQL = """
SELECT p.*, i.urn, i.grade, i.status FROM incident_prompts p JOIN incidents i ON i.id = p.incident_id
WHERE p.resolved_at IS NULL AND i.status <> 'closed'
  AND (p.kind <> 'ageing' OR i.status = 'open')
  AND (p.kind <> 'victim_update' OR i.arrived_at IS NULL)
  AND (CAST(:room AS text) IS NULL OR p.room_code = CAST(:room AS text))
  AND (CAST(:inc AS bigint) IS NULL OR p.incident_id = CAST(:inc AS bigint))
ORDER BY p.raised_at, p.id LIMIT 1000
"""


@dataclass(frozen=True)
class PromptView:
    id: int
    incident_id: int
    kind: str
    cause: str
    message: str
    raised_at: datetime
    urn: str = ""
    grade: Optional[str] = None
    status: Optional[str] = None
    room_code: Optional[str] = None
    raised_by: Optional[str] = None
    acknowledged_at: Optional[datetime] = None
    acknowledged_by: Optional[str] = None
    resolved_at: Optional[datetime] = None
    resolved_by: Optional[str] = None
    resolution: Optional[str] = None


def prompt_policy() -> dict[str, Any]:
    return config.load_resource("prompts")


def require_thrive_to_close(tx: Tx, incident_id: int) -> None:
    """Hook for incidents.close (inside its transaction): refuse when policy needs THRIVE and none exists."""
    policy = config.load_resource("standards").get("thrive_required_to_close") or {}
    grades, flags = list(policy.get("grades") or []), list(policy.get("flags") or [])
    row = tx.execute("SELECT * , EXISTS (SELECT 1 FROM incident_thrive t WHERE t.incident_id = i.id) AS has_thrive "
                     "FROM incidents i WHERE id = :id", {"id": incident_id}).mappings().first()
    if row is None or row["has_thrive"]:
        return
    reasons = ([f"it is {row['grade']}"] if row["grade"] in grades else []) + \
              [f"{f.replace('_', ' ')} is flagged" for f in flags if row.get(f)]
    if reasons:
        raise InvalidInput(f"{row['urn']} cannot be closed without a THRIVE assessment "
                           f"({' and '.join(reasons)}). Record THRIVE first.", field="thrive")


class PromptService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def _who(self) -> dict[str, Any]:
        a = self.ctx.actor
        return {"u": a.username, "role": a.role, "console": a.console_id}

    def check(self) -> list[PromptView]:
        """Raise (once each) every prompt now due; returns the new ones. Any console may call it."""
        ctx = self.ctx
        if not allowed(ctx.actor.role, "incident.log", training=ctx.training):
            return []  # read-only roles observe but do not write
        pol = prompt_policy()
        pts = [(g, int(m)) for g, mins in (pol.get("ageing") or {}).items() for m in (mins or [])]
        rea = pol.get("reassessment") or {}
        with ctx.tx() as tx:
            rows = tx.execute(AGEING_SQL, {"grades": [g for g, _ in pts], "mins": [m for _, m in pts],
                                           **self._who()}).mappings().all()
            rows += tx.execute(VICTIM_SQL, {"lead": int((pol.get("victim_update") or {}).get("lead_minutes", 10)),
                                            **self._who()}).mappings().all()
            rows += tx.execute(REASSESS_SQL, {"win": int(rea.get("window_hours", 24)),
                                              "info_kind": rea.get("new_info_log_kind", "new_info"),
                                              **self._who()}).mappings().all()
        return [view_from(PromptView, r) for r in rows]

    def active(self, *, room: str | None = None, incident_id: int | None = None) -> list[PromptView]:
        """Prompts whose reason still holds, oldest first (optionally one room's or one incident's)."""
        with self.ctx.read() as conn:
            rows = conn.execute(text(ACTIVE_SQL), {"room": room, "inc": incident_id}).mappings().all()
        return [view_from(PromptView, r) for r in rows]

    def acknowledge(self, prompt_id: int) -> PromptView:
        """Mark a prompt seen (it stays active until its reason goes)."""
        ctx = self.ctx
        ctx.require("incident.log", entity=f"prompt:{prompt_id}", what="acknowledge prompts")
        pid = int_id(prompt_id, "Prompt")
        with ctx.tx() as tx:
            row = tx.execute("WITH p AS (UPDATE incident_prompts SET acknowledged_at = coalesce(acknowledged_at, now()), "
                             "acknowledged_by = coalesce(acknowledged_by, CAST(:u AS text)) WHERE id = :id RETURNING *) "
                             "SELECT p.*, i.urn, i.grade, i.status FROM p JOIN incidents i ON i.id = p.incident_id",
                             {"id": pid, "u": ctx.actor.username}).mappings().first()
            if row is None:
                raise InvalidInput(f"No prompt {pid}.", field="id")
            view = view_from(PromptView, row)
            tx.emit("prompt.acknowledged", pid, dict(row), room=view.room_code)
        return view

    def set_caller_eta(self, incident_id: int, *, promised_at: datetime) -> LogEntryView:
        """Record the attendance time the caller was given (victim update is due before it is missed)."""
        return self._victim_log(incident_id, None, promised_at)

    def record_victim_update(self, incident_id: int, *, text: str,
                             new_eta: datetime | None = None) -> LogEntryView:
        """Record the update given to the victim (resolves victim-update prompts; optional new time)."""
        body = text_field(text, "Victim update", field="text", max_len=4000)
        return self._victim_log(incident_id, body, new_eta)

    def _victim_log(self, incident_id: Any, body: str | None, eta: datetime | None) -> LogEntryView:
        ctx = self.ctx
        ctx.require("incident.log", entity=f"incident:{incident_id}", what="record victim updates")
        iid = int_id(incident_id)
        if eta is not None and (not isinstance(eta, datetime) or eta.tzinfo is None):
            raise InvalidInput("The time given to the caller must be a date-time with a time zone.", field="new_eta")
        time_field(eta, "The time given to the caller", field="new_eta", required=False,
                   future=timedelta(days=31))
        if body is None and eta is None:
            raise InvalidInput("Give the time the caller was told.", field="promised_at")
        from .incident_sql import local_time
        line = body or f"Caller told to expect attendance by {local_time(eta)}"
        if body and eta is not None:
            line += f" (now told to expect attendance by {local_time(eta)})"
        a = ctx.actor
        with ctx.tx() as tx:
            room = tx.execute("SELECT a.room_code FROM incidents i JOIN areas a ON a.code = i.area_code "
                              "WHERE i.id = :id FOR UPDATE OF i", {"id": iid}).scalar()
            if room is None:
                raise InvalidInput(f"No incident with reference {iid}.", field="id")
            if eta is not None:
                tx.execute("INSERT INTO victim_promises (incident_id, promised_at, set_by) VALUES (:id, :eta, :u) "
                           "ON CONFLICT (incident_id) DO UPDATE SET promised_at = :eta, set_by = :u, set_at = now()",
                           {"id": iid, "eta": eta.astimezone(timezone.utc), "u": a.username})
            resolved: list[int] = []
            if body is not None:
                resolved = [r[0] for r in tx.execute(
                    "UPDATE incident_prompts SET resolved_at = now(), resolved_by = :u, resolution = :t "
                    "WHERE incident_id = :id AND kind = 'victim_update' AND resolved_at IS NULL RETURNING id",
                    {"id": iid, "u": a.username, "t": body[:500]})]
            row = tx.execute("INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
                             "VALUES (:id, :u, :c, 'victim_update', :t) "
                             "RETURNING id, incident_id, at, username, console_id, kind, text",
                             {"id": iid, "u": a.username, "c": a.console_id, "t": line}).mappings().one()
            tx.emit("incident.logged", iid, {"incident_id": iid, "log_id": row["id"], "kind": "victim_update",
                                             "text": line, "at": row["at"], "username": a.username,
                                             "resolved_prompts": resolved,
                                             "promised_at": eta}, room=room)
        return view_from(LogEntryView, row)


__all__ = ["PromptService", "PromptView", "require_thrive_to_close", "KINDS"]
