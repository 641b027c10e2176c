"""Talk-group allocation history, patches and the radio log (issue 7; migration 0007)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS


class TalkGroupAllocation(Base):
    """One allocation of a pool group to an incident; open while `released_at` is null."""

    __tablename__ = "talk_group_allocations"
    __table_args__ = (
        Index("uq_talk_group_allocations_open", "talk_group", unique=True,
              postgresql_where=text("released_at IS NULL")),
        Index("ix_talk_group_allocations_incident", "incident_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    talk_group: Mapped[str] = mapped_column(ForeignKey("talk_groups.name"))
    incident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("incidents.id"))
    allocated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    allocated_by: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))
    released_at: Mapped[Optional[datetime]] = mapped_column(TS)
    released_by: Mapped[Optional[str]] = mapped_column(String(64))
    release_reason: Mapped[Optional[str]] = mapped_column(String(32))


class TalkGroupPatch(Base):
    """A partner or hailing group linked to an incident group; open while `unpatched_at` is null."""

    __tablename__ = "talk_group_patches"
    __table_args__ = (
        CheckConstraint("incident_group <> other_group", name="distinct_groups"),
        Index("uq_talk_group_patches_open", "other_group", unique=True,
              postgresql_where=text("unpatched_at IS NULL")),
        Index("ix_talk_group_patches_incident_group", "incident_group",
              postgresql_where=text("unpatched_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_group: Mapped[str] = mapped_column(ForeignKey("talk_groups.name"))
    other_group: Mapped[str] = mapped_column(ForeignKey("talk_groups.name"))
    incident_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("incidents.id"))
    patched_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    patched_by: Mapped[str] = mapped_column(String(64))
    unpatched_at: Mapped[Optional[datetime]] = mapped_column(TS)
    unpatched_by: Mapped[Optional[str]] = mapped_column(String(64))


class TalkGroupTransmission(Base):
    """Radio log entry on a talk group (append-only), attached to its incident if allocated."""

    __tablename__ = "talkgroup_transmissions"
    __table_args__ = (
        CheckConstraint("length(text) BETWEEN 1 AND 2000", name="text_len"),
        Index("ix_talkgroup_transmissions_group", "talk_group", "id"),
        Index("ix_talkgroup_transmissions_incident", "incident_id",
              postgresql_where=text("incident_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    talk_group: Mapped[str] = mapped_column(ForeignKey("talk_groups.name"))
    incident_id: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("incidents.id"))
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    username: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))
    callsign: Mapped[Optional[str]] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
