"""Talk-group service: the writer of `talk_groups` allocation state, patches, unit membership
(`units.talk_group`) and the radio log. Exclusivity is the database's job (conditional UPDATE with
SKIP LOCKED, CHECK and partial unique indexes from migration 0007), never a Python check."""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from sqlalchemy import text

from ..errors import Conflict, InvalidInput
from .base import ServiceContext, Tx
from .validate import int_id, text_field
from .talkgroup_views import (GROUPS_SQL, PoolStatus, TalkGroupView, TransmissionView, armed_warning,
                              group_dict, owning_room, pool_warning, view_of)
from .views import view_from

__all__ = ["TalkGroupService", "TalkGroupView", "TransmissionView", "PoolStatus", "release_on_close",
           "owning_room", "group_dict", "view_of", "armed_warning", "pool_warning"]

KIND_ORDER = ("primary", "incident", "hailing", "partner", "training")
PATCHABLE = ("partner", "hailing")
MAX_UNITS_PER_MOVE = 200
_NAME = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,39}$")
_CALLSIGN = re.compile(r"^[A-Z0-9]{1,16}$")

# Pick a free pool group and take it in one statement: SKIP LOCKED lets a second console take the
# next free group instead of waiting, and `incident_id IS NULL` re-checked under the row lock
# means two consoles can never both get the same one.
ALLOCATE_ANY_SQL = """
UPDATE talk_groups t SET incident_id = :i, allocated_at = now()
WHERE t.name = (SELECT name FROM talk_groups WHERE kind = :pool AND incident_id IS NULL
                ORDER BY name FOR UPDATE SKIP LOCKED LIMIT 1)
  AND t.incident_id IS NULL
RETURNING t.name
"""
ALLOCATE_NAMED_SQL = """
UPDATE talk_groups SET incident_id = :i, allocated_at = now()
WHERE name = :n AND kind = :pool AND incident_id IS NULL RETURNING name
"""
HISTORY_SQL = """
INSERT INTO talk_group_allocations (talk_group, incident_id, allocated_by, console_id)
VALUES (:n, :i, :u, :c)
"""


def _groups(tx_or_conn: Any, where: str, params: dict[str, Any]) -> list[Mapping[str, Any]]:
    sql = GROUPS_SQL.replace("{where}", where)
    conn = tx_or_conn.conn if isinstance(tx_or_conn, Tx) else tx_or_conn
    return list(conn.execute(text(sql), params).mappings().all())


def _one_group(tx: Tx, name: str) -> dict[str, Any]:
    return group_dict(_groups(tx, "t.name = :n", {"n": name})[0], tx.ctx.area_rooms)


def _log(tx: Tx, incident_id: int, line: str) -> None:
    a = tx.ctx.actor
    tx.execute("INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
               "VALUES (:i, :u, :c, 'talkgroup', :t)",
               {"i": incident_id, "u": a.username, "c": a.console_id, "t": line})


def _release(tx: Tx, incident_id: int, names: Iterable[str], *, reason: str) -> list[dict[str, Any]]:
    """Free the named groups of one incident: history, patches, units back to primary, log, event."""
    a = tx.ctx.actor
    out: list[dict[str, Any]] = []
    inc = tx.execute("SELECT urn, room_code, area_code FROM incidents WHERE id = :i",
                     {"i": incident_id}).mappings().one()
    for name in names:
        freed = tx.execute("UPDATE talk_groups SET incident_id = NULL, allocated_at = NULL "
                           "WHERE name = :n AND incident_id = :i RETURNING name",
                           {"n": name, "i": incident_id}).scalar()
        if freed is None:
            continue
        tx.execute("UPDATE talk_group_allocations SET released_at = now(), released_by = :u, "
                   "release_reason = :r WHERE talk_group = :n AND released_at IS NULL",
                   {"u": a.username, "r": reason, "n": name})
        unpatched = tx.execute("UPDATE talk_group_patches SET unpatched_at = now(), unpatched_by = :u "
                               "WHERE incident_group = :n AND unpatched_at IS NULL RETURNING other_group",
                               {"u": a.username, "n": name}).scalars().all()
        # Units left on a released group go back to their area's primary (NULL = primary).
        returned = tx.execute(
            "UPDATE units u SET talk_group = NULL WHERE talk_group = :n RETURNING u.callsign, "
            "(SELECT p.name FROM talk_groups p WHERE p.kind = 'primary' AND p.area_code = u.area_code "
            "LIMIT 1) AS to", {"n": name}).mappings().all()
        why = "incident closed" if reason == "closed" else "released"
        line = f"Talk group {name} {why}"
        if returned:
            line += f"; {', '.join(sorted(r['callsign'] for r in returned))} back to primary"
        if unpatched:
            line += f"; patch with {', '.join(unpatched)} ended"
        _log(tx, incident_id, line + ".")
        group = _one_group(tx, name)
        room = tx.ctx.area_rooms.get(inc["area_code"], inc["room_code"])
        payload = {**group, "released_from": {"incident_id": incident_id, "urn": inc["urn"]},
                   "reason": reason, "unpatched": list(unpatched),
                   "units_returned": [{"callsign": r["callsign"], "to": r["to"]}
                                      for r in sorted(returned, key=lambda r: r["callsign"])]}
        tx.emit("talkgroup.released", name, payload, room=room)
        out.append(payload)
    return out


