"""Despatch history: who went to which incident when, and every unit status change."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS


class Assignment(Base):
    """One unit's attendance at one incident; open while cleared_at is null (one per unit)."""

    __tablename__ = "assignments"
    __table_args__ = (
        CheckConstraint("cleared_at IS NULL OR cleared_at >= assigned_at", name="cleared_after"),
        Index("uq_assignments_open_callsign", "callsign", unique=True,
              postgresql_where=text("cleared_at IS NULL")),
        Index("ix_assignments_incident", "incident_id"),
        Index("ix_assignments_callsign_at", "callsign", "assigned_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("incidents.id"))
    callsign: Mapped[str] = mapped_column(String(16), ForeignKey("units.callsign"))
    assigned_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    assigned_by: Mapped[str] = mapped_column(String(64))
    arrived_at: Mapped[Optional[datetime]] = mapped_column(TS)
    cleared_at: Mapped[Optional[datetime]] = mapped_column(TS)
    cleared_by: Mapped[Optional[str]] = mapped_column(String(64))
    diverted_from: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("incidents.id"))
    result: Mapped[Optional[str]] = mapped_column(Text)


class UnitStatusLog(Base):
    """Append-only history of unit statuses (a trigger refuses UPDATE/DELETE)."""

    __tablename__ = "unit_status_log"
    __table_args__ = (Index("ix_unit_status_log_callsign_at", "callsign", "at"),)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    callsign: Mapped[str] = mapped_column(String(16), ForeignKey("units.callsign"))
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    status: Mapped[str] = mapped_column(String(16))
    previous_status: Mapped[Optional[str]] = mapped_column(String(16))
    incident_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    note: Mapped[Optional[str]] = mapped_column(Text)
    username: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))


class DespatchPolicy(Base):
    """Despatch rules the api functions read (cr_policy_list; migration 0022)."""

    __tablename__ = "despatch_policy"
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB)
