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

from .. import config
from ..errors import InvalidInput, NotPermitted
from ..gazetteer import is_rural
from ..roles import ROLE_LABELS, allowed
from .base import ServiceContext, Tx
from .incident_sql import emitting
from .validate import grade_field, int_id, text_field
from .views import IncidentView, view_from

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


def downgrade_guard(ctx: ServiceContext, incident_id: int, new_grade: str, rationale: str | None) -> None:
    """Hook for incidents.grade: file a sign-off request and refuse, when this downgrade needs one."""
    if rationale is None or allowed(ctx.actor.role, "incident.signoff_downgrade", training=ctx.training):
        return  # no rationale: grade() asks for it first; supervisors sign off their own downgrades
    with ctx.read() as conn:
        cur = conn.execute(text("SELECT urn, grade, status FROM incidents WHERE id = :id"),
                           {"id": incident_id}).mappings().first()
    if cur is None or cur["status"] == "closed" or cur["grade"] not in needs_signoff_from() \
            or new_grade <= cur["grade"]:
        return
    view = SignoffService(ctx).request(incident_id, grade=new_grade, reason=rationale)
    old = cur["grade"]
    message = (f"{ROLE_LABELS.get(ctx.actor.role, ctx.actor.role)}s may not downgrade a {GRADE_WORDS[old]} "
               f"({cur['urn']}) on their own: a supervisor's sign-off has been requested (request "
               f"{view.id}, {old} to {view.to_grade}). The incident stays {old} until a supervisor approves.")
    ctx.audit_refused(f"incident.downgrade_{old.lower()}", entity=f"incident:{incident_id}",
                      reason=message, details={"signoff_id": view.id, "to_grade": view.to_grade})
    raise NotPermitted(message)


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
        with ctx.tx() as tx:
            cur = tx.execute("SELECT i.urn, i.grade, i.status, a.room_code FROM incidents i JOIN areas a "
                             "ON a.code = i.area_code WHERE i.id = :id FOR UPDATE OF i",
                             {"id": incident_id}).mappings().first()
            if cur is None:
                raise InvalidInput(f"No incident with reference {incident_id}.", field="id")
            if cur["status"] == "closed":
                raise InvalidInput(f"Incident {cur['urn']} is closed.", field="id")
            if cur["grade"] is None or new <= cur["grade"]:
                raise InvalidInput(f"{new} is not a downgrade of {cur['urn']} ({cur['grade'] or 'ungraded'}).",
                                   field="grade")
            existing = tx.execute(SELECT_SQL + " WHERE s.incident_id = :id AND s.status = 'pending'",
                                  {"id": incident_id}).mappings().first()
            if existing is not None:
                if existing["to_grade"] != new:
                    raise InvalidInput(f"A downgrade of {cur['urn']} to {existing['to_grade']} is already "
                                       f"waiting for sign-off (request {existing['id']}).", field="grade")
                return view_from(SignoffView, existing)
            row = tx.execute(
                "INSERT INTO grade_signoffs (incident_id, from_grade, to_grade, reason, requested_by, "
                "requested_console) VALUES (:id, :old, :new, :why, :username, :console) RETURNING *",
                {"id": incident_id, "old": cur["grade"], "new": new, "why": why, **self._who()}).mappings().one()
            tx.execute("INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
                       "VALUES (:id, :username, :console, 'signoff', :t)",
                       {"id": incident_id, **self._who(),
                        "t": f"Downgrade to {new} requested (was {cur['grade']}), awaiting supervisor "
                             f"sign-off (request {row['id']}): {why}"})
            view = view_from(SignoffView, {**row, "urn": cur["urn"], "room_code": cur["room_code"],
                                           "current_grade": cur["grade"]})
            tx.emit("signoff.requested", row["id"], _payload(view), room=cur["room_code"])
        return view

    def approve(self, signoff_id: int, *, note: str | None = None) -> IncidentView:
        """Sign off a pending downgrade: the grade changes now, recorded with both names."""
        from .incidents import target_minutes

        ctx = self.ctx
        ctx.require("incident.signoff_downgrade", entity=f"signoff:{signoff_id}", what="sign off downgrades")
        note_text = text_field(note, "Note", field="note", max_len=2000, required=False)
        with ctx.tx() as tx:
            s = self._pending(tx, signoff_id)
            line = (f"Downgraded {s.to_grade} (was {s.from_grade}): {s.reason} — requested by "
                    f"{s.requested_by}, signed off by {ctx.actor.username}" + (f": {note_text}" if note_text else ""))
            tx.execute("UPDATE grade_signoffs SET status = 'approved', decided_by = :username, decided_at = now(), "
                       "decision_reason = :note WHERE id = :sid", {"sid": s.id, "note": note_text, **self._who()})
            loc = tx.execute("SELECT lat, lon FROM incidents WHERE id = :id", {"id": s.incident_id}).one()
            row = tx.execute(emitting("incident.graded", """
                UPDATE incidents SET grade = :g, deadline_at = created_at + make_interval(mins => :t),
                    version = version + 1, updated_at = now(), updated_by = CAST(:username AS text)
                WHERE id = :id AND grade = :old AND status <> 'closed' RETURNING *""",
                pre="l AS (INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
                    "VALUES (:id, CAST(:username AS text), CAST(:console AS text), 'grade', :line)), ",
                extra="jsonb_build_object('previous_grade', CAST(:old AS text), 'rationale', CAST(:why AS text), "
                      "'signoff', jsonb_build_object('id', CAST(:sid AS bigint), 'requested_by', "
                      "CAST(:req AS text), 'approved_by', CAST(:username AS text)))"),
                {**self._who(), "id": s.incident_id, "g": s.to_grade, "old": s.from_grade, "why": s.reason,
                 "line": line[:4000], "sid": s.id, "req": s.requested_by,
                 "t": target_minutes(s.to_grade, rural=is_rural(loc[0], loc[1]))}).mappings().one()
        return view_from(IncidentView, {**row, "room_code": ctx.area_rooms.get(row["area_code"], row["room_code"])})

    def reject(self, signoff_id: int, *, reason: str) -> SignoffView:
        """Refuse a pending downgrade with a reason; the grade stays."""
        ctx = self.ctx
        ctx.require("incident.signoff_downgrade", entity=f"signoff:{signoff_id}", what="sign off downgrades")
        why = text_field(reason, "Reason for refusing", field="reason", max_len=2000)
        with ctx.tx() as tx:
            s = self._pending(tx, signoff_id)
            row = tx.execute("UPDATE grade_signoffs SET status = 'rejected', decided_by = :username, "
                             "decided_at = now(), decision_reason = :why WHERE id = :sid RETURNING *",
                             {"sid": s.id, "why": why, **self._who()}).mappings().one()
            tx.execute("INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
                       "VALUES (:id, :username, :console, 'signoff', :t)",
                       {"id": s.incident_id, **self._who(),
                        "t": f"Downgrade to {s.to_grade} refused by {ctx.actor.username} (requested by "
                             f"{s.requested_by}): {why}"})
            view = view_from(SignoffView, {**row, "urn": s.urn, "room_code": s.room_code,
                                           "current_grade": s.current_grade})
            tx.emit("signoff.rejected", s.id, _payload(view), room=s.room_code)
        return view

    def _pending(self, tx: Tx, signoff_id: Any) -> SignoffView:
        sid = int_id(signoff_id, "Sign-off request")
        row = tx.execute(SELECT_SQL + " WHERE s.id = :sid FOR UPDATE OF s, i", {"sid": sid}).mappings().first()
        if row is None:
            raise InvalidInput(f"No sign-off request {sid}.", field="id")
        s = view_from(SignoffView, row)
        if s.status != "pending":
            raise InvalidInput(f"Sign-off request {sid} was already {s.status} by {s.decided_by}.", field="id")
        if s.requested_by == self.ctx.actor.username:
            message = (f"A sign-off needs a second person: you asked for this downgrade of {s.urn} "
                       "yourself. Another supervisor must decide it.")
            # Refusals are audited (own transaction; nothing here holds the audit chain yet).
            self.ctx.audit_refused("incident.signoff_downgrade", entity=f"signoff:{sid}", reason=message)
            raise NotPermitted(message)
        if s.current_grade != s.from_grade:
            raise InvalidInput(f"{s.urn} is now {s.current_grade}, not {s.from_grade}: this request is out of "
                               "date. Reject it and ask again if needed.", field="id")
        return s

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


def _payload(v: SignoffView) -> dict[str, Any]:
    return {k: getattr(v, k) for k in SignoffView.__dataclass_fields__}


__all__ = ["SignoffService", "SignoffView", "downgrade_guard"]
