"""The event log (one path for every console) and the hash-chained audit trail."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS, PGName


class Event(Base):
    """Appended only through cr_emit(), which serialises seq allocation so commit order = seq order."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_unit_position", "entity_id", "seq",
                            postgresql_where=text("kind = 'unit.position'")),)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now(), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    entity_id: Mapped[Optional[str]] = mapped_column(String(64))
    room_code: Mapped[Optional[str]] = mapped_column(String(20))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))
    username: Mapped[Optional[str]] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class AuditLog(Base):
    """Append-only, SHA-256 chained: hash = sha256(canonical row text | prev_hash)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now(), index=True)
    username: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    role: Mapped[Optional[str]] = mapped_column(String(20))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))
    room_code: Mapped[Optional[str]] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16), server_default="ok")
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class EventHead(Base):
    """The one serial point (migration 0015): seq and audit id allocation under this row's lock."""

    __tablename__ = "event_head"
    __table_args__ = (CheckConstraint("one", name="one"),)
    one: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    seq: Mapped[int] = mapped_column(BigInteger)
    audit_id: Mapped[int] = mapped_column(BigInteger)
    audit_hash: Mapped[str] = mapped_column(Text)


class CrRequest(Base):
    """Outcome of a request id, so a retried call is answered, not done twice (migration 0033)."""

    __tablename__ = "cr_requests"
    request_id: Mapped[Any] = mapped_column(UUID, primary_key=True)
    username: Mapped[str] = mapped_column(PGName, server_default=text("SESSION_USER"))
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    result: Mapped[Optional[dict[str, Any]]] = mapped_column(JSONB)
