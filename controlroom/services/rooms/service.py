"""Rooms service: the virtual room's areas changing hands, and which rooms are staffed.

Areas change hands and consoles beat through `api.*` functions (migrations 0032, 0039), which
write `areas.room_code`, `area_transfers`, `room_presence` and `consoles.last_seen` /
`signed_out_at`. Ownership moves in one transaction with the open incidents of the moved areas
(their `room_code` follows, so "my room" filters stay plain SQL) and one `room.*` event whose
payload carries "area_rooms", which every session's area-ownership cache applies.
"""
from __future__ import annotations

import dataclasses

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import text

from ...kernel.errors import ControlRoomError, InvalidInput
from . import handoff
from ..base import ServiceContext
from ..validate import text_field

log = logging.getLogger(__name__)

# A console not heard from for meta 'policy.presence_ttl_s' (15 s by default; force policy, read
# by the database itself) no longer staffs its room: three missed beats.
HEARTBEAT_EVERY_S = 5.0

STATUS_SQL = """
SELECT r.code, r.name, r.site,
  (SELECT count(*) FROM consoles c WHERE c.room_code = r.code AND c.signed_out_at IS NULL
     AND c.last_seen > now() - cr_presence_ttl()) AS live_consoles,
  coalesce((SELECT array_agg(a.code ORDER BY a.code) FROM areas a WHERE a.room_code = r.code),
           '{}') AS areas,
  coalesce((SELECT array_agg(a.code ORDER BY a.code) FROM areas a WHERE a.home_room_code = r.code),
           '{}') AS home_areas
FROM rooms r ORDER BY r.code
"""


@dataclass(frozen=True)
class RoomStatusView:
    code: str
    name: str
    site: str
    staffed: bool
    live_consoles: int
    areas: tuple[str, ...]       # owned now
    home_areas: tuple[str, ...]  # owned normally


@dataclass(frozen=True)
class AreaView:
    code: str
    name: str
    room_code: str
    home_room_code: str

    @property
    def transferred(self) -> bool:
        return self.room_code != self.home_room_code


@dataclass(frozen=True)
class TransferView:
    """What one transfer / take-over / hand-back did."""

    kind: str
    to_room: Optional[str]
    moved: dict[str, tuple[str, str]]      # area -> (from room, to room)
    incident_ids: tuple[int, ...]
    area_rooms: dict[str, str] = field(default_factory=dict)
    reason: Optional[str] = None
    seq: int = 0

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(self.moved)


@dataclass(frozen=True)
class TransferRecord:
    id: int
    at: datetime
    kind: str
    area_code: str
    from_room: str
    to_room: str
    reason: Optional[str]
    username: str
    incidents_moved: int


