"""Closing, reopening, linking, THRIVE and SLA breaches (mixed into IncidentService)."""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import text

from ..kernel import config
from ..kernel.errors import InvalidInput
from ..kernel.roles import allowed
from .incident_views import THRIVE_FIELDS, BreachView, LinkView, ThriveView
from .validate import int_id, text_field
from .views import IncidentView, view_from

LINK_KINDS = ("duplicate", "related")
RISK_LEVELS = ("high", "medium", "low")

def closing_codes() -> dict[str, dict[str, Any]]:
    return config.load_resource("closing_codes")["closing_codes"]


class LifecycleMixin:
    ctx: Any
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
        values = {f: text_field(given[f], f.title(), field=f, max_len=2000) for f in THRIVE_FIELDS}
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


__all__ = ["LifecycleMixin", "closing_codes"]
