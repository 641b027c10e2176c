"""Supervised downgrades: a G1/G2 downgrade by a non-supervisor waits for a supervisor's sign-off.

Behaviour (the contract): `incidents.grade(id, "G3", rationale=...)` by a despatcher or call
handler on a G1/G2 incident does NOT change the grade. It files a sign-off request (its own
transaction, event `signoff.requested` to the owning room) and raises `NotPermitted` whose message
says a supervisor's sign-off was requested and quotes the request number. `session.signoff
.request(...)` files one explicitly. A supervisor sees `pending()` and calls `approve(id)` (the
grade changes, the log line names both people, event `incident.graded` with a "signoff" key) or
`reject(id, reason=...)` (event `signoff.rejected`). The database refuses a self-approval.
Supervisors (and above) downgrading with `incidents.grade` directly are their own sign-off.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import text

from ...kernel import config
from ...kernel.errors import InvalidInput, NotPermitted
from ..base import ServiceContext
from ..validate import grade_field, int_id, text_field
from ..views import IncidentView, view_from

GRADE_WORDS = {"G1": "G1 emergency", "G2": "G2 priority", "G3": "G3 scheduled", "G4": "G4"}


@dataclass(frozen=True)
class SignoffView:
    id: int
    incident_id: int
    from_grade: str
    to_grade: str
    reason: str
    requested_by: str
    requested_at: datetime
    status: str
    urn: str = ""
    room_code: Optional[str] = None
    requested_console: Optional[str] = None
    decided_by: Optional[str] = None
    decided_at: Optional[datetime] = None
    decision_reason: Optional[str] = None
    current_grade: Optional[str] = None


SELECT_SQL = """SELECT s.*, i.urn, i.grade AS current_grade, a.room_code FROM grade_signoffs s
  JOIN incidents i ON i.id = s.incident_id JOIN areas a ON a.code = i.area_code"""


def needs_signoff_from() -> tuple[str, ...]:
    return tuple(config.load_resource("standards").get("signoff_downgrade_from", ["G1", "G2"]))


class SignoffService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def _who(self) -> dict[str, Any]:
        a = self.ctx.actor
        return {"username": a.username, "role": a.role, "console": a.console_id}

    # ---- writes -------------------------------------------------------------------------------
    def request(self, incident_id: int, *, grade: str | int, reason: str) -> SignoffView:
        """Ask a supervisor to sign off a G1/G2 downgrade (an open request for it is returned as is)."""
        ctx = self.ctx
        ctx.require("incident.grade", entity=f"incident:{incident_id}", what="ask for a downgrade")
        incident_id = int_id(incident_id)
        new = grade_field(grade, required=True)
        why = text_field(reason, "Reason for the downgrade", field="reason", max_len=2000)
        with ctx.single() as tx:  # one call: checks, request (or the open one), log, event
            row = tx.call("api.signoff_request", incident_id=incident_id, grade=new, reason=why,
                          audit_as=("incident.grade", f"incident:{incident_id}"))
        return view_from(SignoffView, row)

    def approve(self, signoff_id: int, *, note: str | None = None) -> IncidentView:
        """Sign off a pending downgrade: the grade changes now, recorded with both names."""
        ctx = self.ctx
        ctx.require("incident.signoff_downgrade", entity=f"signoff:{signoff_id}", what="sign off downgrades")
        note_text = text_field(note, "Note", field="note", max_len=2000, required=False)
        sid = int_id(signoff_id, "Sign-off request")
        with ctx.single() as tx:  # the database refuses a self-approval and an out-of-date request
            row = tx.call("api.signoff_approve", signoff_id=sid, note=note_text,
                          audit_as=("incident.signoff_downgrade", f"signoff:{sid}"))
        if "refused" in row:
            raise NotPermitted(row["refused"])
        return view_from(IncidentView, {**row, "room_code": ctx.area_rooms.get(row["area_code"], row["room_code"])})

    def reject(self, signoff_id: int, *, reason: str) -> SignoffView:
        """Refuse a pending downgrade with a reason; the grade stays."""
        ctx = self.ctx
        ctx.require("incident.signoff_downgrade", entity=f"signoff:{signoff_id}", what="sign off downgrades")
        why = text_field(reason, "Reason for refusing", field="reason", max_len=2000)
        sid = int_id(signoff_id, "Sign-off request")
        with ctx.single() as tx:
            row = tx.call("api.signoff_reject", signoff_id=sid, reason=why,
                          audit_as=("incident.signoff_downgrade", f"signoff:{sid}"))
        if "refused" in row:
            raise NotPermitted(row["refused"])
        return view_from(SignoffView, row)

    # ---- reads --------------------------------------------------------------------------------
    def pending(self, *, room: str | None = None) -> list[SignoffView]:
        """Requests waiting for a supervisor, oldest first (optionally one room's)."""
        # A request overtaken by events (regraded meanwhile, closed) is no longer shown.
        where = (" WHERE s.status = 'pending' AND i.grade = s.from_grade AND i.status <> 'closed'"
                 + (" AND a.room_code = :room" if room else ""))
        with self.ctx.read() as conn:
            rows = conn.execute(text(SELECT_SQL + where + " ORDER BY s.requested_at, s.id"),
                                {"room": room}).mappings().all()
        return [view_from(SignoffView, r) for r in rows]

    def get(self, signoff_id: int) -> SignoffView:
        sid = int_id(signoff_id, "Sign-off request")
        with self.ctx.read() as conn:
            row = conn.execute(text(SELECT_SQL + " WHERE s.id = :sid"), {"sid": sid}).mappings().first()
        if row is None:
            raise InvalidInput(f"No sign-off request {sid}.", field="id")
        return view_from(SignoffView, row)

    def history(self, incident_id: int) -> list[SignoffView]:
        with self.ctx.read() as conn:
            rows = conn.execute(text(SELECT_SQL + " WHERE s.incident_id = :id ORDER BY s.id"),
                                {"id": int_id(incident_id)}).mappings().all()
        return [view_from(SignoffView, r) for r in rows]


__all__ = ["SignoffService", "SignoffView"]
