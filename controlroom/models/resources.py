"""Units (with AVL position) and Airwave talk groups."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ARRAY, BigInteger, CheckConstraint, Double, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS

UNIT_STATUSES = ("available", "at_station", "en_route", "at_scene", "transporting", "committed",
                 "refreshments", "off_duty", "emergency")  # emergency: officer's radio button (issue 20)
CAPABILITIES = ("IRV", "ARV", "RPU", "DOG", "PSU", "NPT", "CID", "PCSO")
TALK_GROUP_KINDS = ("primary", "incident", "hailing", "partner", "training")


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("status IN (" + ",".join(f"'{s}'" for s in UNIT_STATUSES) + ")", name="status"),
        Index("ix_units_incident", "incident_id", postgresql_where=text("incident_id IS NOT NULL")),  # 0006
    )
    callsign: Mapped[str] = mapped_column(String(16), primary_key=True)
    capabilities: Mapped[list[str]] = mapped_column(ARRAY(String(8)))
    home_area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    area_code: Mapped[Optional[str]] = mapped_column(ForeignKey("areas.code"))
    status: Mapped[str] = mapped_column(String(16), server_default="available")
    lat: Mapped[Optional[float]] = mapped_column(Double)
    lon: Mapped[Optional[float]] = mapped_column(Double)
    position_at: Mapped[Optional[datetime]] = mapped_column(TS)
    incident_id: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("incidents.id"))
    talk_group: Mapped[Optional[str]] = mapped_column(
        String(40), ForeignKey("talk_groups.name", onupdate="CASCADE"))  # 0007
    status_at: Mapped[Optional[datetime]] = mapped_column(TS)


class TalkGroup(Base):
    __tablename__ = "talk_groups"
    __table_args__ = (
        CheckConstraint("kind IN (" + ",".join(f"'{k}'" for k in TALK_GROUP_KINDS) + ")", name="kind"),
        CheckConstraint("incident_id IS NULL OR kind IN ('incident','training')", name="allocatable"),
        Index("ix_talk_groups_free", "kind", "name", postgresql_where=text("incident_id IS NULL")),  # 0007
        Index("ix_talk_groups_incident", "incident_id", postgresql_where=text("incident_id IS NOT NULL")),
    )
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    area_code: Mapped[Optional[str]] = mapped_column(ForeignKey("areas.code"))
    room_code: Mapped[Optional[str]] = mapped_column(ForeignKey("rooms.code"))
    description: Mapped[Optional[str]] = mapped_column(Text)
    incident_id: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("incidents.id"))
    allocated_at: Mapped[Optional[datetime]] = mapped_column(TS)


class SimLease(Base):
    """Which console's simulator runs for this database (migration 0025); written via api only."""

    __tablename__ = "sim_leases"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    username: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(64))
    taken_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(TS)
