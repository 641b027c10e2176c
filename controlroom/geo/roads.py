"""Drive-time ETAs over the force's road network (OS Open Roads or an OpenStreetMap extract).

Why in the console, not pgRouting: pgRouting is a server extension the embedded PostgreSQL 18 does
not ship and a force's managed server may not allow; the graph of a force's roads (a few hundred
thousand links) fits in a console's memory, and one reverse Dijkstra from the incident (bounded
by the longest useful drive) gives the drive time of every candidate unit at once. The graph is
stored in road_nodes/road_edges (imported by the owner's CLI) and loaded once per process.

Why scipy's Dijkstra, not networkx's: both were measured on a 118,000-node force-sized grid
(tests/perf/test_road_eta_perf.py): networkx's pure-Python Dijkstra took 1.3 s (p50) to reach
2,000 units, scipy.sparse.csgraph's C implementation over the same graph as a CSR matrix takes
milliseconds (figures in docs/GEODATA.md).

Import: GeoJSON LineStrings. OS Open Roads properties (`roadClassification` / `class`,
`formOfWay`, `length`) or OSM ones (`highway`, `oneway`, `maxspeed`); link ends are joined where
they share a coordinate (OS Open Roads links meet at nodes; OSM ways share vertices).
"""
from __future__ import annotations

import json
import math
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..db.engine import connect
from . import haversine_m
from .formats import FormatError

KX, KY = math.cos(math.radians(51.75)) * 111_320.0, 110_574.0   # local metric plane (force-sized)
# Typical response speeds (km/h) by road class; blue-light driving is faster than the limit on
# open roads and slower than it in town. A force tunes these (resources/despatch.yaml later).
CLASS_SPEEDS = {"motorway": 110, "trunk": 90, "a road": 70, "primary": 70, "b road": 55, "secondary": 55,
                "tertiary": 45, "classified unnumbered": 45, "unclassified": 40, "residential": 32,
                "local road": 32, "not classified": 32, "service": 20, "living_street": 15,
                "restricted local access road": 20}
DEFAULT_SPEED = 35.0
SNAP_SPEED_MPS = 15 / 3.6      # from a unit's position to its nearest road node, and on to the scene
MAX_SNAP_M = 2_000.0


def _speed(props: dict[str, Any]) -> float:
    ms = props.get("maxspeed")
    m = re.match(r"^\d+", str(ms)) if ms else None
    if m:
        v = float(m.group(0))
        return v * 1.609 if "mph" in str(ms) else v
    cls = str(props.get("roadClassification") or props.get("class") or props.get("highway") or "").lower()
    cls = cls.replace("_link", "")
    return float(CLASS_SPEEDS.get(cls, DEFAULT_SPEED))


def _lines(path: Path) -> Iterable[tuple[list[tuple[float, float]], dict[str, Any]]]:
    try:
        fc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path}: not readable GeoJSON ({exc}).") from None
    for f in fc.get("features", []):
        g = f.get("geometry") or {}
        parts = [g["coordinates"]] if g.get("type") == "LineString" else (
            g["coordinates"] if g.get("type") == "MultiLineString" else [])
        for coords in parts:
            if len(coords) >= 2:
                yield [(float(c[0]), float(c[1])) for c in coords], f.get("properties") or {}


def import_roads(url: str, path: Path) -> str:
    """Replace the road graph with the file's (one transaction); returns the summary line."""
    t0 = time.perf_counter()
    node_ids: dict[tuple[int, int], int] = {}
    nodes: list[tuple[int, float, float]] = []
    edges: dict[tuple[int, int], tuple[float, float, bool, str]] = {}

    def node(lon: float, lat: float) -> int:
        key = (round(lon * 1e6), round(lat * 1e6))
        nid = node_ids.get(key)
        if nid is None:
            nid = node_ids[key] = len(nodes) + 1
            nodes.append((nid, lat, lon))
        return nid

    for coords, props in _lines(path):
        speed = _speed(props)
        ow = str(props.get("oneway", "")).lower()
        oneway = ow in ("yes", "true", "1", "-1")
        reverse = ow == "-1"
        cls = str(props.get("roadClassification") or props.get("class") or props.get("highway") or "")
        ids = [node(lon, lat) for lon, lat in coords]
        for (a, b), (p, q) in zip(zip(ids, ids[1:]), zip(coords, coords[1:])):
            if a == b:
                continue
            length = haversine_m(p[1], p[0], q[1], q[0])
            if reverse:
                a, b = b, a
            edges[(a, b)] = (length, speed, oneway, cls)
    if not edges:
        raise FormatError(f"{path}: no road lines (LineString features) in the file.")
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM road_edges")
        cur.execute("DELETE FROM road_nodes")
        with cur.copy("COPY road_nodes (id, lat, lon) FROM STDIN") as cp:
            for n in nodes:
                cp.write_row(n)
        with cur.copy("COPY road_edges (source, target, length_m, speed_kph, oneway, road_class) FROM STDIN") as cp:
            for (a, b), (length, speed, oneway, cls) in edges.items():
                cp.write_row((a, b, length, speed, oneway, cls or None))
        info = {"source": Path(path).name, "nodes": len(nodes), "edges": len(edges)}
        cur.execute("INSERT INTO geo_config (key, value) VALUES ('road_network', %s) ON CONFLICT (key) "
                    "DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = session_user",
                    (json.dumps(info),))
        conn.commit()
    return (f"road graph: {len(nodes):,} nodes, {len(edges):,} links from {Path(path).name} in "
            f"{time.perf_counter() - t0:.1f} s; recommendations rank by drive time from the consoles' next start")


