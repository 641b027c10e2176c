"""Quality sampling of closed incidents by data auditors (mixed into AuditService)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import text

from ..errors import InvalidInput
from .base import AUDIT_SQL, ServiceContext, to_json
from .validate import int_id, text_field
from .views import view_from

# What an auditor checks on each sampled incident (crime and incident recording standards).
QA_CHECKLIST: dict[str, str] = {
    "opening_code": "Opening NSIR category/code matches what was reported",
    "grade": "Grade fits the THRIVE assessment; regrades have a rationale",
    "thrive": "THRIVE recorded and proportionate to the risk",
    "vulnerability": "Vulnerability and repeat-victim flags considered",
    "attendance": "Attendance target met, or the delay explained in the log",
    "log_quality": "Narrative log complete, factual and professional",
    "closing_code": "Closing code, qualifier and result recorded",
    "crime_recorded": "Crime recorded where the standards require it",
}
OUTCOMES = {"compliant": "Compliant", "advice": "Advice given", "non_compliant": "Not compliant"}


@dataclass(frozen=True)
class QaSampleItem:
    id: int
    urn: str
    incident_type: str
    grade: Optional[str]
    summary: str
    created_at: datetime
    closed_at: Optional[datetime]
    closing_code: Optional[str]
    room_code: str
    reviews: int = 0


@dataclass(frozen=True)
class QaReviewView:
    id: int
    incident_id: int
    outcome: str
    findings: str
    checklist: dict[str, Any]
    at: datetime
    by: str
    sample_percent: Optional[float] = None
    console_id: Optional[str] = None
    urn: Optional[str] = None


class QaMixin:
    ctx: ServiceContext

    def qa_sample(self, *, percent: float = 5.0, since: datetime | None = None,
                  until: datetime | None = None, seed: float | None = None) -> list[QaSampleItem]:
        """A random `percent` of closed incidents (closed in [since, until]); the draw is audited."""
        ctx = self.ctx
        ctx.require("audit.qa", what="draw quality samples")
        if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 < percent <= 100:
            raise InvalidInput("Sample size must be a percentage above 0 and at most 100.", field="percent")
        if seed is not None and not -1 <= seed <= 1:
            raise InvalidInput("A repeatable sample needs a seed between -1 and 1.", field="seed")
        params: dict[str, Any] = {"since": since, "until": until}
        where = ("status = 'closed' AND (CAST(:since AS timestamptz) IS NULL OR closed_at >= :since) "
                 "AND (CAST(:until AS timestamptz) IS NULL OR closed_at <= :until)")
        with ctx.tx() as tx:
            total = tx.execute(f"SELECT count(*) FROM incidents WHERE {where}", params).scalar_one()
            size = min(total, math.ceil(total * percent / 100)) if total else 0
            if seed is not None:  # same seed, same draw: another auditor can reproduce the sample
                tx.execute("SELECT setseed(:s)", {"s": seed})
            rows = tx.execute(
                "SELECT i.id, i.urn, i.incident_type, i.grade, i.summary, i.created_at, i.closed_at, "
                "i.closing_code, i.room_code, (SELECT count(*) FROM qa_reviews q WHERE q.incident_id = i.id) "
                f"AS reviews FROM incidents i WHERE {where} ORDER BY random() LIMIT :n",
                {**params, "n": size}).mappings().all()
            items = sorted((view_from(QaSampleItem, r) for r in rows), key=lambda i: (i.closed_at, i.id))
            a = ctx.actor
            tx.execute(AUDIT_SQL, {"username": a.username, "role": a.role, "console": a.console_id,
                                   "room": a.room_code, "action": "qa.sampled", "entity": "incidents",
                                   "outcome": "ok", "details": to_json({
                                       "percent": percent, "closed": total, "seed": seed,
                                       "urns": [i.urn for i in items][:500]})})
        return items

    def record_review(self, incident_id: int, *, checklist: dict[str, bool], findings: str,
                      outcome: str, sample_percent: float | None = None) -> QaReviewView:
        """Record the auditor's findings on a closed incident (append-only; emits qa.reviewed)."""
        ctx = self.ctx
        incident_id = int_id(incident_id)
        ctx.require("audit.qa", entity=f"incident:{incident_id}", what="record quality reviews")
        if not isinstance(checklist, dict) or set(checklist) != set(QA_CHECKLIST) or \
                not all(isinstance(v, bool) for v in checklist.values()):
            missing = sorted(set(QA_CHECKLIST) - set(checklist or {}))
            raise InvalidInput("Answer every checklist item yes or no"
                               + (f" (missing: {', '.join(QA_CHECKLIST[m] for m in missing)})." if missing else "."),
                               field="checklist")
        if outcome not in OUTCOMES:
            raise InvalidInput(f"Outcome must be one of: {', '.join(OUTCOMES.values())}.", field="outcome")
        body = text_field(findings, "Findings", field="findings", max_len=4000)
        with ctx.tx() as tx:
            row = tx.execute(
                "INSERT INTO qa_reviews (incident_id, sample_percent, checklist, outcome, findings, by, console_id) "
                "SELECT id, :p, CAST(:c AS jsonb), :o, :f, :u, :con FROM incidents WHERE id = :i AND status = 'closed' "
                "RETURNING *", {"i": incident_id, "p": sample_percent, "c": to_json(checklist), "o": outcome,
                                "f": body, "u": ctx.actor.username, "con": ctx.actor.console_id}).mappings().first()
            inc = tx.execute("SELECT i.urn, i.status, a.room_code FROM incidents i JOIN areas a ON a.code = i.area_code "
                             "WHERE i.id = :i", {"i": incident_id}).mappings().first()
            if inc is None:
                raise InvalidInput(f"No incident with reference {incident_id}.", field="id")
            if row is None:
                raise InvalidInput(f"Incident {inc['urn']} is not closed; only closed incidents are reviewed.",
                                   field="id")
            view = view_from(QaReviewView, {**row, "urn": inc["urn"]})
            tx.emit("qa.reviewed", incident_id, {**dict(row), "urn": inc["urn"]}, room=inc["room_code"])
        return view

    def reviews(self, *, incident_id: int | None = None, limit: int = 500) -> list[QaReviewView]:
        """Recorded QA reviews, newest first (optionally for one incident)."""
        self.ctx.require("audit.read", what="read quality reviews")
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                "SELECT q.*, i.urn FROM qa_reviews q JOIN incidents i ON i.id = q.incident_id "
                "WHERE CAST(:i AS bigint) IS NULL OR q.incident_id = :i ORDER BY q.id DESC LIMIT :l"),
                {"i": incident_id, "l": limit}).mappings().all()
        return [view_from(QaReviewView, r) for r in rows]
