"""Closing, reopening, linking, THRIVE and SLA breaches (mixed into IncidentService)."""
from __future__ import annotations

import importlib
from typing import Any, Callable

from sqlalchemy import text

from .. import config
from ..errors import InvalidInput
from ..roles import allowed
from .incident_sql import emitting
from .incident_views import THRIVE_FIELDS, BreachView, LinkView, ThriveView
from .validate import int_id, text_field
from .views import IncidentView, view_from

LINK_KINDS = ("duplicate", "related")
RISK_LEVELS = ("high", "medium", "low")

# Open incidents past their deadline that nobody reached or closed: record each breach once
# (ON CONFLICT DO NOTHING: consoles noticing it at the same moment record it once) and emit.
BREACH_SQL = """
WITH b AS (
  INSERT INTO incident_breaches (incident_id, deadline_at, grade, recorded_by)
  SELECT id, deadline_at, grade, CAST(:username AS text) FROM incidents
  WHERE status <> 'closed' AND arrived_at IS NULL AND deadline_at IS NOT NULL AND deadline_at < now()
  ORDER BY deadline_at
  ON CONFLICT DO NOTHING
  RETURNING incident_id, deadline_at, grade, recorded_at, recorded_by)
SELECT i.id AS incident_id, i.urn, b.grade, b.deadline_at, b.recorded_at, b.recorded_by,
  cr_emit('incident.breached', i.id::text, a.room_code,
          to_jsonb(i) || jsonb_build_object('room_code', a.room_code, 'breach',
              jsonb_build_object('deadline_at', b.deadline_at, 'recorded_at', b.recorded_at,
                                 'grade', b.grade)),
          CAST(:username AS text), CAST(:role AS text), CAST(:console AS text)) AS seq
FROM b JOIN incidents i ON i.id = b.incident_id JOIN areas a ON a.code = i.area_code
ORDER BY b.deadline_at
"""


def closing_codes() -> dict[str, dict[str, Any]]:
    return config.load_resource("closing_codes")["closing_codes"]


def _release_hook() -> Callable[[Any, int], list[str]] | None:
    """Issue 7's talk-group release, if that module is present in this build."""
    try:
        return getattr(importlib.import_module("controlroom.services.talkgroups"), "release_on_close", None)
    except ImportError:
        return None


