"""The force's own geography (migration 0015): UPRN addresses, postcodes, config, road graph.

Written only by the importers run as the schema owner (`python -m controlroom.geo import …`);
consoles read them.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Computed, Double, ForeignKey, Index, REAL as Real,
                        SmallInteger, String, Text, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .core import TS


class Address(Base):
    """One addressable property; postcode_key and street_key are generated columns."""

    __tablename__ = "addresses"
    __table_args__ = (
        CheckConstraint("lat BETWEEN -90 AND 90", name="lat"),
        CheckConstraint("lon BETWEEN -180 AND 180", name="lon"),
        Index("ix_addresses_postcode", "postcode_key"),
        Index("ix_addresses_street_number", "street_key", "building_number"),
        Index("ix_addresses_geo", text("point(lon, lat)"), postgresql_using="gist"),
        Index("ix_addresses_building_fts", text("to_tsvector('simple', building_name)"),  # 0031
              postgresql_using="gin", postgresql_where=text("building_name IS NOT NULL")),
    )
    uprn: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    organisation: Mapped[Optional[str]] = mapped_column(Text)
    sub_building: Mapped[Optional[str]] = mapped_column(Text)
    building_name: Mapped[Optional[str]] = mapped_column(Text)
    building_number: Mapped[Optional[str]] = mapped_column(Text)
    street: Mapped[Optional[str]] = mapped_column(Text)
    locality: Mapped[Optional[str]] = mapped_column(Text)
    town: Mapped[Optional[str]] = mapped_column(Text)
    postcode: Mapped[Optional[str]] = mapped_column(Text)
    postcode_key: Mapped[Optional[str]] = mapped_column(Text, Computed(
        "upper(replace(postcode, ' ', ''))", persisted=True))
    street_key: Mapped[Optional[str]] = mapped_column(Text, Computed(
        "lower(street) || '|' || lower(coalesce(town, ''))", persisted=True))
    label: Mapped[str] = mapped_column(Text)
    lat: Mapped[float] = mapped_column(Double)
    lon: Mapped[float] = mapped_column(Double)
    area_code: Mapped[Optional[str]] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())


class Postcode(Base):
    __tablename__ = "postcodes"
    __table_args__ = (Index("ix_postcodes_prefix", "postcode_key",
                                        postgresql_ops={"postcode_key": "text_pattern_ops"}),)
    postcode_key: Mapped[str] = mapped_column(Text, primary_key=True)
    postcode: Mapped[str] = mapped_column(Text)
    lat: Mapped[float] = mapped_column(Double)
    lon: Mapped[float] = mapped_column(Double)
    area_code: Mapped[Optional[str]] = mapped_column(String(20))
    quality: Mapped[Optional[int]] = mapped_column(SmallInteger)
    source: Mapped[str] = mapped_column(Text)


class GeoConfig(Base):
    """Force-wide geography settings (`base_map`, `road_network`), one JSON value per key."""

    __tablename__ = "geo_config"
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    updated_by: Mapped[str] = mapped_column(Text, server_default=text("SESSION_USER"))


class RoadNode(Base):
    __tablename__ = "road_nodes"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    lat: Mapped[float] = mapped_column(Double)
    lon: Mapped[float] = mapped_column(Double)


class RoadEdge(Base):
    __tablename__ = "road_edges"
    __table_args__ = (CheckConstraint("length_m >= 0", name="length_m"),
                      CheckConstraint("speed_kph > 0", name="speed_kph"))
    source: Mapped[int] = mapped_column(ForeignKey("road_nodes.id"), primary_key=True)
    target: Mapped[int] = mapped_column(ForeignKey("road_nodes.id"), primary_key=True)
    length_m: Mapped[float] = mapped_column(Real)
    speed_kph: Mapped[float] = mapped_column(Real)
    oneway: Mapped[bool] = mapped_column(Boolean, server_default="false")
    road_class: Mapped[Optional[str]] = mapped_column(Text)
