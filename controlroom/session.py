"""The session facade: everything a console (or a test, CLI or scenario player) can do."""
from __future__ import annotations

import os

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, TypeVar, cast

import time

import psycopg
from sqlalchemy import Engine, event

from .db.engine import CONNECT_KW, first_value, is_multi_host, make_engine, redact, secure_conninfo
from .kernel.errors import ControlRoomError, InvalidInput, NotPermitted, Unavailable, WrongDatabase
from .geo import AreaIndex
from .services.base import Actor, ServiceContext, db_errors, to_json
from .services.events import Event, EventService

if TYPE_CHECKING:  # the services import the session's own modules: imported on first use below
    from .services.alerts import AlertService
    from .services.audit import AuditService
    from .services.contacts import BandingService
    from .services.command import CommandService
    from .services.contacts import ContactService
    from .services.units import DespatchService
    from .services.exchange import ExchangeService
    from .services.rooms import HandoffService
    from .services.incidents import IncidentService
    from .services.intel import IntelService
    from .services.paper import PaperService
    from .services.rooms import PresenceService
    from .services.incidents import PromptService
    from .services.recovery import RecoveryService
    from .services.reference import ReferenceService
    from .services.rooms import RoomService
    from .services.incidents import SignoffService
    from .services.talkgroups import TalkGroupService
    from .services.training import TrainingService
    from .services.units import UnitService
    from .services.workforce import WorkforceService

log = logging.getLogger(__name__)
_S = TypeVar("_S")

@dataclass(frozen=True)
class UserView:
    username: str
    role: str
    display_name: str
    home_room: str | None


@dataclass(frozen=True)
class RoomView:
    code: str
    name: str
    site: str


