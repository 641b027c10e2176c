"""Training rooms: where each unit stood when the training database was seeded (reset target)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Double, String, func
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS


class TrainingUnitBaseline(Base):
    __tablename__ = "training_unit_baseline"
    callsign: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    area_code: Mapped[Optional[str]] = mapped_column(String(20))
    lat: Mapped[Optional[float]] = mapped_column(Double)
    lon: Mapped[Optional[float]] = mapped_column(Double)
    talk_group: Mapped[Optional[str]] = mapped_column(String(40))
    saved_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
