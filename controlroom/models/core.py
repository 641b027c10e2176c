"""Rooms, areas, users, consoles and the database's own mode row."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Double, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import INET, JSONB, TIMESTAMP, base as pg_base
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.types import TypeDecorator, UserDefinedType
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

TS = TIMESTAMP(timezone=True)


class XID8(UserDefinedType[Any]):
    """PostgreSQL's 64-bit transaction id (pg_current_xact_id()); SQLAlchemy has no type for it."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "xid8"


class PGName(TypeDecorator[str]):
    """PostgreSQL's `name` (identifiers, session_user): a String to SQLAlchemy and Alembic (which
    reflect `name` as String), `name` in DDL."""

    impl = String
    cache_ok = True


@compiles(PGName, "postgresql")
def _pg_name_ddl(type_: PGName, compiler: Any, **kw: Any) -> str:
    return "name"


class PGPolygon(UserDefinedType[Any]):
    """PostgreSQL's built-in `polygon` (area outlines for the database's point-in-area check)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "polygon"


class PGBox(UserDefinedType[Any]):
    """PostgreSQL's built-in `box` (a ring's bounding box)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "box"


# so that reflection (Alembic's compare, `alembic check`) knows them instead of warning
pg_base.ischema_names.setdefault("xid8", XID8)
pg_base.ischema_names.setdefault("polygon", PGPolygon)
pg_base.ischema_names.setdefault("box", PGBox)


class Meta(Base):
    """Key/value facts about this database; `mode` is 'live' or 'training'."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Room(Base):
    __tablename__ = "rooms"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    site: Mapped[str] = mapped_column(Text)


class Area(Base):
    """A BCU / policing area; `room_code` is the room that owns it now, `home_room_code` normally."""

    __tablename__ = "areas"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    room_code: Mapped[str] = mapped_column(ForeignKey("rooms.code"))
    home_room_code: Mapped[str] = mapped_column(ForeignKey("rooms.code"))
    geojson: Mapped[dict[str, Any]] = mapped_column(JSONB)


class AreaRing(Base):
    """One ring of an area's geometry (ring 0 a part's outline, others its holes), kept from
    `areas.geojson` by a trigger (migration 0041) for `cr_areas_at(lat, lon)`."""

    __tablename__ = "area_rings"
    area_code: Mapped[str] = mapped_column(String(20), ForeignKey("areas.code", ondelete="CASCADE"),
                                           primary_key=True)
    part: Mapped[int] = mapped_column(primary_key=True)
    ring: Mapped[int] = mapped_column(primary_key=True)
    outline: Mapped[Any] = mapped_column(PGPolygon())
    bbox: Mapped[Any] = mapped_column(PGBox())
    area_size: Mapped[float] = mapped_column(Double)


class User(Base):
    """The directory: who may work in this database's rooms. Passwords and job roles live in
    PostgreSQL (login roles, job-group membership: cr_job_role), never in this table."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    home_room_code: Mapped[Optional[str]] = mapped_column(ForeignKey("rooms.code"))


class Console(Base):
    """An operator position; `last_seen` is its heartbeat (presence and staffed rooms)."""

    __tablename__ = "consoles"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    room_code: Mapped[Optional[str]] = mapped_column(ForeignKey("rooms.code"))
    username: Mapped[Optional[str]] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    last_seen: Mapped[datetime] = mapped_column(TS, server_default=func.now())
    client_addr: Mapped[Optional[str]] = mapped_column(INET)  # as the server saw it (inet_client_addr)
    signed_out_at: Mapped[Optional[datetime]] = mapped_column(TS)  # null while signed in (0009)

    __table_args__ = (Index("ix_consoles_room_last_seen", "room_code", "last_seen"),)


class Policy(Base):
    """Force policy values the api functions read (cr_policy; migration 0035)."""

    __tablename__ = "policy"
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
