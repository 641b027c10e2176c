"""Partner references of imported incidents and auditors' QA reviews (issue 12; migration 0012)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import BigInteger, CheckConstraint, Double, ForeignKey, Identity, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS


class IncidentPartnerRef(Base):
    """An incident received from a partner agency: their reference and the EIDO document as received."""

    __tablename__ = "incident_partner_refs"
    __table_args__ = (
        Index("uq_incident_partner_refs_agency_reference", "agency", "reference", unique=True),
        # one row per incident and sending agency (migration 0021); NULL incident: not ours to work
        Index("uq_incident_partner_refs_incident_agency", "incident_id", "agency", unique=True,
              postgresql_where=text("incident_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_id: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("incidents.id"))
    agency: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(200))
    tracking_id: Mapped[str] = mapped_column(String(400))
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    imported_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    imported_by: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))
    sent_at: Mapped[Optional[datetime]] = mapped_column(TS)
    summary: Mapped[Optional[str]] = mapped_column(Text)
    incident_type_text: Mapped[Optional[str]] = mapped_column(Text)
    address: Mapped[Optional[str]] = mapped_column(Text)
    lat: Mapped[Optional[float]] = mapped_column(Double)
    lon: Mapped[Optional[float]] = mapped_column(Double)
    caller_name: Mapped[Optional[str]] = mapped_column(Text)
    caller_phone: Mapped[Optional[str]] = mapped_column(String(40))
    urls: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")
    log: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")


class QaReview(Base):
    """An auditor's quality review of a sampled closed incident (append-only)."""

    __tablename__ = "qa_reviews"
    __table_args__ = (
        CheckConstraint("outcome IN ('compliant','advice','non_compliant')", name="outcome"),
        CheckConstraint("length(findings) BETWEEN 1 AND 4000", name="findings_len"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    incident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("incidents.id"), index=True)
    sample_percent: Mapped[Optional[float]] = mapped_column(Double)
    checklist: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    outcome: Mapped[str] = mapped_column(String(16))
    findings: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    by: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))
