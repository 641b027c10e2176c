"""Engines from plain libpq URLs (incl. ?host=/socket/dir and multi-host URLs)."""
from __future__ import annotations

import select

import psycopg
import sqlalchemy.exc as sa_exc
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from ..errors import Unavailable

# Fail fast when the server is gone: the console must say so within seconds, never hang.
# tcp_user_timeout (ms): a silently vanished server (cable, VLAN, dead VM) breaks a connection as
# soon as sent data stays unacknowledged that long, so the listener's 1 s probe notices in ~2.5 s.
CONNECT_KW = {"connect_timeout": 3, "keepalives": 1, "keepalives_idle": 5,
              "keepalives_interval": 2, "keepalives_count": 2, "tcp_user_timeout": 1500}


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

    engine = create_engine("postgresql+psycopg://", creator=creator, poolclass=QueuePool,
                           pool_size=pool_size, max_overflow=8, pool_pre_ping=False,
                           pool_reset_on_return="rollback")
    event.listen(engine, "checkout", _drop_if_server_hung_up)
    return engine


def _drop_if_server_hung_up(dbapi_conn: psycopg.Connection, record: object, proxy: object) -> None:
    """Replace a pooled connection the server has closed (stop, restart, failover) before use.

    A server that goes away writes a FATAL message and/or EOF to every idle connection, so an idle
    pooled connection with something to read is dead. A zero-timeout poll costs microseconds,
    where pool_pre_ping would add a round trip (+0.2 ms, ~20 %) to every write. The pool retries
    with a fresh connection, so the first write after the database returns succeeds.
    """
    try:
        poller = select.poll()  # poll, not select: no FD_SETSIZE limit in a busy GUI process
        poller.register(dbapi_conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        readable = poller.poll(0)
    except (OSError, ValueError, psycopg.Error) as exc:
        raise sa_exc.DisconnectionError("pooled connection is closed") from exc
    if readable:
        raise sa_exc.DisconnectionError("the server closed this pooled connection")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or ["no detail"])[0]
