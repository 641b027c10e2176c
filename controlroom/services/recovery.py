"""Vehicle Recovery Scheme (strategy §6.2.9): offer the next contracted operator on the area's rota,
record skips with their reason, the ETA given, arrival and clearance; report per operator against
the contracted response time (from accepting the job to arriving at the vehicle).

Fairness is the database's (api.recovery_*, migration 0018): an offer uses the operator's turn
whether accepted or skipped, and the area's rota is locked while the next operator is chosen.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import text

from ..kernel.errors import InvalidInput
from .base import ServiceContext
from .validate import int_id, text_field, time_field
from .views import view_from

STAGES = ("arrived", "cleared")


@dataclass(frozen=True)
class RecoveryJobView:
    id: int
    incident_id: int
    urn: str
    area_code: str
    room_code: Optional[str]
    vrm: str
    location: str
    reason: str
    status: str
    requested_at: datetime
    requested_by: str
    operator_id: Optional[int] = None
    operator_code: Optional[str] = None
    operator_name: Optional[str] = None
    operator_phone: Optional[str] = None
    contracted_minutes: Optional[int] = None
    accepted_at: Optional[datetime] = None
    eta_minutes: Optional[int] = None
    arrived_at: Optional[datetime] = None
    cleared_at: Optional[datetime] = None


@dataclass(frozen=True)
class RecoveryOfferView:
    operator_code: str
    operator_name: str
    offered_at: datetime
    outcome: str
    decided_by: Optional[str]
    skip_reason: Optional[str]


@dataclass(frozen=True)
class OperatorReport:
    area_code: str
    code: str
    name: str
    contracted_minutes: int
    offers: int
    accepted: int
    skipped: int
    attended: int
    within_contract: int
    mean_response_min: Optional[float]
    worst_response_min: Optional[float]

    @property
    def within_pct(self) -> Optional[float]:
        return None if not self.attended else 100.0 * self.within_contract / self.attended


JOB_SQL = """SELECT j.*, i.urn, o.code AS operator_code, o.name AS operator_name, o.phone AS operator_phone,
  o.contracted_minutes FROM recovery_jobs j JOIN incidents i ON i.id = j.incident_id
  LEFT JOIN recovery_operators o ON o.id = j.operator_id"""

REPORT_SQL = """
SELECT o.area_code, o.code, o.name, o.contracted_minutes,
  (SELECT count(*) FROM recovery_offers f WHERE f.operator_id = o.id AND f.offered_at >= :a AND f.offered_at < :b) AS offers,
  (SELECT count(*) FROM recovery_offers f WHERE f.operator_id = o.id AND f.outcome = 'accepted'
     AND f.offered_at >= :a AND f.offered_at < :b) AS accepted,
  (SELECT count(*) FROM recovery_offers f WHERE f.operator_id = o.id AND f.outcome = 'skipped'
     AND f.offered_at >= :a AND f.offered_at < :b) AS skipped,
  count(j.arrived_at) AS attended,
  count(*) FILTER (WHERE j.arrived_at <= j.accepted_at + make_interval(mins => o.contracted_minutes)) AS within_contract,
  round((avg(extract(epoch FROM j.arrived_at - j.accepted_at)) / 60)::numeric, 1)::float8 AS mean_response_min,
  round((max(extract(epoch FROM j.arrived_at - j.accepted_at)) / 60)::numeric, 1)::float8 AS worst_response_min
FROM recovery_operators o
LEFT JOIN recovery_jobs j ON j.operator_id = o.id AND j.arrived_at IS NOT NULL
  AND j.requested_at >= :a AND j.requested_at < :b
