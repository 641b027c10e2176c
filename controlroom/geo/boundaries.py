"""Import the force's own area (BCU) polygons, replacing the demo's Voronoi approximations.

GeoJSON is read directly; a Shapefile (or GeoPackage) through pyogrio (`pip install pyogrio`).
Coordinates in British National Grid (the usual for a force's GIS export: a .prj saying so, or a
GeoJSON `crs` naming EPSG:27700, or simply eastings/northings) are converted to WGS84.

Each feature names an area the database already has (code field, e.g. `code` or `BCU_CODE`); its
shape and name are replaced, its owning room (and any transfer in force) is kept. Areas the file
does not mention keep their shape (the motorway corridor, typically). Then everything located by
area (addresses, postcodes, gazetteer) is re-coded against the new shapes, all in one transaction.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from ..db.engine import connect
from . import AreaIndex, locate_many
from .formats import FormatError


def _read(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """(features with properties and shapely geometry, CRS as given) from GeoJSON or via pyogrio."""
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            fc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FormatError(f"{path}: not readable GeoJSON ({exc}).") from None
        crs = (((fc.get("crs") or {}).get("properties") or {}).get("name"))
        feats = [{"properties": f.get("properties") or {}, "geometry": shape(f["geometry"])}
                 for f in fc.get("features", []) if f.get("geometry")]
        return feats, crs
    try:
        import pyogrio
    except ImportError:
        raise FormatError("Reading Shapefiles needs pyogrio: pip install pyogrio (or export GeoJSON).") from None
    try:
        meta, _fids, geoms, fields = pyogrio.raw.read(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError/… types
        raise FormatError(f"{path}: not a readable Shapefile/GeoPackage ({exc}).") from None
    names = list(meta["fields"])
    feats = [{"properties": {n: (v.item() if hasattr(v, "item") else v) for n, v in zip(names, row)},
              "geometry": shapely.from_wkb(g)} for g, row in zip(geoms, zip(*fields))]
    return feats, meta.get("crs")


def _to_wgs84(feats: list[dict[str, Any]], crs: str | None) -> None:
    bounds = shapely.total_bounds([f["geometry"] for f in feats])
    projected = crs and ("27700" in crs or "OSGB" in crs.upper() or "British" in crs)
    if not projected and max(abs(v) for v in bounds) > 180:  # eastings/northings without a CRS
        projected = True
    if not projected:
        return
    from pyproj import Transformer

    tr = Transformer.from_crs(crs if crs and "27700" not in crs else "EPSG:27700", "EPSG:4326", always_xy=True)
    for f in feats:
        f["geometry"] = shapely.transform(f["geometry"], lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def import_boundaries(url: str, path: Path, *, code_field: str = "code", name_field: str = "name") -> str:
    path = Path(path)
    feats, crs = _read(path)
    if not feats:
        raise FormatError(f"{path}: no features with a geometry.")
    if code_field not in feats[0]["properties"]:
        raise FormatError(f"{path}: no '{code_field}' field (fields: {', '.join(feats[0]['properties'])}); "
                          "name the area-code field with --code-field.")
    _to_wgs84(feats, crs)
    shapes: dict[str, tuple[str, Any]] = {}
    for f in feats:
        code = str(f["properties"][code_field]).strip()
        g = shapely.make_valid(f["geometry"])
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            g = shapely.union_all([p for p in getattr(g, "geoms", [g]) if p.geom_type in ("Polygon", "MultiPolygon")])
        if g.is_empty:
            raise FormatError(f"{path}: area {code} has no polygon.")
        name = str(f["properties"].get(name_field) or code)
        prev = shapes.get(code)
        shapes[code] = (name, g if prev is None else shapely.union(prev[1], g))
    with connect(url) as conn, conn.cursor() as cur:
        known = {r[0]: r[1] for r in cur.execute("SELECT code, room_code FROM areas").fetchall()}
        unknown = sorted(set(shapes) - set(known))
        if unknown:
            raise FormatError(f"{path}: area code(s) {', '.join(unknown)} are not areas of this force "
                              f"({', '.join(sorted(known))}); fix the codes or use --code-field. Nothing changed.")
        outside = [c for c, (_, g) in shapes.items() if not (-8 < g.centroid.x < 2 and 49 < g.centroid.y < 61)]
        if outside:
            raise FormatError(f"{path}: area(s) {', '.join(outside)} are not in Great Britain after conversion; "
                              "is the file's coordinate system right? Nothing changed.")
        for code, (name, g) in shapes.items():
            cur.execute("UPDATE areas SET geojson = %s, name = %s WHERE code = %s",
                        (json.dumps(_rounded(mapping(g))), name, code))
        stamp = f"{path.name} ({len(shapes)} areas, {datetime.now(timezone.utc):%Y-%m-%d})"
        cur.execute("INSERT INTO meta (key, value) VALUES ('boundaries_source', %s) ON CONFLICT (key) "
                    "DO UPDATE SET value = EXCLUDED.value", (stamp,))
        rows = cur.execute("SELECT code, name, geojson FROM areas").fetchall()
        index = AreaIndex.from_geojson({"properties": {"code": c, "name": n}, "geometry": g} for c, n, g in rows)
        recoded = {t: _recode(cur, index, t, k) for t, k in (("gazetteer", "id"), ("postcodes", "postcode_key"),
                                                               ("addresses", "uprn"))}
        conn.commit()
    kept = sorted(set(known) - set(shapes))
    return (f"boundaries: {len(shapes)} area(s) replaced from {path.name} ({', '.join(sorted(shapes))}), "
            f"owning rooms kept; unchanged: {', '.join(kept) or 'none'}; re-coded "
            + ", ".join(f"{n:,} {t}" for t, n in recoded.items()) + "; consoles use them from their next start")


def _recode(cur: Any, index: AreaIndex, table: str, key: str) -> int:
    """Re-derive area_code for every row of `table` from its point; returns rows changed."""
    cur.execute("CREATE TEMP TABLE recode (k text PRIMARY KEY, area_code text) ON COMMIT DROP")
    for batch in _chunks(cur, f"SELECT {key}::text, lat, lon FROM {table}"):
        codes = locate_many(index, [r[1] for r in batch], [r[2] for r in batch])
        with cur.copy("COPY recode FROM STDIN") as cp:
            for r, c in zip(batch, codes):
                cp.write_row((r[0], c))
    cur.execute(f"UPDATE {table} t SET area_code = r.area_code FROM recode r "
                f"WHERE t.{key}::text = r.k AND t.area_code IS DISTINCT FROM r.area_code")
    n: int = cur.rowcount
    cur.execute("DROP TABLE recode")
    return n


def _chunks(cur: Any, sql: str, n: int = 100_000) -> Iterator[list[tuple[Any, ...]]]:
    rows = cur.execute(sql).fetchall()
    for i in range(0, len(rows), n):
        yield rows[i:i + n]


def _rounded(geo: dict[str, Any]) -> dict[str, Any]:
    def r(c: Any) -> Any:
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(c[0], 6), round(c[1], 6)]
        return [r(x) for x in c]

    return {"type": geo["type"], "coordinates": r(geo["coordinates"])}