class Session:
    """A signed-in console. Each service is a typed property, built on first use and kept for the
    session (`session.incidents`, `session.units`, …); `close()` when done."""

    def __init__(self, *, url: str, engine: Engine, ctx: ServiceContext, user: UserView,
                 room: RoomView, last_seen: int, conninfo: str) -> None:
        self.url = url  # without the password
        self.conninfo = conninfo  # this operator's own connection string (their secret only)
        self.engine = engine
        self.ctx = ctx
        self.user = user
        self.room = room
        self.console_id = ctx.actor.console_id
        self.training = ctx.training
        self.events = EventService(conninfo, last_seen=last_seen)
        self.events.subscribe(self._track_area_owners)
        self._services: dict[str, object] = {}

    def _service(self, name: str, build: Callable[[ServiceContext], _S]) -> _S:
        """The session's one `name` service, built on first use with the session's context."""
        svc = self._services.get(name)
        if svc is None:
            svc = build(self.ctx)
            self._services[name] = svc
            on_event = getattr(svc, "on_event", None)
            if callable(on_event):  # e.g. despatch keeps its unit index live
                self.events.subscribe(on_event)
        return cast(_S, svc)

    # ---- the services (facade names are a contract: extend, never rename) --------------------
    @property
    def incidents(self) -> IncidentService:
        from .services.incidents import IncidentService
        return self._service("incidents", IncidentService)

    @property
    def units(self) -> UnitService:
        from .services.units import UnitService
        return self._service("units", UnitService)

    @property
    def despatch(self) -> DespatchService:
        from .services.units import DespatchService
        return self._service("despatch", DespatchService)

    @property
    def talkgroups(self) -> TalkGroupService:
        from .services.talkgroups import TalkGroupService
        return self._service("talkgroups", TalkGroupService)

    @property
    def command(self) -> CommandService:
        from .services.command import CommandService
        return self._service("command", CommandService)

    @property
    def rooms(self) -> RoomService:
        from .services.rooms import RoomService
        return self._service("rooms", RoomService)

    @property
    def contacts(self) -> ContactService:
        from .services.contacts import ContactService
        return self._service("contacts", ContactService)

    @property
    def audit(self) -> AuditService:
        from .services.audit import AuditService
        return self._service("audit", AuditService)

    @property
    def handoff(self) -> HandoffService:  # issue 14
        from .services.rooms import HandoffService
        return self._service("handoff", HandoffService)

    @property
    def prompts(self) -> PromptService:  # issue 14
        from .services.incidents import PromptService
        return self._service("prompts", PromptService)

    @property
    def signoff(self) -> SignoffService:  # issue 14
        from .services.incidents import SignoffService
        return self._service("signoff", SignoffService)

    @property
    def banding(self) -> BandingService:  # issue 14
        from .services.contacts import BandingService
        return self._service("banding", BandingService)

    @property
    def paper(self) -> PaperService:  # issue 14
        from .services.paper import PaperService
        return self._service("paper", PaperService)

    @property
    def exchange(self) -> ExchangeService:  # EIDO, reports, CSV
        from .services.exchange import ExchangeService
        return self._service("exchange", ExchangeService)

    @property
    def exercise(self) -> TrainingService:  # training exercises; `session.training` is the flag
        from .services.training import TrainingService
        return self._service("exercise", TrainingService)

    @property
    def presence(self) -> PresenceService:  # issue 13
        from .services.rooms import PresenceService
        return self._service("presence", PresenceService)

    @property
    def reference(self) -> ReferenceService:  # issue 23
        from .services.reference import ReferenceService
        return self._service("reference", ReferenceService)

    @property
    def intel(self) -> IntelService:  # issue 23
        from .services.intel import IntelService
        return self._service("intel", IntelService)

    @property
    def alerts(self) -> AlertService:  # issue 20: officer safety
        from .services.alerts import AlertService
        return self._service("alerts", AlertService)

    @property
    def recovery(self) -> RecoveryService:  # issue 23
        from .services.recovery import RecoveryService
        return self._service("recovery", RecoveryService)

    @property
    def workforce(self) -> WorkforceService:  # issue 23
        from .services.workforce import WorkforceService
        return self._service("workforce", WorkforceService)

    @property
    def multi_host(self) -> bool:
        """Connected through a multi-host URL (a cluster that fails over by itself)."""
        return is_multi_host(self.conninfo)

    @property
    def areas(self) -> AreaIndex:
        """The force's areas (point-in-area lookups), read once at sign-in."""
        return self.ctx.areas

    @property
    def area_rooms(self) -> dict[str, str]:
        """Area code -> owning room, kept current from the rooms' ownership events (a live dict)."""
        return self.ctx.area_rooms

    def area_features(self) -> dict[str, Any]:
        """The areas as a GeoJSON FeatureCollection with their current owning rooms (no query:
        built from what sign-in read and ownership events keep current) — for the map."""
        from shapely.geometry import mapping

        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": a.code, "name": a.name, "room": self.ctx.area_rooms.get(a.code)},
             "geometry": mapping(a.geometry)} for a in sorted(self.ctx.areas.areas, key=lambda a: a.code)]}

    def base_map(self) -> Any:
        """The force's configured base map (`geo_config`), a `controlroom.geo.basemap.BaseMap`."""
        from .geo.basemap import read_base_map

        with self.ctx.read() as conn:
            return read_base_map(conn)

    def replayer(self, *, snapshot_every: int = 1000) -> Any:
        """A `controlroom.replay.store.Replayer` over this session's own connection (its rights)."""
        from .replay.store import Replayer

        return Replayer(self.engine, snapshot_every=snapshot_every)

    def policy(self, name: str) -> str | None:
        """A force policy value from the database (meta 'policy.<name>', read-only for consoles)."""
        with self.ctx.read() as conn:
            return conn.exec_driver_sql("SELECT value FROM meta WHERE key = %(k)s",
                                        {"k": f"policy.{name}"}).scalar()

    def verify_password(self, password: str, *, purpose: str = "unlock") -> bool:
        """Re-check the signed-in operator's password by a fresh sign-in to the database (idle
        lock: purpose 'unlock'; armed authorisation: 'reauthenticate'); failures are audited."""
        return _verify_again(self, password, purpose=purpose)

    def _track_area_owners(self, ev: Event) -> None:
        # Convention: an event whose payload carries "area_rooms" says ownership changed. The
        # payload is not trusted (anything an event says could have been written by a console
        # still allowed to emit): the areas table is read, which only the rooms actions change.
        owners = ev.payload.get("area_rooms") if isinstance(ev.payload, dict) else None
        if not isinstance(owners, dict):
            return
        try:
            with self.ctx.read() as conn:
                rows = conn.exec_driver_sql("SELECT code, room_code FROM areas").all()
        except ControlRoomError:
            log.warning("could not re-read area ownership after event #%s", ev.seq)
            return
        self.ctx.area_rooms.update({r[0]: r[1] for r in rows})

    def close(self) -> None:
        self.events.close()
        for svc in self._services.values():
            # `shutdown`, not `close`: incidents.close(incident_id) is a domain action
            closer = getattr(svc, "shutdown", None)
            if callable(closer):
                closer()
        self.engine.dispose()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


