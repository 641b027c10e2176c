"""The session facade: everything a console (or a test, CLI or scenario player) can do."""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

import argon2
from sqlalchemy import Engine, event, text

from .db.engine import make_engine
from .errors import ControlRoomError, NotPermitted, WrongDatabase
from .geo import AreaIndex
from .services.base import Actor, ServiceContext, db_errors, to_json
from .services.events import Event, EventService

log = logging.getLogger(__name__)
_hasher = argon2.PasswordHasher()  # argon2id with the library's current defaults
MAX_FAILED_SIGN_INS = 5

# attribute -> (module, class). Each service is built on first use with the session's context.
SERVICES: dict[str, tuple[str, str]] = {
    "incidents": ("controlroom.services.incidents", "IncidentService"),
    "units": ("controlroom.services.units", "UnitService"),
    "despatch": ("controlroom.services.despatch", "DespatchService"),
    "talkgroups": ("controlroom.services.talkgroups", "TalkGroupService"),
    "command": ("controlroom.services.command", "CommandService"),
    "rooms": ("controlroom.services.rooms", "RoomService"),
    "contacts": ("controlroom.services.contacts", "ContactService"),
    "audit": ("controlroom.services.audit", "AuditService"),
    "handoff": ("controlroom.services.handoff", "HandoffService"),  # issue 14
    "prompts": ("controlroom.services.prompts", "PromptService"),  # issue 14
    "signoff": ("controlroom.services.signoff", "SignoffService"),  # issue 14
    "banding": ("controlroom.banding", "BandingService"),  # issue 14
    "paper": ("controlroom.paper", "PaperService"),  # issue 14
    "exchange": ("controlroom.services.exchange", "ExchangeService"),  # EIDO, reports, CSV
    "exercise": ("controlroom.services.training", "TrainingService"),  # session.training is the flag
    "presence": ("controlroom.services.presence", "PresenceService"),  # issue 13
    "reference": ("controlroom.services.reference", "ReferenceService"),  # issue 23
    "intel": ("controlroom.services.intel", "IntelService"),  # issue 23
    "alerts": ("controlroom.services.alerts", "AlertService"),  # issue 20: officer safety
    "recovery": ("controlroom.services.recovery", "RecoveryService"),  # issue 23
    "workforce": ("controlroom.services.workforce", "WorkforceService"),  # issue 23
}


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
    """A signed-in console. Services appear as attributes; `close()` when done."""

    def __init__(self, *, url: str, engine: Engine, ctx: ServiceContext, user: UserView,
                 room: RoomView, last_seen: int) -> None:
        self.url = url
        self.engine = engine
        self.ctx = ctx
        self.user = user
        self.room = room
        self.console_id = ctx.actor.console_id
        self.training = ctx.training
        self.events = EventService(url, last_seen=last_seen)
        self.events.subscribe(self._track_area_owners)
        self._services: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name in SERVICES:
            svc = self._services.get(name)
            if svc is None:
                module, cls = SERVICES[name]
                svc = getattr(importlib.import_module(module), cls)(self.ctx)
                self._services[name] = svc
                if callable(getattr(svc, "on_event", None)):  # e.g. despatch keeps its unit index live
                    self.events.subscribe(svc.on_event)
            return svc
        raise AttributeError(name)

    def verify_password(self, password: str) -> bool:
        """Re-check the signed-in user's password (console idle lock); audited, failures count."""
        return _verify_again(self.ctx, password)

    def _track_area_owners(self, ev: Event) -> None:
        # Convention: any event whose payload carries "area_rooms" states the new ownership.
        owners = ev.payload.get("area_rooms") if isinstance(ev.payload, dict) else None
        if isinstance(owners, dict):
            self.ctx.area_rooms.update(owners)

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


def open_session(database_url: str, username: str, password: str, console_id: str,
                 training: bool = False) -> Session:
    """Sign in to the virtual room; raises NotPermitted on wrong credentials."""
    engine = make_engine(database_url)
    try:
        return _sign_in(engine, database_url, username, password, console_id, training)
    except BaseException:
        engine.dispose()
        raise


