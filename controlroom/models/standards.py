"""Inspection-grade standards (migration 0014): prompts, caller promises, supervised downgrades.

0014 also adds columns to tables other modules own (contacts.reclaimed_*, incident_log.original_at);
those are declared in their owners' classes (models/contacts.py, models/incidents.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS


class IncidentPrompt(Base):
    """A prompt to the owning room: ageing against grade, victim update due, THRIVE reassessment."""

    __tablename__ = "incident_prompts"
    __table_args__ = (
        CheckConstraint("kind IN ('ageing','victim_update','reassess')", name="kind"),
        CheckConstraint("(resolved_at IS NULL) = (resolved_by IS NULL)", name="resolved"),
        UniqueConstraint("incident_id", "kind", "cause", name="uq_incident_prompts_cause"),
        Index("ix_incident_prompts_open", "room_code", "raised_at", postgresql_where=text("resolved_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str] = mapped_column(String(64))
    room_code: Mapped[Optional[str]] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    raised_by: Mapped[Optional[str]] = mapped_column(String(64))
    acknowledged_at: Mapped[Optional[datetime]] = mapped_column(TS)
    acknowledged_by: Mapped[Optional[str]] = mapped_column(String(64))
    resolved_at: Mapped[Optional[datetime]] = mapped_column(TS)
    resolved_by: Mapped[Optional[str]] = mapped_column(String(64))
    resolution: Mapped[Optional[str]] = mapped_column(Text)


class VictimPromise(Base):
    """The attendance time the caller was given (victim update is due when it will be missed)."""

    __tablename__ = "victim_promises"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    promised_at: Mapped[datetime] = mapped_column(TS)
    set_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    set_by: Mapped[str] = mapped_column(String(64))


class GradeSignoff(Base):
    """A G1/G2 downgrade waiting for (or decided by) a supervisor: both names recorded."""

    __tablename__ = "grade_signoffs"
    __table_args__ = (
        CheckConstraint("status IN ('pending','approved','rejected','withdrawn')", name="status"),
        CheckConstraint("to_grade > from_grade", name="is_downgrade"),
        CheckConstraint("length(reason) BETWEEN 1 AND 2000", name="reason"),
        CheckConstraint("decided_by IS NULL OR decided_by <> requested_by", name="second_person"),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided"),
        Index("uq_grade_signoffs_pending", "incident_id", unique=True, postgresql_where=text("status = 'pending'")),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    from_grade: Mapped[str] = mapped_column(String(2))
    to_grade: Mapped[str] = mapped_column(String(2))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_console: Mapped[Optional[str]] = mapped_column(String(40))
    requested_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    decided_by: Mapped[Optional[str]] = mapped_column(String(64))
    decided_at: Mapped[Optional[datetime]] = mapped_column(TS)
    decision_reason: Mapped[Optional[str]] = mapped_column(Text)