WRONG_CREDENTIALS = "Wrong user name or password."
NO_ACCESS = ("Your account cannot sign in to this database. Live and training databases are "
             "separate: ask your supervisor which one you are listed in.")
FAILED_SIGN_IN_DELAY_S = 0.25  # like the server's auth_delay, for refusals decided before it


def open_session(database_url: str, username: str, password: str, console_id: str,
                 training: bool = False, *, pool_url: str | None = None) -> Session:
    """Sign in to the virtual room AS the operator: PostgreSQL authenticates `username` (SCRAM,
    or the force's directory through pg_hba); raises NotPermitted on wrong credentials with the
    same words whether or not the account exists.

    `pool_url` (or CONTROLROOM_POOL_URL): a transaction pooler with per-user pools (PgBouncer) for
    the service calls; sign-in and the event listener (LISTEN needs a real session) stay on
    `database_url`, direct to PostgreSQL."""
    conninfo = operator_conninfo(database_url, username, password)
    pool_url = pool_url if pool_url is not None else os.environ.get("CONTROLROOM_POOL_URL") or None
    with db_errors():
        info, area_rows = _sign_in(conninfo, console_id, training)
    actor = Actor(username=info["username"], role=info["role"] or "", console_id=console_id,
                  room_code=info["home_room"], display_name=info["display_name"])
    app_name = f"controlroom:{console_id}"  # the console's id, carried through a pooler too (0040)
    if pool_url:
        engine = make_engine(operator_conninfo(pool_url, username, password), pooled=True,
                             application_name=app_name)
    else:
        engine = make_engine(conninfo, application_name=app_name)
    try:
        if not pool_url:  # (behind a pooler a session setting would land on one server connection only)
            identify_connections(engine, actor)
        areas = AreaIndex.from_geojson(
            {"properties": {"code": r[0], "name": r[1]}, "geometry": r[3]} for r in area_rows)
        ctx = ServiceContext(engine=engine, actor=actor, areas=areas,
                             area_rooms={r[0]: r[2] for r in area_rows}, training=training)
        user = UserView(username=actor.username, role=actor.role, display_name=actor.display_name,
                        home_room=actor.room_code)
        room = info.get("room")
        room_view = (RoomView(code=room["code"], name=room["name"], site=room["site"]) if room
                     else RoomView(code="", name="(no room)", site=""))
        # Start from just before our own sign-in so this console sees everything after it.
        session = Session(url=redact(database_url), engine=engine, ctx=ctx, user=user, room=room_view,
                          last_seen=int(info["seq"]) - 1, conninfo=conninfo)
        # the listener's connection is what shows this console is in use (one live session per
        # console id): have it up before the sign-in returns
        session.events.listener.wait_connected(5.0)
        return session
    except BaseException:
        engine.dispose()
        raise


def operator_conninfo(database_url: str, username: str, password: str) -> str:
    """The connection string of this operator: the URL's server and database, their own name and
    secret (anything else the URL names — another user, a password file — is ignored)."""
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        time.sleep(FAILED_SIGN_IN_DELAY_S)
        raise NotPermitted(WRONG_CREDENTIALS)
    if "\x00" in username or "\x00" in password or len(username) > 63 or len(password) > 1000:
        time.sleep(FAILED_SIGN_IN_DELAY_S)
        raise NotPermitted(WRONG_CREDENTIALS)
    return secure_conninfo(database_url, user=username, password=password)


