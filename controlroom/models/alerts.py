"""Officer-safety alerts and their policy tables (issue 20; migrations 0018, 0020, 0037).

Written only by api functions and the triggers on events/units; consoles read them."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import ARRAY, BigInteger, CheckConstraint, Double, ForeignKey, Identity, Index, Integer, \
    SmallInteger, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS, XID8


class AlertPolicy(Base):
    """Per alert kind: who acknowledges it and the escalation ladder (levels, seconds)."""

    __tablename__ = "alert_policy"
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    label: Mapped[str] = mapped_column(Text)
    ack_group: Mapped[str] = mapped_column(Text)
    levels: Mapped[list[str]] = mapped_column(ARRAY(Text))
    escalate_after_s: Mapped[list[int]] = mapped_column(ARRAY(Integer))


class WelfarePolicy(Base):
    """Welfare-check intervals: the first row (by position) matching capability and incident type."""

    __tablename__ = "welfare_policy"
    __table_args__ = (CheckConstraint("minutes > 0", name="minutes"),)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    capability: Mapped[str] = mapped_column(Text)
    incident_type: Mapped[str] = mapped_column(Text)
    minutes: Mapped[int] = mapped_column(Integer)


class WelfareSingleCrewed(Base):
    """Capabilities that are single-crewed (welfare checks apply)."""

    __tablename__ = "welfare_single_crewed"
    capability: Mapped[str] = mapped_column(Text, primary_key=True)


class Alert(Base):
    """One alert; at most one open (not cleared) per kind and subject."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint("state IN ('raised','acknowledged','cleared')", name="state"),
        CheckConstraint("(acknowledged_at IS NULL) = (acknowledged_by IS NULL)", name="acknowledged"),
        CheckConstraint("(state = 'cleared') = (cleared_at IS NOT NULL)", name="cleared"),
        Index("ux_alerts_open_subject", "kind", "subject", unique=True,
              postgresql_where=text("state <> 'cleared'")),
        Index("ix_alerts_open", "raised_at", postgresql_where=text("state <> 'cleared'")),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, ForeignKey("alert_policy.kind"))
    state: Mapped[str] = mapped_column(Text, server_default="raised")
    level: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    subject: Mapped[str] = mapped_column(Text)  # callsign, incident id or request id
    room_code: Mapped[Optional[str]] = mapped_column(Text)
    area_code: Mapped[Optional[str]] = mapped_column(Text)
    incident_id: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("incidents.id"))
    callsign: Mapped[Optional[str]] = mapped_column(Text)
    talk_group: Mapped[Optional[str]] = mapped_column(Text)
    lat: Mapped[Optional[float]] = mapped_column(Double)
    lon: Mapped[Optional[float]] = mapped_column(Double)
    title: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    source: Mapped[Optional[str]] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    raised_by: Mapped[Optional[str]] = mapped_column(Text)
    escalated_at: Mapped[Optional[datetime]] = mapped_column(TS)
    acknowledged_at: Mapped[Optional[datetime]] = mapped_column(TS)
    acknowledged_by: Mapped[Optional[str]] = mapped_column(Text)
    cleared_at: Mapped[Optional[datetime]] = mapped_column(TS)
    cleared_by: Mapped[Optional[str]] = mapped_column(Text)
    result: Mapped[Optional[str]] = mapped_column(Text)
    result_units: Mapped[Optional[list[str]]] = mapped_column(ARRAY(Text))
    prev_status: Mapped[Optional[str]] = mapped_column(Text)
    cleared_xid: Mapped[Optional[Any]] = mapped_column(XID8)  # the clearing transaction (not shown)
