"""Talk-group service: the writer of `talk_groups` allocation state, patches, unit membership
(`units.talk_group`) and the radio log. Exclusivity is the database's job (conditional UPDATE with
SKIP LOCKED, CHECK and partial unique indexes from migration 0007), never a Python check."""
from __future__ import annotations

import builtins
import re
from typing import Any, Iterable, Mapping

from sqlalchemy import text

from ...kernel.errors import InvalidInput
from ..base import ServiceContext, Tx
from ..validate import int_id, text_field
from .views import (GROUPS_SQL, PoolStatus, TalkGroupView, TransmissionView, armed_warning, group_dict,
    owning_room, pool_warning, view_of)
from ..views import view_from

__all__ = ["TalkGroupService", "TalkGroupView", "TransmissionView", "PoolStatus",
           "owning_room", "group_dict", "view_of", "armed_warning", "pool_warning"]

KIND_ORDER = ("primary", "incident", "hailing", "partner", "training")
MAX_UNITS_PER_MOVE = 200
_NAME = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,39}$")
_CALLSIGN = re.compile(r"^[A-Z0-9]{1,16}$")

# Every write is ONE database API function (migration 0029, api.talkgroup_*): exclusivity (SKIP
# LOCKED + `incident_id IS NULL` under the row lock + the partial unique indexes of 0007), the pool
# by the database's own mode (live: incident groups, training: training groups), the rows, the
# incident/radio log lines and the talkgroup.* event are all the database's.


def _groups(tx_or_conn: Any, where: str, params: dict[str, Any]) -> list[Mapping[str, Any]]:
    sql = GROUPS_SQL.replace("{where}", where)
    conn = tx_or_conn.conn if isinstance(tx_or_conn, Tx) else tx_or_conn
    return list(conn.execute(text(sql), params).mappings().all())


