"""Incidents and their append-only narrative log."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, CheckConstraint, Double, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS

CHANNELS = ("999", "999-text", "101", "switchboard", "direct", "alarm", "fire", "ambulance",
            "online", "sms", "email", "webchat", "fax", "internal")
STATUSES = ("open", "despatched", "at_scene", "closed")


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("grade IS NULL OR grade IN ('G1','G2','G3','G4')", name="grade"),
        CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="latlon"),
        CheckConstraint("length(summary) BETWEEN 1 AND 2000", name="summary_len"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint("major_kind IS NULL OR major_kind IN ('major','critical')", name="major_kind"),  # 0008
        Index("ix_incidents_open", "created_at", postgresql_where=text("status <> 'closed'")),
        Index("ix_incidents_area_open", "area_code", postgresql_where=text("status <> 'closed'")),
        Index("ix_incidents_caller_phone", "caller_phone", postgresql_where=text("caller_phone IS NOT NULL")),
        Index("ix_incidents_geo", text("point(lon, lat)"), postgresql_using="gist"),  # 0004
        Index("ix_incidents_geo_open", text("point(lon, lat)"), postgresql_using="gist",
              postgresql_where=text("status <> 'closed'")),
        Index("ix_incidents_deadline_open", "deadline_at", postgresql_where=text(
            "status <> 'closed' AND arrived_at IS NULL AND deadline_at IS NOT NULL")),
        Index("ix_incidents_under_command", "id", postgresql_where=text(  # 0008
            "status <> 'closed' AND (firearms OR major_kind IS NOT NULL)")),
        Index("ix_incidents_room_open", "room_code", postgresql_where=text("status <> 'closed'")),  # 0009
        Index("ix_incidents_uprn", "uprn", "created_at", postgresql_where=text("uprn IS NOT NULL")),  # 0024
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    urn: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    incident_type: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    lat: Mapped[float] = mapped_column(Double)
    lon: Mapped[float] = mapped_column(Double)
    address: Mapped[Optional[str]] = mapped_column(Text)
    uprn: Mapped[Optional[int]] = mapped_column(BigInteger)          # the property picked (0015)
    location_ref: Mapped[Optional[str]] = mapped_column(Text)        # or 'postcode:…' / 'street:…'

    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    room_code: Mapped[str] = mapped_column(ForeignKey("rooms.code"))
    grade: Mapped[Optional[str]] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    caller_name: Mapped[Optional[str]] = mapped_column(Text)
    caller_phone: Mapped[Optional[str]] = mapped_column(String(40))
    firearms: Mapped[bool] = mapped_column(server_default="false")
    domestic_abuse: Mapped[bool] = mapped_column(server_default="false")
    vulnerable_person: Mapped[bool] = mapped_column(server_default="false")
    repeat_victim: Mapped[bool] = mapped_column(server_default="false")
    missing_person: Mapped[bool] = mapped_column(server_default="false")
    version: Mapped[int] = mapped_column(server_default="1")
    created_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    updated_by: Mapped[str] = mapped_column(String(64))
    deadline_at: Mapped[Optional[datetime]] = mapped_column(TS)
    despatched_at: Mapped[Optional[datetime]] = mapped_column(TS)
    arrived_at: Mapped[Optional[datetime]] = mapped_column(TS)
    closed_at: Mapped[Optional[datetime]] = mapped_column(TS)
    closing_code: Mapped[Optional[str]] = mapped_column(String(32))
    closing_qualifier: Mapped[Optional[str]] = mapped_column(String(64))
    result: Mapped[Optional[str]] = mapped_column(Text)
    # Firearms command (see services/command/service.py): an ARV may be assigned to a firearms incident
    # only once an inspector's authorisation is recorded here (despatch checks it in SQL).
    firearms_declared_at: Mapped[Optional[datetime]] = mapped_column(TS)
    armed_authorised_at: Mapped[Optional[datetime]] = mapped_column(TS)
    armed_authorised_by: Mapped[Optional[str]] = mapped_column(String(64))
    major_kind: Mapped[Optional[str]] = mapped_column(String(16))


class IncidentLog(Base):
    """Append-only narrative; a trigger refuses UPDATE and DELETE."""

    __tablename__ = "incident_log"
    __table_args__ = (
        CheckConstraint("length(text) BETWEEN 1 AND 4000", name="text_len"),
        CheckConstraint("(kind = 'back_record') = (original_at IS NOT NULL)", name="ck_incident_log_back_record"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    username: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(32), server_default="note")
    text: Mapped[str] = mapped_column(Text)
    original_at: Mapped[Optional[datetime]] = mapped_column(TS)  # a back-record's time on paper (0014)


class UrnCounter(Base):
    """Per-day URN counter (row lock serialises numbering; the day is the force's local date)."""

    __tablename__ = "urn_counter"
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    n: Mapped[int] = mapped_column()
