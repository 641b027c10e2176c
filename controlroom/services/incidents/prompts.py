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

from ...kernel import config
from ...kernel.errors import InvalidInput
from ...kernel.roles import allowed
from ..base import ServiceContext
from ..validate import int_id, text_field, time_field
from ..views import LogEntryView, view_from

KINDS = ("ageing", "victim_update", "reassess")

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
        with ctx.single() as tx:  # one call: the three sweeps, policy from the database's table
            rows = tx.call("api.prompts_check")
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
        with ctx.single() as tx:
            row = tx.call("api.prompt_acknowledge", prompt_id=pid,
                          audit_as=("incident.log", f"prompt:{prompt_id}"))
        return view_from(PromptView, row)

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
        from .clock import local_time
        line = body or f"Caller told to expect attendance by {local_time(eta)}"
        if body and eta is not None:
            line += f" (now told to expect attendance by {local_time(eta)})"
        with ctx.single() as tx:  # one call: promise, resolved prompts, log line, event
            row = tx.call("api.incident_victim_update", incident_id=iid, line=line, update=body,
                          promised_at=None if eta is None else eta.astimezone(timezone.utc),
                          audit_as=("incident.log", f"incident:{incident_id}"))
        return view_from(LogEntryView, row)


__all__ = ["PromptService", "PromptView", "KINDS"]
