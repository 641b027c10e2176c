"""The control room's other functions (issue 23; migrations 0016, 0017, 0019, 0028): reference database,
intelligence checks. Writes go through api functions; these classes describe the tables."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import (BigInteger, CheckConstraint, Computed, Date, ForeignKey, Identity, Index, Integer, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS


class RefDocument(Base):
    """A guidance document (policy, procedure, good practice); `version` is the published one."""

    __tablename__ = "ref_documents"
    __table_args__ = (
        CheckConstraint("kind IN ('policy', 'procedure', 'good_practice')", name="kind"),
        CheckConstraint("length(btrim(title)) BETWEEN 1 AND 200", name="title"),
        # 100 kB of guidance at most; no control characters (chr(2)/chr(3) mark search matches)
        CheckConstraint(r"length(body) BETWEEN 1 AND 100000 AND body !~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]'",
                        name="body"),
        CheckConstraint("length(btrim(owner)) BETWEEN 1 AND 120", name="owner"),
        CheckConstraint("version >= 1", name="version"),
        Index("ix_ref_documents_search", "search", postgresql_using="gin"),
        Index("ix_ref_documents_review_due", "review_due"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(120))
    review_due: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    demo: Mapped[bool] = mapped_column(server_default="false")
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    updated_by: Mapped[str] = mapped_column(String(64))
    search: Mapped[Optional[Any]] = mapped_column(TSVECTOR, Computed(
        "setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')", persisted=True))


class RefDocumentVersion(Base):
    """Every published version, append-only: who changed what, when and why."""

    __tablename__ = "ref_document_versions"
    __table_args__ = (CheckConstraint("length(btrim(change_note)) BETWEEN 1 AND 500", name="change_note"),)
    document_id: Mapped[int] = mapped_column(ForeignKey("ref_documents.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(120))
    review_due: Mapped[date] = mapped_column(Date)
    links: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    changed_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    changed_by: Mapped[str] = mapped_column(String(64))
    change_note: Mapped[str] = mapped_column(Text)


class RefDocumentLink(Base):
    """A document applies to an incident type or to an incident flag (exactly one of them)."""

    __tablename__ = "ref_document_links"
    __table_args__ = (
        CheckConstraint("(incident_type IS NULL) <> (flag IS NULL)", name="one_target"),
        CheckConstraint("flag IS NULL OR flag IN ('firearms', 'domestic_abuse', 'vulnerable_person', "
                        "'repeat_victim', 'missing_person')", name="flag"),
        Index("uq_ref_document_links_target", "document_id", text("coalesce(incident_type, '')"),
              text("coalesce(flag, '')"), unique=True),
        Index("ix_ref_document_links_incident_type", "incident_type"),
        Index("ix_ref_document_links_flag", "flag"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("ref_documents.id"))
    incident_type: Mapped[Optional[str]] = mapped_column(String(32))
    flag: Mapped[Optional[str]] = mapped_column(String(32))


class IntelCheck(Base):
    """One intelligence check: who asked (unit), about what, why, who ran it, what came back."""

    __tablename__ = "intel_checks"
    __table_args__ = (
        CheckConstraint("subject_kind IN ('person', 'vehicle', 'address')", name="subject_kind"),
        CheckConstraint("length(btrim(subject)) BETWEEN 1 AND 200", name="subject"),
        CheckConstraint("purpose IN ('stop_search', 'vehicle_stop', 'suspected_offence', 'safeguarding', "
                        "'incident_enquiry', 'warrant', 'missing_person', 'officer_safety')", name="purpose"),
        CheckConstraint("length(btrim(reason)) BETWEEN 3 AND 500", name="reason"),
        CheckConstraint("status IN ('requested', 'returned', 'relayed')", name="status"),
        CheckConstraint("(status = 'requested') = (ran_at IS NULL)", name="returned"),
        CheckConstraint("(status = 'relayed') = (relayed_at IS NOT NULL)", name="relayed"),
        Index("ix_intel_checks_requested_at", "requested_at"),
        Index("ix_intel_checks_requested_by", "requested_by", "requested_at"),
        Index("ix_intel_checks_incident_id", "incident_id", postgresql_where=text("incident_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    callsign: Mapped[str] = mapped_column(ForeignKey("units.callsign"))
    incident_id: Mapped[Optional[int]] = mapped_column(ForeignKey("incidents.id"))
    subject_kind: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), server_default="requested")
    room_code: Mapped[Optional[str]] = mapped_column(String(20))
    requested_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_console: Mapped[Optional[str]] = mapped_column(String(40))
    ran_at: Mapped[Optional[datetime]] = mapped_column(TS)
    ran_by: Mapped[Optional[str]] = mapped_column(String(64))
    source: Mapped[Optional[str]] = mapped_column(String(64))
    result_summary: Mapped[Optional[str]] = mapped_column(Text)
    result: Mapped[Optional[dict[str, Any]]] = mapped_column(JSONB)
    relayed_at: Mapped[Optional[datetime]] = mapped_column(TS)
    relayed_by: Mapped[Optional[str]] = mapped_column(String(64))
    relay_note: Mapped[Optional[str]] = mapped_column(Text)


class RecoveryOperator(Base):
    """A contracted recovery operator on an area's rota; `turn` orders the next offers."""

    __tablename__ = "recovery_operators"
    __table_args__ = (
        UniqueConstraint("area_code", "code", name="uq_recovery_operators_area_code"),
        CheckConstraint("contracted_minutes BETWEEN 1 AND 480", name="contracted_minutes"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    code: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(120))
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    phone: Mapped[Optional[str]] = mapped_column(String(40))
    contracted_minutes: Mapped[int] = mapped_column(Integer)
    rota_position: Mapped[int] = mapped_column(Integer)
    turn: Mapped[int] = mapped_column(BigInteger, server_default="0")
    active: Mapped[bool] = mapped_column(server_default="true")
    demo: Mapped[bool] = mapped_column(server_default="false")


class RecoveryJob(Base):
    """A vehicle to recover for an incident, with the operator it is with and its times."""

    __tablename__ = "recovery_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('offered', 'accepted', 'arrived', 'cleared', 'unfilled')", name="status"),
        CheckConstraint("length(btrim(vrm)) BETWEEN 1 AND 16", name="vrm"),
        CheckConstraint("eta_minutes IS NULL OR eta_minutes BETWEEN 1 AND 480", name="eta"),
        CheckConstraint("(accepted_at IS NULL OR accepted_at >= requested_at) AND (arrived_at IS NULL OR "
                        "arrived_at >= accepted_at) AND (cleared_at IS NULL OR cleared_at >= arrived_at)",
                        name="times"),
        Index("ix_recovery_jobs_incident_id", "incident_id"),
        Index("ix_recovery_jobs_operator_id", "operator_id", "requested_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    area_code: Mapped[str] = mapped_column(String(20))
    room_code: Mapped[Optional[str]] = mapped_column(String(20))
    vrm: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), server_default="offered")
    operator_id: Mapped[Optional[int]] = mapped_column(ForeignKey("recovery_operators.id"))
    requested_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    requested_by: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[Optional[datetime]] = mapped_column(TS)
    eta_minutes: Mapped[Optional[int]] = mapped_column(Integer)
    arrived_at: Mapped[Optional[datetime]] = mapped_column(TS)
    cleared_at: Mapped[Optional[datetime]] = mapped_column(TS)


