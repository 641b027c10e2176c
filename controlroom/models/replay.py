"""Baseline snapshots the replay starts from (written by cr_replay_baseline(), migration 0013)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS


class ReplaySnapshot(Base):
    """The whole replayable state of the virtual room at one event seq."""

    __tablename__ = "replay_snapshots"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    taken_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    kind: Mapped[str] = mapped_column(String(16), server_default="baseline")
    state: Mapped[dict[str, Any]] = mapped_column(JSONB)
