"""Command of firearms and major/critical incidents (migration 0008). All four tables are
append-only: a trigger refuses UPDATE, DELETE and TRUNCATE, because they are the command record."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import (BigInteger, CheckConstraint, ForeignKey, Identity, Index, SmallInteger, String,
                        Text, UniqueConstraint, func)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS

COMMAND_ROLES = ("ITFC", "TFC", "SFC", "OFC", "GOLD", "SILVER", "BRONZE")


class CommandRole(Base):
    """One handover: `holder` takes `role` from `from_holder`; the row with the highest n is current.
    holder NULL means the role was stood down (e.g. ITFC after handing over to a TFC)."""

    __tablename__ = "command_roles"
    __table_args__ = (
        CheckConstraint("role IN (" + ",".join(f"'{r}'" for r in COMMAND_ROLES) + ")", name="role"),
        CheckConstraint("n >= 1", name="n"),
        UniqueConstraint("incident_id", "role", "n", name="uq_command_roles_incident_role_n"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    role: Mapped[str] = mapped_column(String(8))
    n: Mapped[int] = mapped_column()
    holder: Mapped[Optional[str]] = mapped_column(String(120))
    accredited: Mapped[bool] = mapped_column(server_default="false")
    from_holder: Mapped[Optional[str]] = mapped_column(String(120))
    reason: Mapped[Optional[str]] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    by: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))


class ArmedAuthorisation(Base):
    """The inspector's recorded authorisation; incidents.armed_authorised_at mirrors it for despatch."""

    __tablename__ = "armed_authorisations"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    threat_assessment: Mapped[str] = mapped_column(Text)
    working_strategy: Mapped[str] = mapped_column(Text)
    rationale: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    by: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))


class DecisionLogEntry(Base):
    """National Decision Model decision log: stage 1-5, append-only."""

    __tablename__ = "decision_log"
    __table_args__ = (
        CheckConstraint("stage BETWEEN 1 AND 5", name="stage"),
        Index("ix_decision_log_incident_id", "incident_id", "id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    stage: Mapped[int] = mapped_column(SmallInteger)
    decision: Mapped[str] = mapped_column(Text)
    rationale: Mapped[str] = mapped_column(Text)
    options_considered: Mapped[Optional[str]] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    by: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))


class MethaneReport(Base):
    """JESIP METHANE report; each save is a new version, unique per incident."""

    __tablename__ = "methane_reports"
    __table_args__ = (
        CheckConstraint("version >= 1", name="version"),
        UniqueConstraint("incident_id", "version", name="uq_methane_reports_incident_version"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    version: Mapped[int] = mapped_column()
    major_incident: Mapped[Optional[str]] = mapped_column(Text)
    exact_location: Mapped[Optional[str]] = mapped_column(Text)
    incident_type: Mapped[Optional[str]] = mapped_column(Text)
    hazards: Mapped[Optional[str]] = mapped_column(Text)
    access: Mapped[Optional[str]] = mapped_column(Text)
    casualties: Mapped[Optional[str]] = mapped_column(Text)
    emergency_services: Mapped[Optional[str]] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    by: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))
