"""Engines from plain libpq URLs (incl. ?host=/socket/dir and multi-host URLs)."""
from __future__ import annotations

import ipaddress
import logging
import select
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
import sqlalchemy.exc as sa_exc
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from ..kernel.errors import Unavailable

log = logging.getLogger(__name__)

# Fail fast when the server is gone: the console must say so within seconds, never hang.
# tcp_user_timeout (ms): a silently vanished server (cable, VLAN, dead VM) breaks a connection as
# soon as sent data stays unacknowledged that long, so the listener's 1 s probe notices in ~2.5 s.
CONNECT_KW: dict[str, Any] = {"connect_timeout": 3, "keepalives": 1, "keepalives_idle": 5,
              "keepalives_interval": 2, "keepalives_count": 2, "tcp_user_timeout": 1500}


def libpq_url(url: str) -> str:
    """Accept SQLAlchemy-style URLs too, but hand libpq its own form."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
WEAK_SSLMODES = {"disable", "allow", "prefer", "require"}  # no server-certificate check
_warned: set[str] = set()


def _is_local(host: str) -> bool:
    if not host or host.startswith("/") or host.startswith("@"):  # unix socket (or abstract)
        return True
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secure_conninfo(url: str, **overrides: str | int | None) -> str:
    """The libpq connection string to use: non-local servers get `sslmode=verify-full` unless the
    URL says otherwise (an explicit weaker mode is allowed but warned about). `overrides` (e.g.
    user, password) replace what the URL says; a password file named in the URL is dropped when
    a password is given (a console authenticates with its operator's own secret only)."""
    params = conninfo_to_dict(libpq_url(url))
    if overrides.get("password") is not None:
        params.pop("passfile", None)
    params.update({k: v for k, v in overrides.items() if v is not None})
    hosts = [h for h in str(params.get("host") or "").split(",")] or [""]
    remote = [h for h in hosts if not _is_local(h)] or (
        [str(params["hostaddr"])] if params.get("hostaddr") and not _is_local(str(params["hostaddr"])) else [])
    if remote:
        mode = str(params.get("sslmode") or "")
        if not mode:
            params["sslmode"] = "verify-full"
        elif mode in WEAK_SSLMODES and mode not in _warned:
            _warned.add(mode)
            log.warning("sslmode=%s for %s: the connection is not protected against interception "
                        "(explicit opt-out of verify-full)", mode, ",".join(remote))
    return make_conninfo("", **params)  # "" : no base string, every parameter from params


def is_multi_host(url: str) -> bool:
    """Does this URL/conninfo name several hosts (a cluster behind target_session_attrs)?"""
    try:
        return "," in str(conninfo_to_dict(libpq_url(url)).get("host") or "")
    except psycopg.ProgrammingError:
        return False


def first_value(cursor: psycopg.Cursor[Any]) -> Any:
    """The first column of the one row a statement returns (an aggregate, an api function call)."""
    row = cursor.fetchone()
    if row is None:
        raise psycopg.ProgrammingError("the statement returned no row")
    return row[0]


def has_password(url: str) -> bool:
    """Does this URL/conninfo carry a password (which would show in `ps` if given in argv)?"""
    try:
        return bool(conninfo_to_dict(libpq_url(url)).get("password"))
    except psycopg.ProgrammingError:
        return False


def redact(url: str) -> str:
    """The URL/conninfo without any password (for logs and window titles)."""
    try:
        params = conninfo_to_dict(libpq_url(url))
    except psycopg.ProgrammingError:
        return "(unparseable database URL)"
    params.pop("password", None)
    return make_conninfo("", **params)  # "" : no base string, every parameter from params


def connect(url: str, *, autocommit: bool = False, **kw: Any) -> psycopg.Connection:
    """A raw psycopg connection; connection failures become `Unavailable`."""
    try:
        return psycopg.connect(secure_conninfo(url), autocommit=autocommit, **{**CONNECT_KW, **kw})
    except psycopg.OperationalError as exc:
        raise Unavailable(f"The database cannot be reached ({_first_line(exc)}).") from exc


def make_engine(url: str, *, pool_size: int = 4, pooled: bool = False,
                application_name: str | None = None) -> Engine:
    """SQLAlchemy engine over psycopg 3; the URL goes to libpq untouched (multi-host works).

    `pooled`: the URL is a transaction pooler (PgBouncer, pool_mode = transaction): no server-side
    prepared statements (each statement may run on another server connection). `application_name`
    travels with every transaction even through a pooler (the console's id, migration 0040)."""
    conninfo = secure_conninfo(url)
    kw: dict[str, Any] = dict(CONNECT_KW)
    if pooled:
        kw["prepare_threshold"] = None
    if application_name:
        kw["application_name"] = application_name

    def creator() -> psycopg.Connection:
        return psycopg.connect(conninfo, **kw)

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
