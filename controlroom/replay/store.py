"""Replayer: the virtual room at any past moment = baseline + events, with in-memory snapshots.

Start: the latest baseline document (`replay_snapshots`, written by the database at seeding, after
training resets, or by `capture_baseline()`) at or before the wanted seq. `build()` streams the log
once from the earliest baseline and keeps a copy of the state every `snapshot_every` events, so
`state_at(seq)` = nearest snapshot at or before seq + at most `snapshot_every` events read by seq
range (one indexed query) and applied. Times map to seqs through an in-memory table.

Limitation (documented): history before the earliest baseline cannot be rebuilt - a database that
was seeded before migration 0013 replays from the moment that migration ran.
"""
from __future__ import annotations

import bisect
import threading
from datetime import datetime
from typing import Any, Callable, Iterator, Optional

from sqlalchemy import Engine, text

from ..db.engine import make_engine
from ..db.listener import Event
from ..kernel.errors import InvalidInput
from .state import VirtualRoomState, normalise_incident, normalise_unit
from ..services.base import db_errors

EVENTS_SQL = ("SELECT seq, kind, entity_id, room_code, payload, at, console_id, username FROM events "
              "WHERE seq > %(a)s AND seq <= %(b)s ORDER BY seq")
PAGE = 5000


def _event(r: Any) -> Event:
    return Event(seq=r[0], kind=r[1], entity_id=r[2], room_code=r[3], payload=r[4] or {}, at=r[5],
                 console_id=r[6], username=r[7])


class Replayer:
    """Rebuild the room at any seq or time. Thread-safe for readers after `build()`."""

    def __init__(self, engine_or_url: Engine | str, *, snapshot_every: int = 1000) -> None:
        self._own = isinstance(engine_or_url, str)
        self.engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
        self.snapshot_every = max(50, int(snapshot_every))
        self._baselines: list[tuple[int, str, dict[str, Any]]] = []
        self._snaps: list[VirtualRoomState] = []
        self._snap_seqs: list[int] = []
        self._head: Optional[VirtualRoomState] = None
        self._times: list[datetime] = []     # running max of `at`, per indexed event
        self._time_seqs: list[int] = []
        self._lock = threading.Lock()

    # ---- baselines ----------------------------------------------------------------------------
    def capture_baseline(self) -> int:
        """Write a baseline of the room as it is now: one database API call (inspectors and
        auditors; the database takes the event ordering lock so document and seq agree)."""
        with db_errors(), self.engine.begin() as conn:
            return int(conn.execute(text("SELECT api.replay_capture_baseline()")).scalar_one())

    def _load_baselines(self) -> None:
        with db_errors(), self.engine.connect() as conn:
            rows = conn.execute(text("SELECT seq, kind, state FROM replay_snapshots ORDER BY seq, id")).all()
        self._baselines = [(int(r[0]), r[1], r[2]) for r in rows]

    @property
    def first_seq(self) -> int:
        """The earliest seq that can be replayed exactly."""
        if not self._baselines:
            self._load_baselines()
        if not self._baselines:
            raise InvalidInput("This database has no replay baseline yet; nothing can be replayed.")
        return self._baselines[0][0]

    # ---- the index ----------------------------------------------------------------------------
    def build(self, progress: Callable[[int], None] | None = None) -> "Replayer":
        """Read the whole log once from the earliest baseline, keeping periodic snapshots."""
        self._load_baselines()
        self.first_seq  # raises when there is no baseline
        seq, kind, doc = self._baselines[0]
        state = VirtualRoomState.from_baseline(seq, doc)
        with self._lock:
            self._snaps, self._snap_seqs, self._times, self._time_seqs = [state.copy()], [seq], [], []
            self._head = state
        self._extend(progress)
        return self

    def refresh(self) -> int:
        """Index events appended since the last build/refresh; returns the head seq."""
        if self._head is None:
            self.build()
        else:
            self._extend(None)
        assert self._head is not None
        return self._head.seq

    def _extend(self, progress: Callable[[int], None] | None) -> None:
        assert self._head is not None
        state = self._head
        since = state.applied - (state.applied % self.snapshot_every)
        resets = {s: d for s, k, d in self._baselines if k == "reset"}
        for ev in self._stream(state.seq, None):
            state.apply(ev)
            if ev.seq in resets:  # a training reset rewrote the tables: its baseline is the truth
                fresh = VirtualRoomState.from_baseline(ev.seq, resets[ev.seq])
                fresh.created, fresh.consoles, fresh.applied = state.created, state.consoles, state.applied
                fresh.at = ev.at
                state = self._head = fresh
            if ev.at is not None:
                top = ev.at if not self._times or ev.at > self._times[-1] else self._times[-1]
                self._times.append(top)
                self._time_seqs.append(ev.seq)
            if state.applied - since >= self.snapshot_every:
                since = state.applied
                with self._lock:
                    self._snaps.append(state.copy())
                    self._snap_seqs.append(state.seq)
                if progress is not None:
                    progress(state.seq)

    def _stream(self, after: int, upto: Optional[int]) -> Iterator[Event]:
        """Events after `after` (up to `upto`) in seq order, a page at a time."""
        with db_errors(), self.engine.connect() as conn:
            hi = upto if upto is not None else conn.execute(text("SELECT coalesce(max(seq), 0) FROM events")).scalar_one()
            lo = after
            while lo < hi:
                top = min(hi, lo + PAGE)
                rows = conn.exec_driver_sql(EVENTS_SQL, {"a": lo, "b": top}).all()
                for r in rows:
                    yield _event(r)
                lo = top

    # ---- queries ------------------------------------------------------------------------------
    @property
    def head_seq(self) -> int:
        return self._head.seq if self._head is not None else 0

    def seq_at(self, at: datetime) -> int:
        """The last seq whose event (and every one before it) was recorded at or before `at`."""
        if self._head is None:
            self.build()
        i = bisect.bisect_right(self._times, at)
        return self._time_seqs[i - 1] if i else self.first_seq

    def time_of(self, seq: int) -> Optional[datetime]:
        i = bisect.bisect_right(self._time_seqs, seq)
        return self._times[i - 1] if i else None

    def state_at(self, seq: int | None = None, *, at: datetime | None = None) -> VirtualRoomState:
        """A private copy of the room as it was once event `seq` (or time `at`) was recorded."""
        if self._head is None:
            self.build()
        if at is not None:
            seq = self.seq_at(at)
        if seq is None:
            seq = self.head_seq
        if seq < self.first_seq:
            raise InvalidInput(f"Replay starts at event #{self.first_seq} (the earliest baseline); "
                               "the room before that cannot be rebuilt exactly.", field="seq")
        with self._lock:
            i = bisect.bisect_right(self._snap_seqs, seq) - 1
            state = self._snaps[max(i, 0)].copy()
        if state.seq < seq:
            state.apply_all(self._stream(state.seq, seq))
        return state

    def events(self, after: int, upto: int) -> list[Event]:
        """The events in (after, upto], e.g. to play forward from a state."""
        return list(self._stream(after, upto))

    def incident_creations(self) -> dict[int, tuple[int, str]]:
        """incident id -> (seq of creation, URN), for 'jump to an incident's creation'."""
        return dict(self._head.created) if self._head is not None else {}

    def close(self) -> None:
        if self._own:
            self.engine.dispose()