@dataclass(frozen=True)
class RoadEta:
    eta_s: float  # drive time over the network, plus the short hops on and off it


class RoadGraph:
    """The road network in memory: nearest-node snapping (k-d tree), reverse Dijkstra (scipy)."""

    def __init__(self, nodes: list[tuple[int, float, float]], edges: list[tuple[int, int, float, float, bool]]) -> None:
        from scipy.sparse import csr_matrix

        order = sorted(nodes)
        self.ids = np.array([n[0] for n in order], dtype=np.int64)
        self.lat = np.array([n[1] for n in order])
        self.lon = np.array([n[2] for n in order])
        from scipy.spatial import cKDTree

        self._tree = cKDTree(np.column_stack((self.lon * KX, self.lat * KY)))
        pos = {nid: i for i, nid in enumerate(self.ids.tolist())}
        # Reversed graph: distances FROM the incident over it are drive times TO the incident.
        weights: dict[tuple[int, int], float] = {}
        for a, b, length, speed, oneway in edges:
            w = float(length) / (float(speed) / 3.6)
            ia, ib = pos[a], pos[b]
            for key in ((ib, ia),) if oneway else ((ib, ia), (ia, ib)):
                if w < weights.get(key, math.inf):
                    weights[key] = max(w, 1e-3)  # csgraph treats 0 as "no edge"
        rows = np.fromiter((k[0] for k in weights), np.int64, len(weights))
        cols = np.fromiter((k[1] for k in weights), np.int64, len(weights))
        data = np.fromiter(weights.values(), float, len(weights))
        self.matrix = csr_matrix((data, (rows, cols)), shape=(len(order), len(order)))
        self.edges = len(edges)

    @classmethod
    def from_db(cls, conn: Any) -> "RoadGraph | None":
        """Load from the database (a SQLAlchemy connection); None when no graph is imported."""
        from sqlalchemy import text

        edges = conn.execute(text("SELECT source, target, length_m, speed_kph, oneway FROM road_edges")).all()
        if not edges:
            return None
        nodes = conn.execute(text("SELECT id, lat, lon FROM road_nodes")).all()
        return cls([tuple(n) for n in nodes], [tuple(e) for e in edges])

    def snap(self, lats: Any, lons: Any) -> tuple[np.ndarray, np.ndarray]:
        """(node positions, snap distances in metres) of the nearest node to each point."""
        lats, lons = np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
        d, idx = self._tree.query(np.column_stack((lons * KX, lats * KY)))
        return np.asarray(idx), np.asarray(d)

    def etas_to(self, lat: float, lon: float, units: list[tuple[str, float, float]], *,
                cutoff_s: float = 3 * 3600) -> dict[str, RoadEta]:
        """Drive time from each unit's position to (lat, lon); units off the network are left out."""
        from scipy.sparse.csgraph import dijkstra

        if not units:
            return {}
        (target,), (t_snap,) = self.snap([lat], [lon])
        if t_snap > MAX_SNAP_M:
            return {}
        times = dijkstra(self.matrix, directed=True, indices=int(target), limit=cutoff_s)
        idx, snaps = self.snap([u[1] for u in units], [u[2] for u in units])
        out = {}
        for (cs, _la, _lo), i, s in zip(units, idx.tolist(), snaps.tolist()):
            t = times[i]
            if not math.isfinite(t) or s > MAX_SNAP_M:
                continue
            out[cs] = RoadEta(float(t) + (s + t_snap) / SNAP_SPEED_MPS)
        return out


_graphs: dict[str, tuple[float, "RoadGraph | None"]] = {}
_lock = threading.Lock()


def graph_for(engine: Any, conn_factory: Any) -> "RoadGraph | None":
    """One RoadGraph per database per process (loaded on first use; re-read after 10 minutes)."""
    key = str(engine.url) + str(id(engine))
    with _lock:
        hit = _graphs.get(key)
        if hit is not None and time.monotonic() - hit[0] < 600:
            return hit[1]
    with conn_factory() as conn:
        g = RoadGraph.from_db(conn)
    with _lock:
        _graphs[key] = (time.monotonic(), g)
    return g
