"""Engines from plain libpq URLs (incl. ?host=/socket/dir and multi-host URLs)."""
from __future__ import annotations

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import QueuePool

from ..errors import Unavailable

# Fail fast when the server is gone: the console must say so within seconds, never hang.
CONNECT_KW = {"connect_timeout": 3, "keepalives": 1, "keepalives_idle": 5,
              "keepalives_interval": 2, "keepalives_count": 2}


def libpq_url(url: str) -> str:
    """Accept SQLAlchemy-style URLs too, but hand libpq its own form."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


def connect(url: str, *, autocommit: bool = False, **kw: object) -> psycopg.Connection:
    """A raw psycopg connection; connection failures become `Unavailable`."""
    try:
        return psycopg.connect(libpq_url(url), autocommit=autocommit, **{**CONNECT_KW, **kw})
    except psycopg.OperationalError as exc:
        raise Unavailable(f"The database cannot be reached ({_first_line(exc)}).") from exc


def make_engine(url: str, *, pool_size: int = 4) -> Engine:
    """SQLAlchemy engine over psycopg 3; the URL goes to libpq untouched (multi-host works)."""
    conninfo = libpq_url(url)

    def creator() -> psycopg.Connection:
        return psycopg.connect(conninfo, **CONNECT_KW)

    return create_engine("postgresql+psycopg://", creator=creator, poolclass=QueuePool,
                         pool_size=pool_size, max_overflow=8, pool_pre_ping=False,
                         pool_reset_on_return="rollback")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or ["no detail"])[0]
