"""Reading and verifying the hash-chained audit trail."""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import text

from ..base import ServiceContext, to_json
from . import qa
from .qa import QaReviewView, QaSampleItem

GENESIS = "0" * 64
VERIFY_SQL = text(
    "SELECT id, ((extract(epoch FROM at) * 1000000)::bigint)::text, coalesce(username, ''), "
    "coalesce(role, ''), coalesce(console_id, ''), coalesce(room_code, ''), action, "
    "coalesce(entity, ''), outcome, details::text, prev_hash, hash FROM audit_log "
    "WHERE id > :after ORDER BY id LIMIT :batch")


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken: Optional[int]


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    username: Optional[str]
    role: Optional[str]
    console_id: Optional[str]
    room_code: Optional[str]
    action: str
    entity: Optional[str]
    outcome: str
    details: dict[str, Any]


def row_hash(fields: list[str], prev: str) -> str:
    """SHA-256 of the canonical row text, the same text cr_audit_text() builds in the database."""
    return hashlib.sha256("|".join([*fields, prev]).encode("utf-8")).hexdigest()


class AuditService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # ---- quality sampling of closed incidents (controlroom/services/audit/qa.py) --------------------
    def qa_sample(self, *, percent: float = 5.0, since: datetime | None = None,
                  until: datetime | None = None, seed: float | None = None) -> list[QaSampleItem]:
        """A random `percent` of closed incidents (closed in [since, until]); the draw is audited."""
        return qa.qa_sample(self.ctx, percent=percent, since=since, until=until, seed=seed)

    def record_review(self, incident_id: int, *, checklist: dict[str, bool], findings: str,
                      outcome: str, sample_percent: float | None = None) -> QaReviewView:
        """Record the auditor's findings on a closed incident (append-only; emits qa.reviewed)."""
        return qa.record_review(self.ctx, incident_id, checklist=checklist, findings=findings, outcome=outcome,
                                sample_percent=sample_percent)

    def reviews(self, *, incident_id: int | None = None, limit: int = 500) -> list[QaReviewView]:
        """Recorded QA reviews, newest first (optionally for one incident)."""
        return qa.reviews(self.ctx, incident_id=incident_id, limit=limit)

    def verify(self, *, batch: int = 20_000) -> VerifyResult:
        """Re-walk the whole chain: each row's hash and its link to the previous row (auditors;
        the database refuses anyone else the audit_log). For a check against the head anchored
        outside the database, see `python -m controlroom.services.audit.anchor verify`."""
        self.ctx.require("audit.read", entity="audit_log", what="verify the audit trail")
        prev, checked, after = GENESIS, 0, 0
        with self.ctx.read() as conn:
            while True:
                rows = conn.execute(VERIFY_SQL, {"after": after, "batch": batch}).all()
                for r in rows:
                    fields = [str(r[0]), *r[1:10]]
                    if r[10] != prev or row_hash(fields, r[10]) != r[11]:
                        return VerifyResult(False, checked + 1, int(r[0]))
                    prev, checked, after = r[11], checked + 1, r[0]
                if len(rows) < batch:
                    return VerifyResult(True, checked, None)

    def search(self, *, username: str | None = None, console_id: str | None = None,
               entity: str | None = None, action: str | None = None,
               since: datetime | None = None, until: datetime | None = None,
               limit: int = 500) -> list[AuditEntry]:
        """Audit rows matching every given filter, newest first (auditors only, in SQL too)."""
        self.ctx.require("audit.read", entity="audit_log", what="search the audit trail")
        clauses: list[str] = []
        params: dict[str, Any] = {"limit": max(1, min(int(limit), 10_000))}
        for col, val in (("username", username), ("console_id", console_id), ("entity", entity),
                         ("action", action)):
            if val:
                clauses.append(f"{col} = :{col}")
                params[col] = val
        if since:
            clauses.append("at >= :since")
            params["since"] = since
        if until:
            clauses.append("at <= :until")
            params["until"] = until
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                "SELECT id, at, username, role, console_id, room_code, action, entity, outcome, details "
                f"FROM audit_log {where} ORDER BY id DESC LIMIT :limit"), params).mappings().all()
        return [AuditEntry(**r) for r in rows]

    def export_csv(self, **filters: Any) -> str:
        """The rows `search(**filters)` finds, as CSV for an investigation; the export is audited."""
        self.ctx.require("audit.export", what="export the audit trail")
        rows = self.search(**filters)
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(["id", "at", "username", "role", "console_id", "room_code", "action", "entity",
                    "outcome", "details"])
        for r in rows:
            w.writerow([r.id, r.at.isoformat(), r.username, r.role, r.console_id, r.room_code, r.action,
                        r.entity, r.outcome, to_json(r.details)])
        with self.ctx.single() as tx:
            tx.call("api.audit_exported", rows=len(rows),
                    filters={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in filters.items()})
        return out.getvalue()
