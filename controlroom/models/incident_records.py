"""THRIVE assessments, incident links, recorded SLA breaches and the gazetteer (migration 0004)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import (BigInteger, CheckConstraint, Double, ForeignKey, Index, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy import Computed
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS


class IncidentThrive(Base):
    """One THRIVE assessment; a reassessment is a new row with the next version (never edited)."""

    __tablename__ = "incident_thrive"
    __table_args__ = (
        UniqueConstraint("incident_id", "version"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint("risk_level IS NULL OR risk_level IN ('high','medium','low')", name="risk_level"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    version: Mapped[int] = mapped_column()
    threat: Mapped[str] = mapped_column(Text)
    harm: Mapped[str] = mapped_column(Text)
    risk: Mapped[str] = mapped_column(Text)
    investigation: Mapped[str] = mapped_column(Text)
    vulnerability: Mapped[str] = mapped_column(Text)
    engagement: Mapped[str] = mapped_column(Text)
    risk_level: Mapped[Optional[str]] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    username: Mapped[str] = mapped_column(String(64))
    console_id: Mapped[Optional[str]] = mapped_column(String(40))


class IncidentLink(Base):
    """Duplicate/related pair, stored once with a_id < b_id."""

    __tablename__ = "incident_links"
    __table_args__ = (
        UniqueConstraint("a_id", "b_id"),
        CheckConstraint("a_id < b_id", name="ordered"),
        CheckConstraint("kind IN ('duplicate','related')", name="kind"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    a_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    b_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), server_default="related")
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    username: Mapped[str] = mapped_column(String(64))


class IncidentBreach(Base):
    """A missed grade target, recorded once per (incident, deadline) by whichever console noticed."""

    __tablename__ = "incident_breaches"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    deadline_at: Mapped[datetime] = mapped_column(TS, primary_key=True)
    grade: Mapped[Optional[str]] = mapped_column(String(2))
    recorded_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    recorded_by: Mapped[str] = mapped_column(String(64))


class GazetteerPlace(Base):
    """A searchable place name (pg_trgm GIN index on name: typo-tolerant suggestions)."""

    __tablename__ = "gazetteer"
    __table_args__ = (
        CheckConstraint("kind IN ('place','junction','landmark','street')", name="kind"),
        Index("ix_gazetteer_name_trgm", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}),
        # migration 0024: full-text search, prefix search, one row per imported source reference
        Index("ix_gazetteer_search", "search", postgresql_using="gin"),
        Index("ux_gazetteer_source_ref", "source", "ref", unique=True,
              postgresql_where=text("ref IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    lat: Mapped[float] = mapped_column(Double)
    lon: Mapped[float] = mapped_column(Double)
    area_code: Mapped[Optional[str]] = mapped_column(String(20))
    county: Mapped[Optional[str]] = mapped_column(Text)
    # migration 0015: what a force's own files add (OS Open Names streets, AddressBase streets)
    town: Mapped[Optional[str]] = mapped_column(Text)
    postcode: Mapped[Optional[str]] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, server_default="demo")
    ref: Mapped[Optional[str]] = mapped_column(Text)
    search: Mapped[Optional[Any]] = mapped_column(TSVECTOR, Computed(
        "to_tsvector('simple', name || ' ' || coalesce(town, '') || ' ' || coalesce(postcode, ''))", persisted=True))


# prefix search on the lower-cased name (0024); declared here as it needs the column object
Index("ix_gazetteer_name_prefix", func.lower(GazetteerPlace.__table__.c.name).label("name_lower"),
      postgresql_ops={"name_lower": "text_pattern_ops"})
