"""Handoff integrity: work held by a console that died goes back to the queue, flagged; and a
reconciliation list for supervisors of anything whose state and age disagree.

The states themselves are enforced by the database (migration 0014: transition triggers on
contacts.state and incidents.status), so this module only has to notice *dead holders*. A console
is gone when its heartbeat (services/rooms/service.py stamps consoles.last_seen every 5 s) is older than
`dead_after_s` (resources/standards.yaml) or it signed out. Reclaim is one UPDATE … RETURNING that
any live console may run at any time: idempotent, and each reclaimed contact is announced once.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import text

from ...kernel import config
from ...kernel.errors import ControlRoomError, InvalidInput
from ...kernel.roles import allowed
from ..base import ServiceContext
from ..views import ContactView, contact_view, view_from

log = logging.getLogger(__name__)

# A console is gone if it signed out (and has not signed in since) or its last beat is too old.
DEAD_SQL = """SELECT id FROM consoles
  WHERE (signed_out_at IS NOT NULL AND signed_out_at >= last_seen)
     OR last_seen < now() - make_interval(secs => CAST(:dead AS double precision))"""

RECON_SQL = f"""
WITH dead AS ({DEAD_SQL})
SELECT 'contact' AS entity, c.id, 'contact ' || c.id AS ref, c.state, c.channel AS detail,
       c.taken_at AS since, 'held_by_gone_console' AS problem, c.taken_by AS holder,
       c.taken_console AS console, NULL AS room_code, NULL AS grade
  FROM contacts c WHERE c.state IN ('taken','answered','assessed') AND c.taken_console IN (SELECT id FROM dead)
UNION ALL
SELECT 'contact', c.id, 'contact ' || c.id, c.state, c.channel, c.taken_at, 'taken_not_answered',
       c.taken_by, c.taken_console, NULL, NULL
  FROM contacts c WHERE c.state = 'taken' AND c.taken_at < now() - make_interval(secs => CAST(:taken_min AS double precision) * 60)
   AND c.taken_console NOT IN (SELECT id FROM dead)
UNION ALL
SELECT 'contact', c.id, 'contact ' || c.id, c.state, c.channel, c.reclaimed_at, 'reclaimed_waiting',
       c.reclaimed_user, c.reclaimed_from, NULL, NULL
  FROM contacts c WHERE c.state IN ('queued','callback') AND c.reclaimed_at IS NOT NULL
UNION ALL
SELECT 'contact', c.id, 'contact ' || c.id, c.state, c.channel, c.queue_time, 'waiting_too_long',
       NULL, NULL, NULL, NULL
  FROM contacts c WHERE c.state IN ('queued','callback') AND c.reclaimed_at IS NULL
   AND c.queue_time < now() - make_interval(secs => CAST(:queued_min AS double precision) * 60)
UNION ALL
SELECT 'incident', i.id, i.urn, i.status, i.incident_type, i.deadline_at,
       CASE i.status WHEN 'open' THEN 'awaiting_despatch_past_target' ELSE 'not_attended_past_target' END,
       NULL, NULL, a.room_code, i.grade
  FROM incidents i JOIN areas a ON a.code = i.area_code
 WHERE i.status IN ('open','despatched') AND i.arrived_at IS NULL AND i.deadline_at < now()
UNION ALL
SELECT 'incident', i.id, i.urn, i.status, i.incident_type, i.created_at, 'ungraded',
       i.created_by, i.console_id, a.room_code, NULL
  FROM incidents i JOIN areas a ON a.code = i.area_code
 WHERE i.status = 'open' AND i.grade IS NULL AND i.created_at < now() - make_interval(secs => CAST(:taken_min AS double precision) * 60)
