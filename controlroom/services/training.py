"""`session.exercise`: trainer controls (reset, announcements, timeline) and the live fallback switch."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy.exc as sa_exc
from sqlalchemy import text

from ..db.training_copy import reset_training
from ..kernel.errors import InvalidInput, NotPermitted
from .base import ServiceContext, to_json
from .validate import text_field

log = logging.getLogger(__name__)

# Noise a debrief timeline leaves out: telemetry and heartbeats say nothing about decisions.
QUIET_KINDS = ("unit.position", "console.heartbeat", "console.presence")
ANNOUNCE_KINDS = ("loaded", "started", "paused", "speed", "jumped", "finished")


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    at: datetime
    kind: str
    entity_id: str | None
    username: str | None
    console_id: str | None
    room_code: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class ConsoleView:
    id: str
    username: str | None
    room_code: str | None
    started_at: datetime
    last_seen: datetime


@dataclass(frozen=True)
class FallbackState:
    on: bool
    room_code: str | None
    by: str | None
    at: str | None
    reason: str | None


class TrainingService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def _require_training(self, what: str) -> None:
        self.ctx.require("training.run", entity="training", what=what)
        if not self.ctx.training:  # belt and braces: roles already refuse trainers on live
            self.ctx.audit_refused("training.run", entity="training", reason="live database")
            raise NotPermitted("Training controls work on a training database only.")

    def reset(self, *, scenario: str | None = None,
              units: dict[str, dict[str, Any]] | None = None) -> int:
        """Empty the training database back to its start (the database refuses on live); -> seq."""
        self._require_training("reset the training database")
        for attempt in range(3):
            try:
                with self.ctx.tx() as tx:
                    result = reset_training(tx.conn, units=units, scenario=scenario)
                return int(result["seq"])
            except sa_exc.DBAPIError as exc:  # a trainee's write crossed our locks: try again
                if getattr(exc.orig, "sqlstate", "") != "40P01" or attempt == 2:
                    raise
                log.info("training reset hit a deadlock, retrying")
        raise AssertionError("unreachable")

    def announce(self, what: str, *, scenario: str, position: float, speed: float,
                 state: str, **extra: Any) -> int:
        """Tell every training console what the scenario clock is doing (`training.<what>`)."""
        self._require_training("run scenarios")
        if what not in ANNOUNCE_KINDS:
            raise InvalidInput(f"Unknown announcement {what!r}.", field="what")
        with self.ctx.single() as tx:  # the database checks trainer + training database
            seq = tx.call("api.training_announce", what=what, scenario=scenario, position=float(position),
                          speed=float(speed), state=state, extra=json.loads(to_json(extra)))
        return int(seq)

    def timeline(self, *, since_seq: int = 0, limit: int = 5000) -> list[TimelineEntry]:
        """Who did what, when, from the event stream (trainees' actions and injected events)."""
        self.ctx.require("training.run", entity="training", what="see the exercise timeline")
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                "SELECT seq, at, kind, entity_id, username, console_id, room_code, payload FROM events "
                "WHERE seq > :s AND kind <> ALL (:quiet) ORDER BY seq LIMIT :n"),
                {"s": since_seq, "quiet": list(QUIET_KINDS), "n": limit}).mappings().all()
        return [TimelineEntry(**r) for r in rows]

    def status(self) -> TimelineEntry | None:
        """The latest `training.*` event (what the exercise clock is doing); any training console."""
        if not self.ctx.training:
            return None
        with self.ctx.read() as conn:
            row = conn.execute(text(
                "SELECT seq, at, kind, entity_id, username, console_id, room_code, payload FROM events "
                "WHERE kind LIKE 'training.%' ORDER BY seq DESC LIMIT 1")).mappings().first()
        return TimelineEntry(**row) if row else None

    def consoles(self) -> list[ConsoleView]:
        """Consoles signed in to this (training) database, most recently seen first."""
        self.ctx.require("training.run", entity="training", what="see trainees' consoles")
        with self.ctx.read() as conn:
            rows = conn.execute(text("SELECT id, username, room_code, started_at, last_seen FROM consoles "
                                     "ORDER BY last_seen DESC")).mappings().all()
        return [ConsoleView(**r) for r in rows]

    # -- live fallback ----------------------------------------------------------------------------

    def set_fallback(self, *, on: bool, reason: str | None = None) -> FallbackState:
        """Inspector only, live only: this room's training suite now works as a live fallback room."""
        ctx = self.ctx
        ctx.require("room.fallback", entity="room:fallback", what="switch consoles to fallback mode")
        if ctx.training:
            ctx.audit_refused("room.fallback", entity="room:fallback", reason="training database")
            raise NotPermitted("Fallback mode is a live-system switch; a training database cannot be one.")
        if not isinstance(on, bool):
            raise InvalidInput("Fallback must be on or off.", field="on")
        reason = text_field(reason, "Reason", field="reason", max_len=500, required=on)
        with ctx.single() as tx:  # the database checks inspector + live database, writes meta + event
            state = tx.call("api.room_fallback", on=on, reason=reason)
        return FallbackState(on=bool(state["on"]), room_code=state["room_code"], by=state["by"], at=state["at"],
                             reason=state["reason"])

    def fallback(self, room_code: str | None = None) -> FallbackState:
        """Is this room's fallback switch on? (stored in the live database's meta table)."""
        room = room_code or self.ctx.actor.room_code
        with self.ctx.read() as conn:
            value = conn.execute(text("SELECT CAST(value AS jsonb) FROM meta WHERE key = :k"),
                                 {"k": _fallback_key(room)}).scalar()
        v = value or {}
        return FallbackState(on=bool(v.get("on")), room_code=room, by=v.get("by"), at=v.get("at"),
                             reason=v.get("reason"))


def _fallback_key(room: str | None) -> str:
    return f"fallback.{room or 'none'}"