WHERE (CAST(:area AS text) IS NULL OR o.area_code = :area)
GROUP BY o.id ORDER BY o.area_code, o.rota_position
"""


class RecoveryService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def _write(self, fn: str, entity: str, **params: Any) -> RecoveryJobView:
        self.ctx.require("recovery.request", entity=entity, what="manage vehicle recoveries")
        with self.ctx.single() as tx:
            p = tx.call(fn, **params)
        return view_from(RecoveryJobView, p)

    def request(self, *, incident_id: int, vrm: str, location: str, reason: str) -> RecoveryJobView:
        """Open a recovery for the incident; the next operator on the area's rota is offered it."""
        incident_id = int_id(incident_id)
        vrm = text_field(vrm, "Vehicle registration (VRM)", field="vrm", max_len=16, multiline=False)
        location = text_field(location, "Where the vehicle is", field="location", max_len=300)
        reason = text_field(reason, "Reason for recovery", field="reason", max_len=300)
        return self._write("api.recovery_request", f"recovery:incident-{incident_id}", incident_id=incident_id,
                           vrm=vrm, location=location, reason=reason)

    def skip(self, job_id: int, *, reason: str) -> RecoveryJobView:
        """The offered operator declined or could not be reached: record why, offer the next one."""
        job_id = int_id(job_id, "Recovery job")
        reason = text_field(reason, "Why the operator is skipped", field="reason", max_len=300)
        return self._write("api.recovery_skip", f"recovery:{job_id}", job_id=job_id, reason=reason)

    def accept(self, job_id: int, *, eta_minutes: int) -> RecoveryJobView:
        job_id = int_id(job_id, "Recovery job")
        if isinstance(eta_minutes, bool) or not isinstance(eta_minutes, int) or not 1 <= eta_minutes <= 480:
            raise InvalidInput("Record the ETA the operator gave, in whole minutes (1 to 480).", field="eta_minutes")
        return self._write("api.recovery_accept", f"recovery:{job_id}", job_id=job_id, eta_minutes=eta_minutes)

    def arrived(self, job_id: int) -> RecoveryJobView:
        return self._write("api.recovery_mark", f"recovery:{job_id}", job_id=int_id(job_id, "Recovery job"),
                           stage="arrived")

    def cleared(self, job_id: int) -> RecoveryJobView:
        return self._write("api.recovery_mark", f"recovery:{job_id}", job_id=int_id(job_id, "Recovery job"),
                           stage="cleared")

    # ---- reads ------------------------------------------------------------------------------
    def get(self, job_id: int) -> RecoveryJobView:
        job_id = int_id(job_id, "Recovery job")
        with self.ctx.read() as conn:
            row = conn.execute(text(JOB_SQL + " WHERE j.id = :id"), {"id": job_id}).mappings().first()
        if row is None:
            raise InvalidInput(f"Recovery job {job_id} not found.", field="job_id")
        return view_from(RecoveryJobView, row)

    def open_jobs(self, *, incident_id: int | None = None) -> list[RecoveryJobView]:
        """Jobs not yet cleared (or all of an incident's jobs), newest first."""
        where = "WHERE j.incident_id = :inc" if incident_id is not None else "WHERE j.status NOT IN ('cleared')"
        with self.ctx.read() as conn:
            rows = conn.execute(text(JOB_SQL + f" {where} ORDER BY j.id DESC LIMIT 200"),
                                {"inc": incident_id}).mappings()
            return [view_from(RecoveryJobView, r) for r in rows]

    def offers(self, job_id: int) -> list[RecoveryOfferView]:
        """Every offer made for the job, in order, with skips and their reasons."""
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                "SELECT o.code AS operator_code, o.name AS operator_name, f.offered_at, f.outcome, f.decided_by, "
                "f.skip_reason FROM recovery_offers f JOIN recovery_operators o ON o.id = f.operator_id "
                "WHERE f.job_id = :j ORDER BY f.id"), {"j": int_id(job_id, "Recovery job")}).mappings()
            return [RecoveryOfferView(**r) for r in rows]

    def rota(self, area_code: str) -> list[dict[str, Any]]:
        """The area's operators in the order the next offers would go (first = next)."""
        with self.ctx.read() as conn:
            return [dict(r) for r in conn.execute(text(
                "SELECT code, name, phone, contracted_minutes, active, turn FROM recovery_operators "
                "WHERE area_code = :a ORDER BY NOT active, turn, rota_position"), {"a": area_code}).mappings()]

    def report(self, *, since: datetime | None = None, until: datetime | None = None,
               area_code: str | None = None) -> list[OperatorReport]:
        """Per operator: offers, accepted, skipped, attended, within the contracted response time."""
        now = datetime.now(timezone.utc)
        since = time_field(since, "From", field="since", required=False) or now - timedelta(days=31)
        until = time_field(until, "To", field="until", required=False) or now + timedelta(minutes=1)
        with self.ctx.read() as conn:
            rows = conn.execute(text(REPORT_SQL), {"a": since, "b": until, "area": area_code}).mappings()
            return [OperatorReport(**r) for r in rows]