ORDER BY since NULLS LAST
LIMIT :limit
"""

PROBLEM_WORDS = {
    "held_by_gone_console": "held by a console that is gone",
    "taken_not_answered": "taken but not answered",
    "reclaimed_waiting": "returned to the queue from a console that died",
    "waiting_too_long": "waiting in the queue too long",
    "awaiting_despatch_past_target": "awaiting despatch past its grade target",
    "not_attended_past_target": "despatched, nobody there, past its grade target",
    "ungraded": "open without a grade",
}


@dataclass(frozen=True)
class ReconItem:
    """One thing a supervisor should look at: its state and age disagree."""

    entity: str            # 'contact' or 'incident'
    id: int
    ref: str               # URN or 'contact <id>'
    state: str
    problem: str           # a key of PROBLEM_WORDS
    since: Optional[datetime] = None
    detail: Optional[str] = None
    holder: Optional[str] = None
    console: Optional[str] = None
    room_code: Optional[str] = None
    grade: Optional[str] = None

    @property
    def problem_text(self) -> str:
        return PROBLEM_WORDS.get(self.problem, self.problem)

    def age_s(self, now: datetime) -> float:
        return 0.0 if self.since is None else max(0.0, (now - self.since).total_seconds())


def standards() -> dict[str, Any]:
    return config.load_resource("standards")


def dead_after_s() -> float:
    return float(standards()["handoff"]["dead_after_s"])


class HandoffService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def reclaim_orphans(self, *, dead_after_s: float | None = None) -> list[ContactView]:
        """Return contacts held by dead consoles to the queue, flagged; one event each (idempotent)."""
        ctx = self.ctx
        if not (allowed(ctx.actor.role, "contact.handle", training=ctx.training)
                or allowed(ctx.actor.role, "contact.supervise", training=ctx.training)):
            return []  # read-only roles observe; reclaiming is a write
        dead = _seconds(dead_after_s)
        with ctx.single() as tx:  # one call; the database never counts a console dead sooner than policy
            rows = tx.call("api.contacts_reclaim", dead_after_s=dead)
        if rows:
            log.warning("reclaimed %d contact(s) from dead consoles", len(rows))
        return [contact_view(r) for r in rows]

    def reconciliation(self, *, dead_after_s: float | None = None, taken_unanswered_min: float | None = None,
                       queued_max_min: float | None = None, limit: int = 500) -> list[ReconItem]:
        """Everything whose state and age disagree, oldest first (supervisor's reconciliation view)."""
        h = standards()["handoff"]
        params = {"dead": _seconds(dead_after_s),
                  "taken_min": float(h["taken_unanswered_min"] if taken_unanswered_min is None
                                     else taken_unanswered_min),
                  "queued_min": float(h["queued_max_min"] if queued_max_min is None else queued_max_min),
                  "limit": int(limit)}
        with self.ctx.read() as conn:
            rows = conn.execute(text(RECON_SQL), params).mappings().all()
        return [view_from(ReconItem, r) for r in rows]

    def dead_consoles(self, *, dead_after_s: float | None = None) -> list[str]:
        """Console ids counted as gone right now."""
        with self.ctx.read() as conn:
            return [r[0] for r in conn.execute(text(DEAD_SQL), {"dead": _seconds(dead_after_s)})]


def _seconds(value: float | None) -> float:
    if value is None:
        return dead_after_s()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InvalidInput("The dead-console time must be a positive number of seconds.", field="dead_after_s")
    return float(value)


def on_heartbeat(ctx: ServiceContext) -> None:
    """Called after each heartbeat of a live console (rooms.start_heartbeat): reclaim orphans.

    A console that was itself cut off sees everyone's beats as stale when it comes back, so after
    a failed beat it waits `dead_after_s` of good beats before it reclaims anything.
    """
    state = ctx.extras.setdefault("handoff", {"failed": False, "blocked_until": 0.0})
    now = time.monotonic()
    if state.get("failed"):
        state["failed"], state["blocked_until"] = False, now + dead_after_s()
    if now < state.get("blocked_until", 0.0):
        return
    try:
        HandoffService(ctx).reclaim_orphans()
    except ControlRoomError as exc:
        state["failed"] = True
        log.debug("reclaim skipped: %s", exc)


def on_heartbeat_failed(ctx: ServiceContext) -> None:
    """The beat did not reach the database: hold reclaiming until beats are good again for a while."""
    ctx.extras.setdefault("handoff", {})["failed"] = True


__all__ = ["HandoffService", "ReconItem", "PROBLEM_WORDS", "on_heartbeat", "on_heartbeat_failed"]