class RecoveryOffer(Base):
    """Every offer made for a job and its outcome (accepted / skipped with the reason)."""

    __tablename__ = "recovery_offers"
    __table_args__ = (
        CheckConstraint("outcome IN ('pending', 'accepted', 'skipped')", name="outcome"),
        CheckConstraint("(outcome = 'skipped') = (skip_reason IS NOT NULL)", name="skip_reason"),
        Index("uq_recovery_offers_pending", "job_id", unique=True, postgresql_where=text("outcome = 'pending'")),
        Index("ix_recovery_offers_operator_id", "operator_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("recovery_jobs.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("recovery_operators.id"))
    offered_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    offered_by: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(10), server_default="pending")
    decided_at: Mapped[Optional[datetime]] = mapped_column(TS)
    decided_by: Mapped[Optional[str]] = mapped_column(String(64))
    skip_reason: Mapped[Optional[str]] = mapped_column(Text)


class WorkforcePlan(Base):
    """A week's forecast and staffing gap as a supervisor published it to the rooms."""

    __tablename__ = "workforce_plans"
    __table_args__ = (
        CheckConstraint("horizon IN ('long', 'medium', 'short', 'real_time')", name="horizon"),
        CheckConstraint("jsonb_typeof(summary) = 'object' AND octet_length(summary::text) < 200000", name="summary"),
        Index("ix_workforce_plans_week_start", "week_start", "line"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    line: Mapped[str] = mapped_column(String(32))
    horizon: Mapped[str] = mapped_column(String(12))
    week_start: Mapped[date] = mapped_column(Date)
    origin: Mapped[date] = mapped_column(Date)
    published_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    published_by: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB)