class RoomService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._room_names: dict[str, str] | None = None
        self._hb_stop = threading.Event()
        self._hb_thread: threading.Thread | None = None

    # -- reading -------------------------------------------------------------------------------
    def status(self) -> list[RoomStatusView]:
        """Every room: staffed (≥ 1 console heard from recently), live consoles, owned areas."""
        with self.ctx.read() as conn:
            rows = conn.execute(text(STATUS_SQL)).mappings().all()
        return [RoomStatusView(code=r["code"], name=r["name"], site=r["site"],
                               staffed=r["live_consoles"] > 0, live_consoles=r["live_consoles"],
                               areas=tuple(r["areas"]), home_areas=tuple(r["home_areas"])) for r in rows]

    def areas(self) -> list[AreaView]:
        with self.ctx.read() as conn:
            rows = conn.execute(text("SELECT code, name, room_code, home_room_code FROM areas "
                                     "ORDER BY code")).mappings().all()
        return [AreaView(**r) for r in rows]

    def history(self, *, limit: int = 50) -> list[TransferRecord]:
        """Latest areas changing hands, newest first."""
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                "SELECT id, at, kind, area_code, from_room, to_room, reason, username, incidents_moved "
                "FROM area_transfers ORDER BY id DESC LIMIT :n"), {"n": max(1, min(int(limit), 1000))}
            ).mappings().all()
        return [TransferRecord(**r) for r in rows]

    def room_names(self) -> dict[str, str]:
        if self._room_names is None:
            with self.ctx.read() as conn:
                self._room_names = dict(conn.execute(text("SELECT code, name FROM rooms")).all())
        return self._room_names

    @property
    def my_room(self) -> str | None:
        return self.ctx.actor.room_code

    def owner_of(self, area_code: str) -> str:
        """The room handling an area now (from the session's live cache)."""
        return self.ctx.area_rooms[area_code]

    # -- presence ------------------------------------------------------------------------------
    def heartbeat(self) -> dict[str, bool]:
        """Stamp this console as live; returns the rooms whose staffed state this beat changed."""
        return self._beat(signing_out=False)

    def sign_out(self) -> dict[str, bool]:
        """This console stops staffing its room now (called on close)."""
        return self._beat(signing_out=True)

    def _beat(self, *, signing_out: bool) -> dict[str, bool]:
        # One API call (migration 0039): the database stamps the console bound to this operator's
        # session, recomputes the rooms' staffed state and announces a change once. Telemetry:
        # not recorded for in-doubt resolution (the next beat supersedes a lost one).
        with self.ctx.single() as tx:
            return dict(tx.call("api.console_heartbeat", signing_out=signing_out, in_doubt=False) or {})

    def start_heartbeat(self, *, every_s: float = HEARTBEAT_EVERY_S) -> None:
        """Beat now and then every `every_s` on a background thread until `shutdown()` (Session.close calls it)."""
        if self._hb_thread is not None:
            return
        self._hb_stop.clear()
        self._hb_thread = threading.Thread(target=self._heartbeat_loop, args=(every_s,),
                                           name="controlroom-heartbeat", daemon=True)
        self._hb_thread.start()

    def _heartbeat_loop(self, every_s: float) -> None:
        while True:
            try:
                self.heartbeat()
                handoff.on_heartbeat(self.ctx)  # issue 14: return work held by dead consoles
            except ControlRoomError as exc:  # DB down: the listener already shows it; keep beating
                handoff.on_heartbeat_failed(self.ctx)
                log.debug("heartbeat failed: %s", exc)
            except Exception:
                log.exception("heartbeat failed")
            if self._hb_stop.wait(every_s):
                return

    def shutdown(self) -> None:
        """Stop the heartbeat and sign out, so the room shows unstaffed at once if we were last."""
        thread, self._hb_thread = self._hb_thread, None
        if thread is None:
            return
        self._hb_stop.set()
        thread.join(timeout=5)
        try:
            self.sign_out()
        except ControlRoomError:
            pass  # DB gone: the TTL retires this console instead

    # -- areas changing hands ------------------------------------------------------------------
    # One database API call each (migration 0032): the database checks the group, moves the
    # areas and their open incidents, records area_transfers and the incidents' log lines, and
    # emits the room.* event; the room taken over to is the caller's own (never a parameter).
    def transfer_area(self, area_code: str, to_room: str, *, reason: str) -> TransferView:
        """Move one area (and its open incidents) to another room (supervisor and above)."""
        ctx = self.ctx
        ctx.require("room.transfer_area", entity=f"area:{area_code}", what="transfer areas between rooms")
        if not isinstance(area_code, str) or area_code not in ctx.area_rooms:
            raise InvalidInput(f"Area '{area_code}' is not recognised. Areas are: "
                               f"{', '.join(sorted(ctx.area_rooms))}.", field="area_code")
        names = self.room_names()
        if not isinstance(to_room, str) or to_room not in names:
            raise InvalidInput(f"Room '{to_room}' is not recognised. Rooms are: {', '.join(sorted(names))}.",
                               field="to_room")
        why = text_field(reason, "Reason", field="reason", max_len=500)
        return self._call("api.room_transfer_area", area_code=area_code, to_room=to_room, reason=why)

    def take_over_all(self, *, reason: str) -> TransferView:
        """Business continuity: every area moves to the caller's room in one transaction (inspector)."""
        ctx = self.ctx
        ctx.require("room.take_over", entity="areas:all", what="take over all areas")
        if ctx.actor.room_code is None:
            raise InvalidInput("You have no home room, so there is no room to take the areas over to.")
        why = text_field(reason, "Reason", field="reason", max_len=500)
        return self._call("api.room_take_over", reason=why)

    def hand_back(self, *, reason: str | None = None) -> TransferView:
        """Restore the normal split: every area back to its home room (inspector)."""
        ctx = self.ctx
        ctx.require("room.hand_back", entity="areas:all", what="hand areas back to their rooms")
        why = text_field(reason, "Reason", field="reason", max_len=500, required=False)
        return self._call("api.room_hand_back", reason=why)

    def _call(self, function: str, **params: Any) -> TransferView:
        with self.ctx.single() as tx:
            p = tx.call(function, **params)
        moved = {c: (m["from"], m["to"]) for c, m in sorted(p["moved"].items())}
        return self._applied(TransferView(kind=p["kind"], to_room=p["to_room"], moved=moved,
                                          incident_ids=tuple(p["incident_ids"]), area_rooms=p["area_rooms"],
                                          reason=p["reason"], seq=int(p["seq"])))

    def _applied(self, view: TransferView) -> TransferView:
        view = dataclasses.replace(view, seq=int(view.seq))  # known now the transaction committed
        # Our own cache follows at once; the event brings the same map to every other console.
        self.ctx.area_rooms.update(view.area_rooms)
        return view
