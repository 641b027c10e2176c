"""Room presence and the history of areas changing hands (virtual room, business continuity)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS


class RoomPresence(Base):
    """The staffed state last announced for a room (flipped by console heartbeats)."""

    __tablename__ = "room_presence"
    room_code: Mapped[str] = mapped_column(ForeignKey("rooms.code"), primary_key=True)
    staffed: Mapped[bool] = mapped_column(default=False, server_default="false")
    changed_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class AreaTransfer(Base):
    """One area changing hands: a transfer, a take-over of all areas, or the hand-back."""

    __tablename__ = "area_transfers"
    __table_args__ = (CheckConstraint("kind IN ('transfer','take_over','hand_back')", name="kind"),)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now(), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    from_room: Mapped[str] = mapped_column(String(20))
    to_room: Mapped[str] = mapped_column(String(20))
    reason: Mapped[Optional[str]] = mapped_column(Text)
    username: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))
    incidents_moved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