class LifecycleMixin:
    ctx: Any
    actor_params: Callable[[], dict[str, Any]]
    _with_current_room: Callable[[Any], IncidentView]

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
        with ctx.tx() as tx:
            cur = tx.execute(
                "SELECT urn, status, despatched_at, (SELECT array_agg(callsign ORDER BY callsign) FROM units "
                "WHERE incident_id = i.id) AS units FROM incidents i WHERE id = :id FOR UPDATE",
                {"id": incident_id}).mappings().first()
            if cur is None:
                raise InvalidInput(f"No incident with reference {incident_id}.", field="id")
            if cur["status"] == "closed":
                raise InvalidInput(f"Incident {cur['urn']} is already closed.", field="status")
            if cur["units"]:
                raise InvalidInput(f"Incident {cur['urn']} still has units assigned "
                                   f"({', '.join(cur['units'])}); clear them before closing.", field="units")
            if not full and cur["despatched_at"] is not None:
                ctx.require("incident.close", entity=entity,
                            what=f"close incidents that have had units deployed ({cur['urn']}); "
                                 "ask the despatcher")
            from .prompts import require_thrive_to_close  # issue 14: THRIVE policy at closing
            require_thrive_to_close(tx, incident_id)
            hook = _release_hook()
            if hook is not None:
                hook(tx, incident_id)
            line = f"Closed {code}" + (f" ({qual})" if qual else "") + f": {result_text}"
            # NOT EXISTS repeats the unit check inside the write itself (a unit assigned meanwhile wins).
            row = tx.execute(emitting("incident.closed", """
                UPDATE incidents SET status = 'closed', closed_at = now(), closing_code = :code,
                    closing_qualifier = :qual, result = :res, version = version + 1, updated_at = now(),
                    updated_by = CAST(:username AS text)
                WHERE id = :id AND status <> 'closed'
                  AND NOT EXISTS (SELECT 1 FROM units WHERE incident_id = :id) RETURNING *""",
                pre="l AS (INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
                    "VALUES (:id, CAST(:username AS text), CAST(:console AS text), 'closed', :line)), "),
                {**self.actor_params(), "id": incident_id, "code": code, "qual": qual, "res": result_text,
                 "line": line[:4000]}).mappings().first()
            if row is None:
                raise InvalidInput(f"Incident {cur['urn']} changed while closing (a unit was assigned); "
                                   "check it and try again.", field="units")
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
        with ctx.tx() as tx:
            row = tx.execute(emitting("incident.reopened", """
                UPDATE incidents SET status = 'open', closed_at = NULL, closing_code = NULL,
                    closing_qualifier = NULL, result = NULL, version = version + 1, updated_at = now(),
                    updated_by = CAST(:username AS text)
                WHERE id = :id AND status = 'closed' RETURNING *""",
                pre="l AS (INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
                    "SELECT id, CAST(:username AS text), CAST(:console AS text), 'reopened', :line "
                    "FROM incidents WHERE id = :id AND status = 'closed'), "),
                {**self.actor_params(), "id": incident_id, "line": f"Reopened: {why}"}).mappings().first()
            if row is None:
                urn = tx.execute("SELECT urn FROM incidents WHERE id = :id", {"id": incident_id}).scalar()
                if urn is None:
                    raise InvalidInput(f"No incident with reference {incident_id}.", field="id")
                raise InvalidInput(f"Incident {urn} is not closed.", field="status")
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
        lo, hi = min(a, b), max(a, b)
        with ctx.tx() as tx:
            urns = dict(tx.execute("SELECT id, urn FROM incidents WHERE id IN (:a, :b)", {"a": a, "b": b}).all())
            missing = [str(x) for x in (a, b) if x not in urns]
            if missing:
                raise InvalidInput(f"No incident with reference {', '.join(missing)}.", field="b")
            row = tx.execute(
                "INSERT INTO incident_links (a_id, b_id, kind, reason, username) "
                "VALUES (:lo, :hi, :k, :r, :u) ON CONFLICT (a_id, b_id) DO NOTHING "
                "RETURNING id, a_id, b_id, kind, reason, at, username",
                {"lo": lo, "hi": hi, "k": kind, "r": why, "u": ctx.actor.username}).mappings().first()
            if row is None:
                raise InvalidInput(f"{urns[a]} and {urns[b]} are already linked.", field="b")
            for this, other in ((a, b), (b, a)):
                tx.execute("INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
                           "VALUES (:i, :u, :c, 'link', :t)",
                           {"i": this, "u": ctx.actor.username, "c": ctx.actor.console_id,
                            "t": f"Linked ({kind}) to {urns[other]}: {why}"})
            view = view_from(LinkView, row)
            room = tx.execute("SELECT ar.room_code FROM incidents i JOIN areas ar ON ar.code = i.area_code "
                              "WHERE i.id = :a", {"a": a}).scalar()
            tx.emit("incident.linked", a, {**row, "a_urn": urns[lo], "b_urn": urns[hi]}, room=room)
        return view

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
        values = {f: text_field(given[f], f.title(), field=f, max_len=2000) for f in THRIVE_FIELDS}
        if risk_level is not None and risk_level not in RISK_LEVELS:
            raise InvalidInput(f"Risk level '{risk_level}' is not valid: use high, medium or low.",
                               field="risk_level")
        a = ctx.actor
        with ctx.tx() as tx:
            # The incident row lock serialises reassessments, so versions never collide.
            room = tx.execute("SELECT ar.room_code FROM incidents i JOIN areas ar ON ar.code = i.area_code "
                              "WHERE i.id = :id FOR UPDATE OF i", {"id": incident_id}).scalar()
            if room is None:
                raise InvalidInput(f"No incident with reference {incident_id}.", field="id")
            row = tx.execute(
                "INSERT INTO incident_thrive (incident_id, version, threat, harm, risk, investigation, "
                "vulnerability, engagement, risk_level, username, console_id) "
                "SELECT :id, coalesce(max(version), 0) + 1, :threat, :harm, :risk, :investigation, "
                ":vulnerability, :engagement, :rl, :u, :c FROM incident_thrive WHERE incident_id = :id "
                "RETURNING *", {**values, "id": incident_id, "rl": risk_level, "u": a.username,
                                "c": a.console_id}).mappings().one()
            tx.emit("incident.thrive", incident_id, dict(row), room=room)
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
        with ctx.tx() as tx:
            rows = tx.execute(BREACH_SQL, self.actor_params()).mappings().all()
        return [view_from(BreachView, r) for r in rows]

    def breaches(self, incident_id: int) -> list[BreachView]:
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                "SELECT b.*, i.urn FROM incident_breaches b JOIN incidents i ON i.id = b.incident_id "
                "WHERE b.incident_id = :i ORDER BY b.deadline_at"), {"i": incident_id}).mappings().all()
        return [view_from(BreachView, r) for r in rows]


__all__ = ["LifecycleMixin", "closing_codes"]
