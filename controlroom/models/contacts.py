"""Contacts (the multi-channel virtual queue) and their hourly demand rollup."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import BigInteger, CheckConstraint, Double, ForeignKey, Index, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS
from .incidents import CHANNELS, _in

# queued/callback: waiting in the virtual queue; taken: held by one operator; answered (phone) or
# assessed (digital, THRIVE); abandoned: caller gone before answer; resolved / to_incident: done.
CONTACT_STATES = ("queued", "callback", "taken", "answered", "abandoned", "assessed", "resolved",
                  "to_incident")


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("state", CONTACT_STATES), name="state"),
        CheckConstraint("priority BETWEEN 1 AND 4 AND base_priority BETWEEN 1 AND 4", name="priority"),
        CheckConstraint("state NOT IN ('queued','callback') OR taken_by IS NULL", name="queued_unheld"),
        CheckConstraint("state IN ('queued','callback','abandoned') OR taken_by IS NOT NULL",
                        name="taken_has_holder"),
        CheckConstraint("state <> 'to_incident' OR incident_id IS NOT NULL", name="incident_link"),
        CheckConstraint("state NOT IN ('resolved','to_incident') OR resolved_at IS NOT NULL",
                        name="resolved_at"),
        CheckConstraint("NOT flagged_emergency OR priority = 1", name="flag_priority"),
        CheckConstraint("NOT needs_review OR flagged_emergency", name="review_flagged"),
        CheckConstraint("review_outcome IS NULL OR review_outcome IN ('confirmed','dismissed')",
                        name="review_outcome"),
        CheckConstraint("length(text) <= 4000 AND length(from_addr) <= 200", name="len"),
        Index("ix_contacts_queue", "priority", "queue_time", "id",
              postgresql_where=text("state IN ('queued','callback')")),
        Index("ix_contacts_active", "id", postgresql_where=text("state IN ('taken','answered','assessed')")),
        Index("ix_contacts_review", "id", postgresql_where=text("needs_review")),
        Index("ix_contacts_received_at", "received_at"),
        Index("ix_contacts_from_key", "from_key", "received_at"),
        # 0014: reclaim_orphans joins held contacts to their console; banding aggregates by channel
        Index("ix_contacts_held_console", "taken_console",
              postgresql_where=text("state IN ('taken','answered','assessed')")),
        Index("ix_contacts_channel_received", "channel", "received_at",
              postgresql_include=["answered_at", "abandoned_at"]),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    base_priority: Mapped[int] = mapped_column(SmallInteger)
    priority: Mapped[int] = mapped_column(SmallInteger)
    state: Mapped[str] = mapped_column(String(16), server_default="queued")
    from_addr: Mapped[str] = mapped_column(Text)
    from_key: Mapped[str] = mapped_column(Text)
    text: Mapped[Optional[str]] = mapped_column(Text)
    repeat_count: Mapped[int] = mapped_column(server_default="0")
    received_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    queue_time: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    taken_at: Mapped[Optional[datetime]] = mapped_column(TS)
    taken_by: Mapped[Optional[str]] = mapped_column(String(64))
    taken_console: Mapped[Optional[str]] = mapped_column(String(40))
    answered_at: Mapped[Optional[datetime]] = mapped_column(TS)
    abandoned_at: Mapped[Optional[datetime]] = mapped_column(TS)
    assessed_at: Mapped[Optional[datetime]] = mapped_column(TS)
    thrive: Mapped[Optional[dict[str, Any]]] = mapped_column(JSONB)
    callback_count: Mapped[int] = mapped_column(server_default="0")
    callback_at: Mapped[Optional[datetime]] = mapped_column(TS)
    resolved_at: Mapped[Optional[datetime]] = mapped_column(TS)
    resolution: Mapped[Optional[str]] = mapped_column(Text)
    incident_id: Mapped[Optional[int]] = mapped_column(ForeignKey("incidents.id"))
    flagged_emergency: Mapped[bool] = mapped_column(server_default="false")
    needs_review: Mapped[bool] = mapped_column(server_default="false")
    flag_reason: Mapped[Optional[str]] = mapped_column(Text)
    review_outcome: Mapped[Optional[str]] = mapped_column(String(12))
    reviewed_by: Mapped[Optional[str]] = mapped_column(String(64))
    reviewed_at: Mapped[Optional[datetime]] = mapped_column(TS)
    review_reason: Mapped[Optional[str]] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    # reclaim of work from a dead console (0014): when, from which console and operator, how often
    reclaimed_at: Mapped[Optional[datetime]] = mapped_column(TS)
    reclaimed_from: Mapped[Optional[str]] = mapped_column(String(40))
    reclaimed_user: Mapped[Optional[str]] = mapped_column(String(64))
    reclaim_count: Mapped[int] = mapped_column(server_default="0")


class ContactHourly(Base):
    """Per hour and channel counts, kept by trigger (and rebuilt by the demand generator)."""

    __tablename__ = "contacts_hourly"
    __table_args__ = (Index("ix_contacts_hourly_channel", "channel", "hour"),)
    hour: Mapped[datetime] = mapped_column(TS, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    received: Mapped[int] = mapped_column(server_default="0")
    answered: Mapped[int] = mapped_column(server_default="0")
    answer_wait_s: Mapped[float] = mapped_column(Double, server_default="0")
    abandoned: Mapped[int] = mapped_column(server_default="0")
    callbacks: Mapped[int] = mapped_column(server_default="0")
    assessed: Mapped[int] = mapped_column(server_default="0")
    resolved: Mapped[int] = mapped_column(server_default="0")
    to_incident: Mapped[int] = mapped_column(server_default="0")
    flagged: Mapped[int] = mapped_column(server_default="0")