def release_on_close(tx: Tx, incident_id: int) -> list[str]:
    """Called by incidents.close() inside its transaction: free every group of the incident."""
    names = tx.execute("SELECT name FROM talk_groups WHERE incident_id = :i ORDER BY name FOR UPDATE",
                       {"i": incident_id}).scalars().all()
    return [p["name"] for p in _release(tx, incident_id, names, reason="closed")]


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

    def for_incident(self, incident_id: int) -> list[TalkGroupView]:
        """Groups allocated to the incident, plus the partner groups patched into them."""
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            rows = _groups(conn, "t.incident_id = :i", {"i": incident_id})
        return [view_of(group_dict(r, self.ctx.area_rooms)) for r in rows]

    def pool_status(self) -> PoolStatus:
        with self.ctx.read() as conn:
            free, total = conn.execute(text(
                "SELECT count(*) FILTER (WHERE incident_id IS NULL), count(*) FROM talk_groups "
                "WHERE kind = :k"), {"k": self.pool_kind}).one()
        return PoolStatus(self.pool_kind, int(free), int(total))

    def transmissions(self, *, name: str | None = None, incident_id: int | None = None,
                      limit: int = 200) -> list[TransmissionView]:
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

    def armed_without_group(self) -> list[tuple[int, str, tuple[str, ...]]]:
        """(incident id, URN, armed callsigns) for open incidents with ARVs but no talk group."""
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                "SELECT i.id, i.urn, array_agg(u.callsign ORDER BY u.callsign) AS armed FROM units u "
                "JOIN incidents i ON i.id = u.incident_id WHERE 'ARV' = ANY(u.capabilities) "
                "AND i.status <> 'closed' AND NOT EXISTS (SELECT 1 FROM talk_groups t "
                "WHERE t.incident_id = i.id) GROUP BY i.id, i.urn ORDER BY i.id")).all()
        return [(r[0], r[1], tuple(r[2])) for r in rows]

    def warnings(self) -> list[str]:
        """Armed units on an incident with no dedicated talk group; the pool running low."""
        out = [armed_warning(urn, armed) for _, urn, armed in self.armed_without_group()]
        pool = self.pool_status()
        if pool.low:
            out.append(pool_warning(pool))
        return out

    # ---- writes ------------------------------------------------------------------------------
    def allocate(self, incident_id: int, *, name: str | None = None) -> TalkGroupView:
        """Allocate a free pool group (or the named one) to the incident; exclusive by the DB."""
        ctx = self.ctx
        ctx.require("talkgroup.allocate", entity=f"incident:{incident_id}", what="allocate talk groups")
        incident_id = int_id(incident_id)
        name = None if name is None else self._name(name)
        pool, a = self.pool_kind, ctx.actor
        with ctx.tx() as tx:
            inc = self._open_incident(tx, incident_id)
            if name is None:
                got = tx.execute(ALLOCATE_ANY_SQL, {"i": incident_id, "pool": pool}).scalar()
                if got is None:
                    raise Conflict(self._empty_pool_message(tx, pool))
            else:
                got = tx.execute(ALLOCATE_NAMED_SQL, {"i": incident_id, "n": name, "pool": pool}).scalar()
                if got is None:
                    self._explain_named_refusal(tx, name, pool, incident_id)
            tx.execute(HISTORY_SQL, {"n": got, "i": incident_id, "u": a.username, "c": a.console_id})
            _log(tx, incident_id, f"Talk group {got} allocated.")
            group = _one_group(tx, got)
            tx.emit("talkgroup.allocated", got, {**group, "incident": dict(inc)}, room=group["room_code"])
        return view_of(group)

    def release(self, incident_id: int, name: str) -> TalkGroupView:
        """Give a group back to the pool; it must be allocated to that incident."""
        ctx = self.ctx
        ctx.require("talkgroup.release", entity=f"incident:{incident_id}", what="release talk groups")
        incident_id, name = int_id(incident_id), self._name(name)
        with ctx.tx() as tx:
            inc = tx.execute("SELECT id, urn FROM incidents WHERE id = :i", {"i": incident_id}).mappings().first()
            if inc is None:
                raise InvalidInput(f"No incident with reference {incident_id}.", field="incident_id")
            done = _release(tx, incident_id, [name], reason="released")
            if not done:
                holder = tx.execute("SELECT t.incident_id, i.urn FROM talk_groups t LEFT JOIN incidents i "
                                    "ON i.id = t.incident_id WHERE t.name = :n", {"n": name}).mappings().first()
                if holder is None:
                    raise InvalidInput(f"No talk group called {name}.", field="name")
                now = f"allocated to {holder['urn']}" if holder["incident_id"] else "free"
                raise InvalidInput(f"{name} is not allocated to {inc['urn']} (it is {now}); nothing released.",
                                   field="name")
        return view_of(done[0])

    def move_units(self, name: str, callsigns: Iterable[str]) -> TalkGroupView:
        """Record that these units are now on this talk group."""
        ctx = self.ctx
        ctx.require("talkgroup.move", entity=f"talkgroup:{name}", what="move units between talk groups")
        name, calls = self._name(name), self._callsigns(callsigns)
        with ctx.tx() as tx:
            tg = tx.execute("SELECT name, kind, incident_id FROM talk_groups WHERE name = :n FOR SHARE",
                            {"n": name}).mappings().first()
            self._check_usable(tg, name)
            if tg["kind"] in ("incident", "training") and tg["incident_id"] is None:
                raise InvalidInput(f"{name} is not allocated to an incident; allocate it before moving "
                                   "units onto it.", field="name")
            moved = tx.execute(
                "UPDATE units u SET talk_group = :n FROM (SELECT callsign, coalesce(talk_group, "
                "(SELECT p.name FROM talk_groups p WHERE p.kind = 'primary' AND p.area_code = x.area_code "
                "LIMIT 1)) AS prev FROM units x WHERE callsign = ANY(:cs) FOR UPDATE) old "
                "WHERE u.callsign = old.callsign RETURNING u.callsign, old.prev",
                {"n": name, "cs": calls}).mappings().all()
            missing = sorted(set(calls) - {m["callsign"] for m in moved})
            if missing:
                raise InvalidInput(f"Unknown callsign(s): {', '.join(missing)}; nobody was moved.",
                                   field="callsigns")
            if tg["incident_id"] is not None:
                _log(tx, tg["incident_id"], f"{', '.join(calls)} moved to talk group {name}.")
            group = _one_group(tx, name)
            tx.emit("talkgroup.units_moved", name,
                    {**group, "moved": [{"callsign": m["callsign"], "from": m["prev"]} for m in moved]},
                    room=group["room_code"])
        return view_of(group)

    def patch(self, a: str, b: str) -> TalkGroupView:
        """Link a partner or hailing group to an allocated incident group (order does not matter)."""
        ctx = self.ctx
        ctx.require("talkgroup.patch", entity=f"talkgroup:{a}", what="patch talk groups")
        a, b = self._name(a), self._name(b)
        if a == b:
            raise InvalidInput("A talk group cannot be patched to itself.", field="b")
        with ctx.tx() as tx:
            inc_group, other, incident_id = self._patch_pair(tx, a, b)
            got = tx.execute(
                "INSERT INTO talk_group_patches (incident_group, other_group, incident_id, patched_by) "
                "VALUES (:g, :o, :i, :u) ON CONFLICT (other_group) WHERE unpatched_at IS NULL DO NOTHING "
                "RETURNING id", {"g": inc_group, "o": other, "i": incident_id, "u": ctx.actor.username}).scalar()
            if got is None:
                held = tx.execute("SELECT p.incident_group, i.urn FROM talk_group_patches p JOIN incidents i "
                                  "ON i.id = p.incident_id WHERE p.other_group = :o AND p.unpatched_at IS NULL",
                                  {"o": other}).mappings().first()
                raise Conflict(f"{other} is already patched to {held['incident_group']} ({held['urn']}); "
                               "unpatch it there first.")
            _log(tx, incident_id, f"Talk group {other} patched to {inc_group}.")
            group = _one_group(tx, inc_group)
            tx.emit("talkgroup.patched", inc_group, {**group, "patched": other, "linked": True,
                                                     "other": _one_group(tx, other)}, room=group["room_code"])
        return view_of(group)

    def unpatch(self, a: str, b: str) -> TalkGroupView:
        """End the patch between two groups."""
        ctx = self.ctx
        ctx.require("talkgroup.patch", entity=f"talkgroup:{a}", what="patch talk groups")
        a, b = self._name(a), self._name(b)
        with ctx.tx() as tx:
            row = tx.execute(
                "UPDATE talk_group_patches SET unpatched_at = now(), unpatched_by = :u "
                "WHERE unpatched_at IS NULL AND ((incident_group = :a AND other_group = :b) OR "
                "(incident_group = :b AND other_group = :a)) RETURNING incident_group, other_group, incident_id",
                {"a": a, "b": b, "u": ctx.actor.username}).mappings().first()
            if row is None:
                raise InvalidInput(f"{a} and {b} are not patched together.", field="b")
            _log(tx, row["incident_id"], f"Patch of {row['other_group']} to {row['incident_group']} ended.")
            group = _one_group(tx, row["incident_group"])
            tx.emit("talkgroup.patched", row["incident_group"],
                    {**group, "patched": row["other_group"], "linked": False,
                     "other": _one_group(tx, row["other_group"])}, room=group["room_code"])
        return view_of(group)

    def log_transmission(self, name: str, text: str, *, callsign: str | None = None) -> TransmissionView:
        """Radio log entry on a group; attached to (and copied into the log of) its incident."""
        ctx = self.ctx
        ctx.require("talkgroup.log", entity=f"talkgroup:{name}", what="write the radio log")
        name = self._name(name)
        body = text_field(text, "Radio log entry", field="text", max_len=2000)
        if callsign is not None:
            callsign = self._callsigns([callsign])[0]
        a = ctx.actor
        with ctx.tx() as tx:
            row = tx.execute(
                "INSERT INTO talkgroup_transmissions (talk_group, incident_id, username, console_id, "
                "callsign, text) SELECT name, incident_id, :u, :c, :cs, :t FROM talk_groups WHERE name = :n "
                "RETURNING *", {"u": a.username, "c": a.console_id, "cs": callsign, "t": body,
                                "n": name}).mappings().first()
            if row is None:
                raise InvalidInput(f"No talk group called {name}.", field="name")
            entry = view_from(TransmissionView, row)
            room = None
            if entry.incident_id is not None:
                who = f"{callsign}: " if callsign else ""
                _log_radio(tx, entry.incident_id, f"[{name}] {who}{body}")
                room = tx.execute("SELECT room_code FROM incidents WHERE id = :i",
                                  {"i": entry.incident_id}).scalar()
            tx.emit("talkgroup.transmission", name, dict(row), room=room)
        return entry

    # ---- helpers -----------------------------------------------------------------------------
    def _name(self, name: Any) -> str:
        v = text_field(name, "Talk group", field="name", max_len=40, multiline=False) or ""
        v = v.upper()
        if not _NAME.match(v):
            raise InvalidInput(f"'{name}' is not a talk-group name (letters, digits and dashes).", field="name")
        return v

    def _callsigns(self, callsigns: Any) -> list[str]:
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

    def _open_incident(self, tx: Tx, incident_id: int) -> Mapping[str, Any]:
        # FOR SHARE: a concurrent close() (an UPDATE of this row) waits for us or we see it closed,
        # so a group can never stay allocated to an incident that closed meanwhile.
        inc = tx.execute("SELECT id, urn, status, room_code, area_code FROM incidents WHERE id = :i FOR SHARE",
                         {"i": incident_id}).mappings().first()
        if inc is None:
            raise InvalidInput(f"No incident with reference {incident_id}.", field="incident_id")
        if inc["status"] == "closed":
            raise InvalidInput(f"{inc['urn']} is closed; talk groups go to open incidents only.",
                               field="incident_id")
        return inc

    def _empty_pool_message(self, tx: Tx, pool: str) -> str:
        rows = tx.execute("SELECT t.name, i.urn FROM talk_groups t LEFT JOIN incidents i ON i.id = t.incident_id "
                          "WHERE t.kind = :k ORDER BY t.name", {"k": pool}).mappings().all()
        held = [f"{r['name']} {r['urn']}" for r in rows if r["urn"]]
        shown = ", ".join(held[:6]) + (f", … {len(held) - 6} more" if len(held) > 6 else "")
        return (f"No {pool} talk groups free: all {len(rows)} are allocated ({shown}). "
                "Release one from a finished incident first.")

    def _explain_named_refusal(self, tx: Tx, name: str, pool: str, incident_id: int) -> None:
        tg = tx.execute("SELECT t.kind, t.incident_id, i.urn, a.allocated_by FROM talk_groups t "
                        "LEFT JOIN incidents i ON i.id = t.incident_id LEFT JOIN talk_group_allocations a "
                        "ON a.talk_group = t.name AND a.released_at IS NULL WHERE t.name = :n",
                        {"n": name}).mappings().first()
        if tg is None:
            raise InvalidInput(f"No talk group called {name}.", field="name")
        if tg["kind"] == "training" and pool != "training":
            raise InvalidInput(f"{name} is a training talk group; it cannot be allocated from a live console.",
                               field="name")
        if tg["kind"] == "incident" and pool == "training":
            raise InvalidInput(f"{name} is a live talk group; a training console may not allocate it.",
                               field="name")
        if tg["kind"] != pool:
            raise InvalidInput(f"{name} is a {tg['kind']} talk group; only {pool} talk groups are allocated "
                               "(patch partner and hailing groups instead).", field="name")
        same = " this incident" if tg["incident_id"] == incident_id else ""
        raise Conflict(f"{name} is already allocated to{same} {tg['urn']} by {tg['allocated_by'] or 'another console'}.")

    def _check_usable(self, tg: Mapping[str, Any] | None, name: str) -> None:
        if tg is None:
            raise InvalidInput(f"No talk group called {name}.", field="name")
        if (tg["kind"] == "training") != self.ctx.training:
            side = "training" if tg["kind"] == "training" else "live"
            raise InvalidInput(f"{name} is a {side} talk group; not usable from this console.", field="name")

    def _patch_pair(self, tx: Tx, a: str, b: str) -> tuple[str, str, int]:
        rows = {r["name"]: r for r in tx.execute(
            "SELECT name, kind, incident_id FROM talk_groups WHERE name IN (:a, :b) ORDER BY name FOR SHARE",
            {"a": a, "b": b}).mappings().all()}
        for n in (a, b):
            self._check_usable(rows.get(n), n)
        pool = [n for n in (a, b) if rows[n]["kind"] in ("incident", "training")]
        other = [n for n in (a, b) if rows[n]["kind"] in PATCHABLE]
        if len(pool) != 1 or len(other) != 1:
            raise InvalidInput("A patch links one incident talk group with one partner or hailing group "
                               f"({a} is {rows[a]['kind']}, {b} is {rows[b]['kind']}).", field="b")
        if rows[pool[0]]["incident_id"] is None:
            raise InvalidInput(f"{pool[0]} is not allocated to an incident; allocate it first.", field="a")
        return pool[0], other[0], rows[pool[0]]["incident_id"]


def _log_radio(tx: Tx, incident_id: int, line: str) -> None:
    a = tx.ctx.actor
    tx.execute("INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
               "VALUES (:i, :u, :c, 'radio', :t)",
               {"i": incident_id, "u": a.username, "c": a.console_id, "t": line[:4000]})