def _sign_in(engine: Engine, url: str, username: str, password: str, console_id: str,
             training: bool) -> Session:
    with db_errors(), engine.begin() as conn:
        mode = conn.execute(text("SELECT value FROM meta WHERE key = 'mode'")).scalar()
        if mode is None:
            raise ControlRoomError("This database has not been set up for controlroom (no mode row).")
        if (mode == "training") != training:
            raise WrongDatabase(
                "This is a TRAINING database; sign in from a training console." if mode == "training"
                else "This is the LIVE database; a training console may never connect to it.")
        row = conn.execute(text("SELECT username, display_name, password_hash, role, home_room_code, "
                                "locked, failed_attempts FROM users WHERE username = :u"),
                           {"u": username}).mappings().first()
        area_rows = conn.execute(text("SELECT code, name, room_code, geojson FROM areas")).mappings().all()
    actor = Actor(username=username, role=row["role"] if row else "", console_id=console_id,
                  room_code=row["home_room_code"] if row else None,
                  display_name=row["display_name"] if row else "")
    areas = AreaIndex.from_geojson(
        {"properties": {"code": r["code"], "name": r["name"]}, "geometry": r["geojson"]} for r in area_rows)
    ctx = ServiceContext(engine=engine, actor=actor, areas=areas,
                         area_rooms={r["code"]: r["room_code"] for r in area_rows}, training=training)
    if row is not None and row["locked"]:
        ctx.audit_refused("session.sign_in", entity=f"user:{username}", reason="account locked")
        raise NotPermitted("This account is locked after repeated wrong passwords. "
                           "Ask a supervisor to unlock it.")
    if row is None or not _password_ok(row["password_hash"], password):
        ctx.audit_refused("session.sign_in", entity=f"user:{username}", reason="wrong user name or password")
        if row is not None and _count_failure(ctx, username):
            raise NotPermitted(f"Wrong password. The account is now locked after {MAX_FAILED_SIGN_INS} "
                               "failed attempts; ask a supervisor to unlock it.")
        raise NotPermitted("Wrong user name or password.")
    with ctx.tx() as tx:
        if row["failed_attempts"]:
            tx.execute("UPDATE users SET failed_attempts = 0 WHERE username = :u", {"u": username})
        room = tx.execute("SELECT code, name, site FROM rooms WHERE code = :c",
                          {"c": actor.room_code}).mappings().first()
        tx.execute("INSERT INTO consoles (id, room_code, username) VALUES (:id, :room, :u) "
                   "ON CONFLICT (id) DO UPDATE SET room_code = :room, username = :u, "
                   "started_at = now(), last_seen = now()",
                   {"id": console_id, "room": actor.room_code, "u": username})
        tx.emit("console.signed_in", console_id, {"console_id": console_id, "username": username,
                                                  "role": actor.role, "room": actor.room_code},
                room=actor.room_code)
        last_seen = tx.execute("SELECT coalesce(max(seq), 0) FROM events").scalar_one()
    identify_connections(engine, actor)
    user = UserView(username=username, role=actor.role, display_name=actor.display_name,
                    home_room=actor.room_code)
    room_view = RoomView(**room) if room else RoomView(code="", name="(no room)", site="")
    # Start from just before our own sign-in so this console sees everything after it.
    return Session(url=url, engine=engine, ctx=ctx, user=user, room=room_view, last_seen=last_seen - 1)


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
    engine.dispose()  # connections opened before sign-in reconnect with the settings


def _verify_again(ctx: ServiceContext, password: str) -> bool:
    a = ctx.actor
    with db_errors(), ctx.engine.connect() as conn:
        row = conn.execute(text("SELECT password_hash, locked FROM users WHERE username = :u"),
                           {"u": a.username}).mappings().first()
    if row is None or row["locked"] or not isinstance(password, str) or not _password_ok(row["password_hash"], password):
        ctx.audit_refused("session.unlock", entity=f"user:{a.username}",
                          reason="account locked" if row is not None and row["locked"] else "wrong password")
        if row is not None and not row["locked"]:
            _count_failure(ctx, a.username)  # the idle lock is no way round the sign-in lockout
        return False
    with ctx.tx() as tx:
        tx.execute("UPDATE users SET failed_attempts = 0 WHERE username = :u AND failed_attempts > 0",
                   {"u": a.username})
        tx.emit("console.unlocked", a.console_id, {"console_id": a.console_id, "username": a.username},
                room=a.room_code)
    return True


def _count_failure(ctx: ServiceContext, username: str) -> bool:
    """One more failed sign-in; True when this one locked the account (the lock is audited)."""
    with ctx.tx() as tx:
        locked = tx.execute(
            "UPDATE users SET failed_attempts = failed_attempts + 1, "
            "locked = locked OR failed_attempts + 1 >= :max WHERE username = :u "
            "RETURNING locked AND failed_attempts = :max", {"u": username, "max": MAX_FAILED_SIGN_INS}).scalar()
        if locked:
            tx.emit("user.locked", username, {"username": username, "reason": "repeated wrong passwords",
                                              "failed_attempts": MAX_FAILED_SIGN_INS})
    return bool(locked)


def _password_ok(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def hash_password(password: str) -> str:
    return _hasher.hash(password)


__all__ = ["open_session", "Session", "UserView", "RoomView", "hash_password", "to_json"]
