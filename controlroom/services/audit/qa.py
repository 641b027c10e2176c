"""Quality sampling of closed incidents by data auditors: plain functions of the service context,
AuditService's qa_sample / record_review / reviews call them (it was a mixin with one host)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import text

from ...kernel.errors import InvalidInput
from ..base import ServiceContext
from ..validate import int_id, text_field
from ..views import view_from

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


def qa_sample(ctx: ServiceContext, *, percent: float = 5.0, since: datetime | None = None,
              until: datetime | None = None, seed: float | None = None) -> list[QaSampleItem]:
    """A random `percent` of closed incidents (closed in [since, until]); the draw is audited."""
    ctx.require("audit.qa", what="draw quality samples")
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 < percent <= 100:
        raise InvalidInput("Sample size must be a percentage above 0 and at most 100.", field="percent")
    if seed is not None and not -1 <= seed <= 1:
        raise InvalidInput("A repeatable sample needs a seed between -1 and 1.", field="seed")
    with ctx.single() as tx:  # one call: the draw and its audit row
        rows = tx.call("api.qa_sample", percent=float(percent), since=since, until=until,
                       seed=None if seed is None else float(seed), audit_as=("audit.qa", None))
    return [view_from(QaSampleItem, r) for r in rows]


def record_review(ctx: ServiceContext, incident_id: int, *, checklist: dict[str, bool], findings: str,
                  outcome: str, sample_percent: float | None = None) -> QaReviewView:
    """Record the auditor's findings on a closed incident (append-only; emits qa.reviewed)."""
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
    with ctx.single() as tx:  # the database refuses a review of an open incident
        row = tx.call("api.qa_record_review", incident_id=incident_id, checklist=checklist, outcome=outcome,
                      findings=body, sample_percent=sample_percent,
                      audit_as=("audit.qa", f"incident:{incident_id}"))
    return view_from(QaReviewView, row)


def reviews(ctx: ServiceContext, *, incident_id: int | None = None, limit: int = 500) -> list[QaReviewView]:
    """Recorded QA reviews, newest first (optionally for one incident)."""
    ctx.require("audit.read", what="read quality reviews")
    with ctx.read() as conn:
        rows = conn.execute(text(
            "SELECT q.*, i.urn FROM qa_reviews q JOIN incidents i ON i.id = q.incident_id "
            "WHERE CAST(:i AS bigint) IS NULL OR q.incident_id = :i ORDER BY q.id DESC LIMIT :l"),
            {"i": incident_id, "l": limit}).mappings().all()
    return [view_from(QaReviewView, r) for r in rows]
