"""Intelligence checks for officers on patrol (strategy §6.2.8), audited for data protection.

request (who asked, about what, why) -> run through the adapter -> record the result -> relay it.
Each step is one api function call; each writes an event and an audit row naming the operator.
Supervisors (and auditors) see the checks by operator and purpose.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import text

from ...kernel import config
from ...kernel.errors import InvalidInput
from ..base import ServiceContext
from .adapters import DemoIntelAdapter, IntelAdapter
from ..validate import code_field, int_id, text_field, time_field
from ..views import view_from

COLS = ("id, callsign, incident_id, subject_kind, subject, purpose, reason, status, room_code, requested_at, "
        "requested_by, requested_console, ran_at, ran_by, source, result_summary, result, relayed_at, "
        "relayed_by, relay_note")


@dataclass(frozen=True)
class IntelCheckView:
    id: int
    callsign: str
    incident_id: Optional[int]
    subject_kind: str
    subject: str
    purpose: str
    reason: str
    status: str
    room_code: Optional[str]
    requested_at: datetime
    requested_by: str
    requested_console: Optional[str] = None
    ran_at: Optional[datetime] = None
    ran_by: Optional[str] = None
    source: Optional[str] = None
    result_summary: Optional[str] = None
    result: Optional[dict[str, Any]] = None
    relayed_at: Optional[datetime] = None
    relayed_by: Optional[str] = None
    relay_note: Optional[str] = None

    @property
    def markers(self) -> tuple[str, ...]:
        return tuple((self.result or {}).get("markers", ()))


@dataclass(frozen=True)
class CheckTally:
    operator: str
    purpose: str
    checks: int
    with_incident: int
    relayed: int


def purposes() -> dict[str, str]:
    return dict(config.load_resource("intel")["purposes"])


def subject_kinds() -> dict[str, str]:
    return dict(config.load_resource("intel")["subject_kinds"])


class IntelService:
    def __init__(self, ctx: ServiceContext, adapter: IntelAdapter | None = None) -> None:
        self.ctx = ctx
        self.adapter: IntelAdapter = adapter or ctx.extras.get("intel_adapter") or DemoIntelAdapter()

    # ---- writes -----------------------------------------------------------------------------
    def request(self, *, callsign: str, subject_kind: str, subject: str, purpose: str, reason: str,
                incident_id: int | None = None) -> IntelCheckView:
        """Record an officer's request. The purpose and the officer's reason are required."""
        self.ctx.require("intel.check", entity=f"intel:{callsign}", what="run intelligence checks")
        if purpose is None or (isinstance(purpose, str) and not purpose.strip()):
            raise InvalidInput("Choose the purpose of the check: data protection law requires a reason "
                               "for every search.", field="purpose")
        purpose = code_field(purpose, "Purpose", field="purpose", allowed=purposes())
        reason = text_field(reason, "Reason given by the officer", field="reason", max_len=500)
        if len(reason) < 3:
            raise InvalidInput("Say in a few words why the officer needs the check.", field="reason")
        subject_kind = code_field(subject_kind, "Check on", field="subject_kind", allowed=subject_kinds())
        subject = text_field(subject, "Subject", field="subject", max_len=200, multiline=False)
        callsign = text_field(callsign, "Unit", field="callsign", max_len=16, multiline=False).upper()
        if incident_id is not None:
            incident_id = int_id(incident_id)
        with self.ctx.single() as tx:
            p = tx.call("api.intel_request", callsign=callsign, incident_id=incident_id,
                        subject_kind=subject_kind, subject=subject, purpose=purpose, reason=reason)
        return view_from(IntelCheckView, p)

    def run(self, check_id: int) -> IntelCheckView:
        """Run a requested check through the adapter and record what came back."""
        self.ctx.require("intel.check", entity=f"intel:{check_id}", what="run intelligence checks")
        chk = self.get(check_id)
        res = self.adapter.check(subject_kind=chk.subject_kind, subject=chk.subject)
        with self.ctx.single() as tx:
            p = tx.call("api.intel_record_result", check_id=chk.id, source=res.source, summary=res.summary,
                        result=res.as_json())
        return view_from(IntelCheckView, p)

    def check(self, **kwargs: Any) -> IntelCheckView:
        """Request and run in one go (the usual radio request)."""
        return self.run(self.request(**kwargs).id)

    def relay(self, check_id: int, *, note: str | None = None) -> IntelCheckView:
        self.ctx.require("intel.check", entity=f"intel:{check_id}", what="run intelligence checks")
        check_id = int_id(check_id, "Check")
        note = text_field(note, "Relay note", field="note", max_len=500, required=False)
        with self.ctx.single() as tx:
            p = tx.call("api.intel_relay", check_id=check_id, note=note)
        return view_from(IntelCheckView, p)

    # ---- reads ------------------------------------------------------------------------------
    def get(self, check_id: int) -> IntelCheckView:
        check_id = int_id(check_id, "Check")
        with self.ctx.read() as conn:
            row = conn.execute(text(f"SELECT {COLS} FROM intel_checks WHERE id = :id"), {"id": check_id}).mappings().first()
        if row is None:
            raise InvalidInput(f"Check {check_id} not found.", field="check_id")
        return IntelCheckView(**row)

    def recent(self, *, limit: int = 50, operator: str | None = None, purpose: str | None = None,
               since: datetime | None = None) -> list[IntelCheckView]:
        """Checks newest first; filtering by operator or purpose is the supervisor's view."""
        if operator is not None or purpose is not None:
            self.ctx.require("intel.supervise", entity="intel:review", what="review other operators' checks")
        since = time_field(since, "From", field="since", required=False) or datetime.now(timezone.utc) - timedelta(days=31)
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                f"SELECT {COLS} FROM intel_checks WHERE requested_at >= :since "
                "AND (CAST(:op AS text) IS NULL OR requested_by = :op) AND (CAST(:pu AS text) IS NULL OR purpose = :pu) "
                "ORDER BY id DESC LIMIT :lim"),
                {"since": since, "op": operator, "pu": purpose, "lim": max(1, min(int(limit), 1000))}).mappings()
            return [IntelCheckView(**r) for r in rows]

    def by_operator_and_purpose(self, *, since: datetime | None = None,
                                until: datetime | None = None) -> list[CheckTally]:
        """Data-protection review: how many checks each operator ran, for which purpose."""
        self.ctx.require("intel.supervise", entity="intel:review", what="review other operators' checks")
        now = datetime.now(timezone.utc)
        since = time_field(since, "From", field="since", required=False) or now - timedelta(days=31)
        until = time_field(until, "To", field="until", required=False) or now + timedelta(minutes=1)
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                "SELECT requested_by AS operator, purpose, count(*) AS checks, count(incident_id) AS with_incident, "
                "count(relayed_at) AS relayed FROM intel_checks WHERE requested_at >= :a AND requested_at < :b "
                "GROUP BY 1, 2 ORDER BY 1, 3 DESC"), {"a": since, "b": until}).mappings()
            return [CheckTally(**r) for r in rows]
