"""What every service shares: the signed-in actor, the engine, one transaction per action."""
from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Iterator

import random
import re
import time
import uuid

import psycopg
from psycopg.types.json import Jsonb
import sqlalchemy.exc as sa_exc
from sqlalchemy import Connection, Engine, text

from ..kernel.config import to_json as to_json  # re-exported: services import it from here
from ..kernel.errors import Conflict, ControlRoomError, InvalidInput, NotPermitted, Unavailable, readable
from ..geo import AreaIndex
from ..kernel.roles import ROLE_LABELS, allowed

log = logging.getLogger(__name__)

UNAVAILABLE_MSG = ("The database cannot be reached, so nothing was saved. What you typed is kept; "
                   "try again when the connection is back.")

_API_NAME = re.compile(r"api\.[a-z_][a-z0-9_]*")
# An API function's refusal: SQLSTATE -> the error the operator sees, with the function's message.
API_ERRORS: dict[str, type[ControlRoomError]] = {
    "CR400": InvalidInput, "CR404": InvalidInput, "CR409": Conflict, "CR403": NotPermitted,
}
RACE_STATES = ("40P01", "40001")  # deadlock detected, serialisation failure: another console's race
# a refusal, recorded in the caller's own name (the database takes identity from session_user)
REFUSAL_SQL = text("SELECT api.record_refusal(:action, :entity, CAST(:details AS jsonb))")


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    room_code: str | None
    console_id: str
    display_name: str = ""

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)




class Tx:
    """One action's connection or transaction. Writes are `call`s of `api.*` functions, which
    write the rows, the event and the audit row themselves in the database (consoles cannot
    emit events or audit rows any other way); `execute` is for reads."""

    def __init__(self, conn: Connection, ctx: "ServiceContext") -> None:
        self.conn = conn
        self.ctx = ctx

    def execute(self, sql: Any, params: dict[str, Any] | None = None) -> Any:
        return self.conn.execute(text(sql) if isinstance(sql, str) else sql, params or {})

    def call(self, function: str, /, *, audit_as: tuple[str, str | None] | None = None,
             in_doubt: bool = True, **params: Any) -> Any:
        """Run ONE database API action (`api.<name>`, SECURITY DEFINER): it checks the caller's
        job group, enforces the rule and writes rows + event + audit itself. Returns its result
        (jsonb comes back as Python data). Keyword names map to `p_<name>` parameters.
        A refusal (SQLSTATE 42501) is audited — as `audit_as` (action, entity) when given — and
        raised as NotPermitted with the function's own message. `in_doubt=False` (telemetry such
        as the presence beat): no outcome is recorded and a lost connection is simply Unavailable."""
        if not _API_NAME.fullmatch(function):
            raise ValueError(f"not an API function name: {function!r}")
        args = ", ".join(f"p_{k} => :{k}" for k in params)
        values = {k: (Jsonb(v) if isinstance(v, (dict, list)) else v) for k, v in params.items()}
        # The request id and the result are recorded in the same transaction as the action, so
        # a connection lost while it commits can be resolved afterwards (committed or not).
        request = str(uuid.uuid4())
        if in_doubt:
            values["cr_request"] = request
            sql = (f"SELECT s.r FROM (SELECT {function}({args}) AS r) s "
                   "WHERE cr_request_done(CAST(:cr_request AS uuid), to_jsonb(s.r))")
        else:
            sql = f"SELECT {function}({args})"

        autocommit = self.conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        for attempt in range(3):
            try:
                return self.conn.execute(text(sql), values).scalar()
            except sa_exc.DBAPIError as exc:
                sqlstate = getattr(exc.orig, "sqlstate", None) or ""
                if sqlstate == "42501":  # refused by the database: record it
                    action, entity = audit_as or (function, None)
                    message = _api_message(exc.orig)
                    self.ctx.audit_refused(action, entity=entity, reason=message)
                    raise NotPermitted(message) from exc
                if sqlstate in RACE_STATES:
                    # A deadlock or serialisation failure rolled the whole call back (nothing of it
                    # committed): on its own (autocommit) it is simply run again; inside a longer
                    # transaction that transaction is lost, so the operator is told (Conflict).
                    if autocommit and attempt < 2:
                        time.sleep(random.uniform(0.005, 0.03) * (attempt + 1))
                        continue
                    raise
                if in_doubt and _connection_lost(exc):
                    return self.ctx.resolve_in_doubt(request, function)
                raise
        raise AssertionError("unreachable")