def live_structured(session: Any) -> dict[str, Any]:
    """The live room through the services, normalised like VirtualRoomState.structured()."""
    areas = {a.code: a.room_code for a in session.rooms.areas()}
    units = {u.callsign: normalise_unit(u.__dict__) for u in session.units.list()}
    groups = {g.name: (g.incident_id, tuple(sorted(g.patched_with))) for g in session.talkgroups.list()
              if g.incident_id is not None or g.patched_with}
    incidents = {}
    for inc in session.incidents.list_open():
        d = dict(inc.__dict__)
        with session.ctx.read() as conn:  # columns the IncidentView does not carry
            extra = conn.execute(text("SELECT firearms_declared_at, armed_authorised_at, armed_authorised_by, "
                                      "major_kind FROM incidents WHERE id = :i"), {"i": inc.id}).mappings().one()
        d.update(extra)
        d["room_code"] = areas.get(inc.area_code, inc.room_code)
        d["units"] = tuple(cs for cs, u in units.items() if u["incident_id"] == inc.id)
        d["talk_groups"] = tuple(n for n, g in groups.items() if g[0] == inc.id)
        chain = session.command.current_command(inc.id)
        d["command"] = {r.role: {"holder": r.holder, "accredited": r.accredited} for r in chain.roles}
        incidents[inc.id] = normalise_incident(d)
    return {"areas": dict(sorted(areas.items())), "incidents": dict(sorted(incidents.items())),
            "units": dict(sorted(units.items())), "talk_groups": dict(sorted(groups.items()))}


__all__ = ["Replayer", "live_structured"]