def authenticate(conninfo: str) -> psycopg.Connection:
    """A fresh connection as the operator; refusals in operator words (nothing about whether the
    account exists)."""
    try:
        return psycopg.connect(conninfo, **CONNECT_KW)
    except psycopg.OperationalError as exc:
        raise _sign_in_error(exc) from None


def _sign_in_error(exc: psycopg.OperationalError) -> ControlRoomError:
    text_ = str(exc)
    if any(m in text_ for m in ("password authentication failed", "authentication failed for user",
                                "is not permitted to log in", "no pg_hba.conf entry",
                                "password is missing", "no password supplied")):
        if "is not permitted to log in" in text_:
            time.sleep(FAILED_SIGN_IN_DELAY_S)  # a disabled account looks like a wrong password
        return NotPermitted(WRONG_CREDENTIALS)
    if "permission denied for database" in text_ or "CONNECT privilege" in text_:
        return NotPermitted(NO_ACCESS)
    if "does not exist" in text_ and "database" in text_:
        return ControlRoomError("That database does not exist on the server.")
    first = (text_.strip().splitlines() or ["no detail"])[0]
    return Unavailable(f"The database cannot be reached ({first}).")


def _sign_in(conninfo: str, console_id: str, training: bool) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    with authenticate(conninfo) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'mode'").fetchone()
        mode = row[0] if row else None
        if mode is None:
            raise ControlRoomError("This database has not been set up for controlroom (no mode row).")
        if (mode == "training") != training:
            raise WrongDatabase(
                "This is a TRAINING database; sign in from a training console." if mode == "training"
                else "This is the LIVE database; a training console may never connect to it.")
        if not isinstance(console_id, str):
            raise InvalidInput("A console id is 1-40 letters, digits, dots, dashes or colons.")
        try:
            info = first_value(conn.execute("SELECT api.console_sign_in(%s)", (console_id,)))
        except psycopg.Error as exc:
            if exc.sqlstate == "CR409":  # console in use: the refusal must outlive the rollback
                conn.rollback()
                conn.execute("SELECT api.record_refusal('console.sign_in', %s, %s::jsonb)",
                             (f"console:{console_id}"[:64],
                              to_json({"reason": getattr(exc.diag, "message_primary", "in use")})))
                conn.commit()
            raise
        area_rows = conn.execute("SELECT code, name, room_code, geojson FROM areas").fetchall()
        conn.commit()
    return info, area_rows


def identify_connections(engine: Engine, actor: Actor) -> None:
    """Every service connection names its console (the database binds it to the operator it
    authenticated; cr_actor() ignores a console the operator does not hold). Set once per
    connection, so API calls cost no extra round trip."""
    settings = {"controlroom.console_id": actor.console_id, "controlroom.user": actor.username,
                "controlroom.role": actor.role}

    def _identify(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cur:
            for key, value in settings.items():
                cur.execute("SELECT set_config(%s, %s, false)", (key, value))
        dbapi_conn.commit()

    event.listen(engine, "connect", _identify)


def _verify_again(session: "Session", password: str, *, purpose: str) -> bool:
    """Re-check the signed-in operator's password with a FRESH sign-in to PostgreSQL (SCRAM or
    the force's directory); no lockout: the server's auth_delay slows guessing."""
    ctx = session.ctx
    a = ctx.actor
    try:
        conninfo = operator_conninfo(session.conninfo, a.username, password)
        authenticate(conninfo).close()
    except NotPermitted:
        ctx.audit_refused(f"session.{purpose}", entity=f"user:{a.username}", reason="wrong password")
        return False
    if purpose == "unlock":
        with ctx.single() as tx:
            tx.call("api.console_unlocked")
    return True


__all__ = ["open_session", "Session", "UserView", "RoomView", "to_json", "WRONG_CREDENTIALS"]