def _connection_lost(exc: sa_exc.DBAPIError) -> bool:
    """The connection died mid-call (so the call may or may not have committed): no SQLSTATE from
    the server (it went away), a connection-class error, or the server shutting down."""
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    if sqlstate:
        return sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03")
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)) or exc.connection_invalidated


@dataclass
class ServiceContext:
    """Shared by the services of one console session."""

    engine: Engine
    actor: Actor
    areas: AreaIndex
    area_rooms: dict[str, str]
    training: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    @contextlib.contextmanager
    def tx(self) -> Iterator[Tx]:
        """One transaction; driver failures become `Unavailable`, constraint breaks `InvalidInput`."""
        with db_errors():
            with self.engine.begin() as conn:
                yield Tx(conn, self)

    @contextlib.contextmanager
    def single(self) -> Iterator[Tx]:
        """For an action written as ONE statement: autocommit, so BEGIN/COMMIT cost no round trips
        (a single statement is atomic on its own)."""
        with db_errors():
            with self.engine.connect() as conn:
                yield Tx(conn.execution_options(isolation_level="AUTOCOMMIT"), self)

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with db_errors():
            with self.engine.connect() as conn:
                yield conn

    def resolve_in_doubt(self, request: str, function: str, *, wait_s: float = 25.0) -> Any:
        """The connection died during an API call: ask the database (the new leader, once there
        is one) whether it committed. Committed: its result, as if nothing happened. Not
        committed: Unavailable (what the operator typed stays on screen)."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                with self.engine.connect() as conn:
                    outcome = conn.execute(text("SELECT api.request_outcome(CAST(:r AS uuid))"),
                                           {"r": request}).scalar()
                    conn.commit()
                break
            except sa_exc.DBAPIError:
                if time.monotonic() >= deadline:
                    raise Unavailable("The database went away while this was being saved and is not back "
                                      "yet, so it is not known whether it was saved. What you typed is "
                                      "kept: check the incident list before saving again.") from None
                time.sleep(0.5)
        if outcome and outcome.get("committed"):
            log.info("%s committed although its connection was lost (request %s)", function, request)
            return outcome.get("result")
        raise Unavailable(UNAVAILABLE_MSG)

    def require(self, permission: str, *, entity: str | None = None, what: str | None = None) -> None:
        """Raise NotPermitted (and audit the refusal) unless the actor's role allows it."""
        if allowed(self.actor.role, permission, training=self.training):
            return
        message = (f"{self.actor.role_label}s may not {what or permission.replace('.', ' ')}"
                   f"{'' if not self.training and self.actor.role != 'trainer' else ' here'}.")
        if self.actor.role == "trainer" and not self.training:
            message = "Trainers work in training rooms only; this is the live system."
        self.audit_refused(permission, entity=entity, reason=message)
        raise NotPermitted(message)

    def audit_refused(self, action: str, *, entity: str | None, reason: str,
                      details: dict[str, Any] | None = None) -> None:
        """Record a refused attempt in its own transaction (the refusal must survive rollback)."""
        a = self.actor
        if entity is not None:  # varchar(64), no NUL: a junk id typed by the refused user must not lose the row
            entity = readable(entity)
            entity = entity if len(entity) <= 64 else entity[:63] + "…"
        try:
            with self.engine.begin() as conn:
                conn.execute(REFUSAL_SQL, {"action": action, "entity": entity,
                                           "details": to_json({"reason": reason, **(details or {})})})
        except sa_exc.SQLAlchemyError:  # the refusal stands even if the DB is down
            log.warning("could not audit refused %s by %s", action, a.username)

    def room_of_area(self, area_code: str) -> str:
        return self.area_rooms[area_code]


@contextlib.contextmanager
def db_errors() -> Iterator[None]:
    """Translate driver errors into ControlRoomError subclasses with operator-facing messages."""
    try:
        yield
    except ControlRoomError:
        raise
    except sa_exc.DBAPIError as exc:
        mapped = API_ERRORS.get(getattr(exc.orig, "sqlstate", "") or "")
        if mapped is not None:
            raise _api_error(mapped, exc.orig) from exc
        _translate_dbapi(exc)
    except psycopg.Error as exc:  # raw driver errors (a psycopg connection used directly)
        mapped = API_ERRORS.get(exc.sqlstate or "")
        if mapped is not None:
            raise _api_error(mapped, exc) from exc
        _translate_psycopg(exc)