class TalkGroupService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    @property
    def pool_kind(self) -> str:
        """Live consoles allocate from the incident pool, training consoles from training groups."""
        return "training" if self.ctx.training else "incident"

    # ---- reads -------------------------------------------------------------------------------
    def list(self) -> list[TalkGroupView]:
        """Every talk group with its state, units and owning room (primary, pool, hailing, ...)."""
        with self.ctx.read() as conn:
            rows = _groups(conn, "true", {})
        return [view_of(group_dict(r, self.ctx.area_rooms)) for r in rows]

    def get(self, name: str) -> TalkGroupView:
        name = self._name(name)
        with self.ctx.read() as conn:
            rows = _groups(conn, "t.name = :n", {"n": name})
        if not rows:
            raise InvalidInput(f"No talk group called {name}.", field="name")
        return view_of(group_dict(rows[0], self.ctx.area_rooms))

    def for_incident(self, incident_id: int) -> builtins.list[TalkGroupView]:
        """Groups allocated to the incident, plus the partner groups patched into them."""
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            rows = _groups(conn, "t.incident_id = :i", {"i": incident_id})
        return [view_of(group_dict(r, self.ctx.area_rooms)) for r in rows]

    def pool_status(self) -> PoolStatus:
        with self.ctx.read() as conn:
            free, total = conn.execute(text(
                "SELECT count(*) FILTER (WHERE incident_id IS NULL), count(*) FROM talk_groups "
                "WHERE kind = :k"), {"k": self.pool_kind}).tuples().one()
        return PoolStatus(self.pool_kind, int(free), int(total))

    def transmissions(self, *, name: str | None = None, incident_id: int | None = None,
                      limit: int = 200) -> builtins.list[TransmissionView]:
        """Radio log, newest last, for one talk group or one incident."""
        if (name is None) == (incident_id is None):
            raise InvalidInput("Give either a talk group or an incident for the radio log.", field="name")
        where, p = ("talk_group = :v", self._name(name)) if name is not None else \
            ("incident_id = :v", int_id(incident_id))
        with self.ctx.read() as conn:
            rows = conn.execute(text(f"SELECT * FROM (SELECT * FROM talkgroup_transmissions WHERE {where} "
                                     "ORDER BY id DESC LIMIT :l) x ORDER BY id"),
                                {"v": p, "l": max(1, min(int(limit), 5000))}).mappings().all()
        return [view_from(TransmissionView, r) for r in rows]

    def armed_without_group(self) -> builtins.list[tuple[int, str, tuple[str, ...]]]:
        """(incident id, URN, armed callsigns) for open incidents with ARVs but no talk group."""
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                "SELECT i.id, i.urn, array_agg(u.callsign ORDER BY u.callsign) AS armed FROM units u "
                "JOIN incidents i ON i.id = u.incident_id WHERE 'ARV' = ANY(u.capabilities) "
                "AND i.status <> 'closed' AND NOT EXISTS (SELECT 1 FROM talk_groups t "
                "WHERE t.incident_id = i.id) GROUP BY i.id, i.urn ORDER BY i.id")).all()
        return [(r[0], r[1], tuple(r[2])) for r in rows]

    def warnings(self) -> builtins.list[str]:
        """Armed units on an incident with no dedicated talk group; the pool running low."""
        out = [armed_warning(urn, armed) for _, urn, armed in self.armed_without_group()]
        pool = self.pool_status()
        if pool.low:
            out.append(pool_warning(pool))
        return out

    # ---- writes ------------------------------------------------------------------------------
    def _call(self, function: str, **params: Any) -> Any:
        with self.ctx.single() as tx:
            return tx.call(function, **params)

    def allocate(self, incident_id: int, *, name: str | None = None) -> TalkGroupView:
        """Allocate a free pool group (or the named one) to the incident; exclusive by the DB."""
        ctx = self.ctx
        ctx.require("talkgroup.allocate", entity=f"incident:{incident_id}", what="allocate talk groups")
        incident_id = int_id(incident_id)
        name = None if name is None else self._name(name)
        return view_of(self._call("api.talkgroup_allocate", incident_id=incident_id, name=name))

    def release(self, incident_id: int, name: str) -> TalkGroupView:
        """Give a group back to the pool; it must be allocated to that incident."""
        ctx = self.ctx
        ctx.require("talkgroup.release", entity=f"incident:{incident_id}", what="release talk groups")
        incident_id, name = int_id(incident_id), self._name(name)
        return view_of(self._call("api.talkgroup_release", incident_id=incident_id, name=name))

    def move_units(self, name: str, callsigns: Iterable[str]) -> TalkGroupView:
        """Record that these units are now on this talk group."""
        ctx = self.ctx
        ctx.require("talkgroup.move", entity=f"talkgroup:{name}", what="move units between talk groups")
        name, calls = self._name(name), self._callsigns(callsigns)
        return view_of(self._call("api.talkgroup_move_units", name=name, callsigns=calls))

    def patch(self, a: str, b: str) -> TalkGroupView:
        """Link a partner or hailing group to an allocated incident group (order does not matter)."""
        ctx = self.ctx
        ctx.require("talkgroup.patch", entity=f"talkgroup:{a}", what="patch talk groups")
        a, b = self._name(a), self._name(b)
        if a == b:
            raise InvalidInput("A talk group cannot be patched to itself.", field="b")
        return view_of(self._call("api.talkgroup_patch", a=a, b=b))

    def unpatch(self, a: str, b: str) -> TalkGroupView:
        """End the patch between two groups."""
        ctx = self.ctx
        ctx.require("talkgroup.patch", entity=f"talkgroup:{a}", what="patch talk groups")
        a, b = self._name(a), self._name(b)
        return view_of(self._call("api.talkgroup_unpatch", a=a, b=b))

    def log_transmission(self, name: str, text: str, *, callsign: str | None = None) -> TransmissionView:
        """Radio log entry on a group; attached to (and copied into the log of) its incident."""
        ctx = self.ctx
        ctx.require("talkgroup.log", entity=f"talkgroup:{name}", what="write the radio log")
        name = self._name(name)
        body = text_field(text, "Radio log entry", field="text", max_len=2000)
        if callsign is not None:
            callsign = self._callsigns([callsign])[0]
        row = self._call("api.talkgroup_log", name=name, text=body, callsign=callsign)
        return view_from(TransmissionView, row)

    # ---- helpers -----------------------------------------------------------------------------
    def _name(self, name: Any) -> str:
        v = text_field(name, "Talk group", field="name", max_len=40, multiline=False) or ""
        v = v.upper()
        if not _NAME.match(v):
            raise InvalidInput(f"'{name}' is not a talk-group name (letters, digits and dashes).", field="name")
        return v

    def _callsigns(self, callsigns: Any) -> builtins.list[str]:
        if isinstance(callsigns, str) or not isinstance(callsigns, Iterable):
            raise InvalidInput("Give the callsigns as a list.", field="callsigns")
        out: list[str] = []
        for c in callsigns:
            v = c.strip().upper() if isinstance(c, str) else ""
            if not _CALLSIGN.match(v):
                raise InvalidInput(f"'{c}' is not a callsign.", field="callsigns")
            if v not in out:
                out.append(v)
        if not out:
            raise InvalidInput("Name at least one unit to move.", field="callsigns")
        if len(out) > MAX_UNITS_PER_MOVE:
            raise InvalidInput(f"Too many units in one move ({len(out)}; at most {MAX_UNITS_PER_MOVE}).",
                               field="callsigns")
        return out


