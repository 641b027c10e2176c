"""In-memory index of unit positions and statuses for recommendations (no DB read per call).

Built once from one read of `units`, then kept current from the session's event stream (and from
the session's own writes at once). Per capability, an STRtree holds the deployable units as they
were when it was built; units that changed since are kept in a small "dirty" overlay and checked
directly, so the tree is rebuilt only now and then rather than on every AVL update.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import shapely
from shapely.strtree import STRtree

from ...geo import haversine_m

# Equirectangular metres around the force's latitude: < 0.5 % error across Thames Valley, which is
# plenty for ranking; reported distances use the haversine.
_LAT0 = math.radians(51.75)
KX = 111_320.0 * math.cos(_LAT0)
KY = 110_574.0


@dataclass(slots=True)
class IndexedUnit:
    callsign: str
    capabilities: tuple[str, ...]
    status: str
    lat: float | None
    lon: float | None
    area_code: str | None
    home_area_code: str | None
    incident_id: int | None
    seq: int = 0


@dataclass(frozen=True)
class Hit:
    unit: IndexedUnit
    distance_m: float
    eta_s: float


def _xy(u: IndexedUnit) -> tuple[float, float]:
    """Metres east/north of a unit the index holds a position for (UnitIndex._ok checked it has one)."""
    assert u.lat is not None and u.lon is not None, u.callsign
    return u.lon * KX, u.lat * KY


class _Tree:
    __slots__ = ("tree", "callsigns")

    def __init__(self, members: list[IndexedUnit]) -> None:
        self.callsigns = [u.callsign for u in members]
        xy = [_xy(u) for u in members]
        xs = np.fromiter((x for x, _ in xy), np.float64, len(xy))
        ys = np.fromiter((y for _, y in xy), np.float64, len(xy))
        self.tree = STRtree(shapely.points(xs, ys)) if members else None


class UnitIndex:
    """Thread-safe: events arrive on the listener thread, queries on the caller's."""

    def __init__(self, *, speeds_kmh: Mapping[str, float], default_speed_kmh: float,
                 road_factor: float, deployable: Iterable[str]) -> None:
        self.speeds = {k: float(v) / 3.6 for k, v in speeds_kmh.items()}
        self.default_speed = float(default_speed_kmh) / 3.6
        self.road_factor = float(road_factor)
        self.deployable = frozenset(deployable)
        self._lock = threading.RLock()
        self._build_lock = threading.Lock()
        self._units: dict[str, IndexedUnit] = {}
        self._trees: dict[str, _Tree] = {}
        self._dirty: dict[str, set[str]] = {}
        self._pending: list[Any] | None = None
        self.built = False
        self.rebuilds = 0

    # -- keeping current -----------------------------------------------------------------------
    def ensure_built(self, loader: Callable[[], tuple[list[Mapping[str, Any]], int]]) -> None:
        """First use: one DB read (`loader` -> unit rows + the event seq of that snapshot)."""
        if self.built:
            return
        with self._build_lock:
            if self.built:
                return
            with self._lock:
                self._pending = []  # events arriving during the read are replayed after it
            try:
                rows, head = loader()
            except BaseException:
                with self._lock:
                    self._pending = None
                raise
            with self._lock:
                self._units = {}
                for r in rows:
                    self._put(r, head)
                pending, self._pending = self._pending or [], None
                for ev in pending:
                    if ev.seq > head:
                        self._apply_event(ev)
                self._trees, self._dirty = {}, {}
                self.built = True

    def invalidate(self) -> None:
        """Forget everything; the next query reads the units again (e.g. after a training reset)."""
        with self._lock:
            self.built = False
            self._units, self._trees, self._dirty = {}, {}, {}

    def on_event(self, ev: Any) -> None:
        with self._lock:
            if self._pending is not None:
                self._pending.append(ev)
            elif self.built:
                self._apply_event(ev)

    def apply_unit(self, row: Mapping[str, Any], *, seq: int) -> None:
        """A unit row this session has just written (its event comes later; same state)."""
        with self._lock:
            if self.built:
                self._put(row, seq)

    def _apply_event(self, ev: Any) -> None:
        p = ev.payload if isinstance(ev.payload, dict) else {}
        kind = ev.kind
        if kind.endswith(".reset"):
            self.built = False
            self._units, self._trees, self._dirty = {}, {}, {}
            return
        if kind.startswith("despatch.") or kind.startswith("talkgroup."):
            unit = p.get("unit")
            if isinstance(unit, dict) and unit.get("callsign"):
                self._put(unit, ev.seq)
            return
        if kind.startswith("unit.") and p.get("callsign"):
            row = dict(p)
            if kind == "unit.position" and "at" in row:
                row.pop("at")
            self._put(row, ev.seq)

    def _put(self, row: Mapping[str, Any], seq: int) -> None:
        cs = str(row["callsign"])
        u = self._units.get(cs)
        if u is not None and seq < u.seq:
            return  # an older state delivered after a newer one this session applied itself
        if u is None:
            if "capabilities" not in row:
                return  # a position for a unit we have never seen: wait for its full row
            u = IndexedUnit(cs, tuple(row["capabilities"] or ()), row.get("status") or "off_duty",
                            None, None, None, None, None)
            self._units[cs] = u
        old_caps = u.capabilities
        if "capabilities" in row:
            u.capabilities = tuple(row["capabilities"] or ())
        for name in ("status", "lat", "lon", "area_code", "home_area_code", "incident_id"):
            if name in row:
                setattr(u, name, row[name])
        u.seq = seq
        for cap in set(old_caps) | set(u.capabilities):
            self._dirty.setdefault(cap, set()).add(cs)

    # -- querying ------------------------------------------------------------------------------
    def speed_of(self, u: IndexedUnit) -> float:
        return max((self.speeds.get(c, self.default_speed) for c in u.capabilities),
                   default=self.default_speed)

    def _ok(self, u: IndexedUnit, capability: str) -> bool:
        return (u.status in self.deployable and u.incident_id is None and u.lat is not None
                and u.lon is not None and capability in u.capabilities)

    def _tree(self, capability: str) -> _Tree:
        tree = self._trees.get(capability)
        dirty = self._dirty.get(capability, ())
        # Rebuild when the overlay stops being small: checking it costs per unit, the tree per hit.
        if tree is None or len(dirty) > max(48, len(tree.callsigns) // 8):
            members = [u for u in self._units.values() if self._ok(u, capability)]
            tree = self._trees[capability] = _Tree(members)
            self._dirty[capability] = set()
            self.rebuilds += 1
        return tree

    def nearest(self, lat: float, lon: float, capability: str, *, limit: int,
                max_distance_m: float) -> list[Hit]:
        """Up to `limit` deployable units with `capability`, by ETA (exact, not just by distance)."""
        x0, y0 = lon * KX, lat * KY
        rf = self.road_factor
        with self._lock:
            tree = self._tree(capability)
            dirty = self._dirty.get(capability, set())
            found: dict[str, tuple[float, IndexedUnit]] = {}

            def consider(u: IndexedUnit) -> None:
                x, y = _xy(u)
                d = math.hypot(x - x0, y - y0)
                if d <= max_distance_m:
                    found[u.callsign] = (d * rf / self.speed_of(u), u)

            for cs in dirty:
                u = self._units.get(cs)
                if u is not None and self._ok(u, capability):
                    consider(u)
            vmax = max(self.speeds.values(), default=self.default_speed)
            radius = 4_000.0
            point = shapely.Point(x0, y0)
            while tree.tree is not None:
                for i in tree.tree.query(point, predicate="dwithin", distance=radius):
                    cs = tree.callsigns[int(i)]
                    if cs not in dirty and cs not in found:
                        consider(self._units[cs])
                if radius >= max_distance_m:
                    break
                if len(found) >= limit:
                    # Anything beyond the radius needs at least radius*rf/vmax: stop when the
                    # limit-th best ETA already beats that.
                    kth = sorted(e for e, _ in found.values())[limit - 1]
                    if kth <= radius * rf / vmax:
                        break
                radius = min(radius * 2, max_distance_m)
            best = sorted(found.values(), key=lambda t: (t[0], t[1].callsign))[:limit]
            snapshot = [(IndexedUnit(u.callsign, u.capabilities, u.status, u.lat, u.lon, u.area_code,
                                     u.home_area_code, u.incident_id, u.seq)) for _, u in best]
        out = []
        for u in snapshot:
            assert u.lat is not None and u.lon is not None, u.callsign  # found holds only units _ok passed
            d = haversine_m(lat, lon, u.lat, u.lon)
            out.append(Hit(u, d, d * rf / self.speed_of(u)))
        out.sort(key=lambda h: (h.eta_s, h.unit.callsign))
        return out

    def get(self, callsign: str) -> IndexedUnit | None:
        with self._lock:
            return self._units.get(callsign)

    def __len__(self) -> int:
        return len(self._units)