def _api_error(cls: type[ControlRoomError], exc: object) -> ControlRoomError:
    """An API function's refusal; `RAISE … USING COLUMN = 'x'` (or DETAIL '{"field": "x"}') names
    the field the operator fixes; the rest of a JSON DETAIL becomes the error's details."""
    details = _api_details(exc)
    field = getattr(getattr(exc, "diag", None), "column_name", None) or details.pop("field", None)
    if cls is InvalidInput:
        return InvalidInput(_api_message(exc), field=field, **details)
    return cls(_api_message(exc), **details)


def _api_message(exc: object) -> str:
    diag = getattr(exc, "diag", None)
    return getattr(diag, "message_primary", None) or _first_line(exc)


def _api_details(exc: object) -> dict[str, Any]:
    """An API function may say more in DETAIL as a JSON object: {"field": "rationale", ...}
    (InvalidInput.field and the error's details, e.g. who changed a stale incident)."""
    detail = getattr(getattr(exc, "diag", None), "message_detail", None)
    if not detail or not detail.startswith("{"):
        return {}
    try:
        out = json.loads(detail)
    except ValueError:
        return {}
    if not isinstance(out, dict):
        return {}
    return {str(k): v for k, v in out.items() if isinstance(k, str) and k.isidentifier() and k != "message"}


def _translate_dbapi(exc: sa_exc.DBAPIError) -> None:
    if (getattr(exc.orig, "sqlstate", None) or "") in RACE_STATES:  # (a deadlock is an OperationalError)
        raise Conflict("Another console changed the same records at the same moment; "
                       "nothing was saved — check the latest state and try again.") from exc
    try:
        raise exc
    except sa_exc.IntegrityError as exc:
        raise InvalidInput(f"The database refused the change: {_constraint(exc)}.") from exc
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
        raise Unavailable(UNAVAILABLE_MSG) from exc
    except sa_exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable(UNAVAILABLE_MSG) from exc
        sqlstate = getattr(exc.orig, "sqlstate", "") or ""
        if sqlstate in ("40P01", "40001"):  # deadlock / serialisation: another console won the race
            raise Conflict("Another console changed the same records at the same moment; "
                           "nothing was saved — check the latest state and try again.") from exc
        # data exception: a bad value that slipped past validation, refused by the server ("22…")
        # or already by the driver while sending/reading it (sa DataError without a sqlstate)
        if sqlstate.startswith("22") or isinstance(exc, sa_exc.DataError):
            raise InvalidInput(f"That value cannot be stored: {_first_line(exc.orig)}.") from exc
        if sqlstate == "42501":
            raise NotPermitted(f"The database refused this: {_first_line(exc.orig)}.") from exc
        raise


def _translate_psycopg(exc: psycopg.Error) -> None:
    try:
        raise exc
    except psycopg.Error as exc:
        if (exc.sqlstate or "") in RACE_STATES:
            raise Conflict("Another console changed the same records at the same moment; "
                           "nothing was saved — check the latest state and try again.") from exc
        if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
            raise Unavailable(UNAVAILABLE_MSG) from exc
        sqlstate = exc.sqlstate or ""
        if isinstance(exc, psycopg.IntegrityError):
            name = getattr(exc.diag, "constraint_name", None)
            raise InvalidInput("The database refused the change: "
                               + (f"rule '{name}' not met." if name else f"{_first_line(exc)}.")) from exc
        if sqlstate in ("40P01", "40001"):
            raise Conflict("Another console changed the same records at the same moment; "
                           "nothing was saved — check the latest state and try again.") from exc
        if sqlstate.startswith("22") or isinstance(exc, psycopg.DataError):
            raise InvalidInput(f"That value cannot be stored: {_first_line(exc)}.") from exc
        if sqlstate == "42501":
            raise NotPermitted(f"The database refused this: {_first_line(exc)}.") from exc
        raise


def _constraint(exc: sa_exc.DBAPIError) -> str:
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return f"rule '{name}' not met" if name else _first_line(exc.orig)


def _first_line(exc: object) -> str:
    return (str(exc).strip().splitlines() or ["no detail"])[0]
