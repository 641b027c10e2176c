"""The force's base-map choice: configuration in the database (`geo_config` key 'base_map').

Every console reads it at start, so all show the same map; only the schema owner writes it
(`python -m controlroom.geo basemap …`). No row means the schematic demo map.

Shapes of the value:
    {"kind": "mbtiles", "day": "/srv/maps/zoomstack.mbtiles", "night": "/srv/maps/night.mbtiles" | null}
    {"kind": "wms", "url": "https://gis.force.local/wms", "layers": "base", "format": "image/png"}
    {"kind": "wmts", "url": "https://gis.force.local/wmts/base/{z}/{x}/{y}.png"}
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..db.engine import connect
from .mbtiles import MBTiles, MBTilesError

KEY = "base_map"


@dataclass(frozen=True)
class BaseMap:
    """What the map page needs: for MBTiles the files (served by the console itself)."""

    kind: str                      # schematic | mbtiles | wms | wmts
    day: str | None = None         # MBTiles path
    night: str | None = None       # MBTiles path for the night theme (else the day one, dimmed)
    url: str | None = None         # WMS endpoint or WMTS/XYZ template
    layers: str | None = None
    format: str = "image/png"

    @classmethod
    def from_value(cls, value: dict[str, Any] | None) -> "BaseMap":
        if not value:
            return cls("schematic")
        return cls(kind=str(value.get("kind", "schematic")), day=value.get("day"), night=value.get("night"),
                   url=value.get("url"), layers=value.get("layers"), format=value.get("format", "image/png"))

    def describe(self) -> str:
        if self.kind == "mbtiles":
            return f"MBTiles {self.day}" + (f" (night: {self.night})" if self.night else "")
        if self.kind == "wms":
            return f"WMS {self.url} layers={self.layers}"
        if self.kind == "wmts":
            return f"WMTS/XYZ {self.url}"
        return "schematic demo map (no base map configured)"


def read_base_map(conn: Any) -> BaseMap:
    """The configured base map; `conn` is a SQLAlchemy connection (consoles only SELECT)."""
    from sqlalchemy import text

    value = conn.execute(text("SELECT value FROM geo_config WHERE key = :k"), {"k": KEY}).scalar()
    return BaseMap.from_value(value)


def _check_mbtiles(path: Path) -> str:
    try:
        m = MBTiles(path)
    except MBTilesError as exc:
        from .formats import FormatError
        raise FormatError(str(exc)) from None
    lo, hi = m.zoom_range()
    return f"{m.format}, zoom {lo}-{hi}"


def configure(url: str, args: Any) -> str:
    """CLI `basemap …`: validate, then write the one config row (as the schema owner)."""
    from .formats import FormatError

    if args.kind == "schematic":
        value = None
    elif args.kind == "mbtiles":
        info = _check_mbtiles(args.day)
        value = {"kind": "mbtiles", "day": str(Path(args.day).resolve()), "night": None}
        if args.night:
            _check_mbtiles(args.night)
            value["night"] = str(Path(args.night).resolve())
    elif args.kind == "wms":
        if not re.match(r"^https?://", args.url):
            raise FormatError("A WMS URL starts with http:// or https://.")
        value = {"kind": "wms", "url": args.url, "layers": args.layers, "format": args.format}
    else:
        if not re.match(r"^https?://", args.url) or not all(p in args.url for p in ("{z}", "{x}", "{y}")):
            raise FormatError("A WMTS/XYZ URL starts with http(s):// and has {z}, {x} and {y} in it.")
        value = {"kind": "wmts", "url": args.url}
    with connect(url) as conn:
        if value is None:
            conn.execute("DELETE FROM geo_config WHERE key = %s", (KEY,))
        else:
            conn.execute("INSERT INTO geo_config (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                         "SET value = EXCLUDED.value, updated_at = now(), updated_by = session_user",
                         (KEY, json.dumps(value)))
        conn.commit()
    bm = BaseMap.from_value(value)
    extra = f" ({info})" if args.kind == "mbtiles" else ""
    return f"base map: {bm.describe()}{extra}; consoles show it from their next start"


def status(url: str) -> str:
    with connect(url) as conn:
        row = conn.execute("SELECT value FROM geo_config WHERE key = %s", (KEY,)).fetchone()
        counts = conn.execute("""SELECT (SELECT count(*) FROM gazetteer), (SELECT count(*) FROM gazetteer
                                 WHERE kind = 'street'), (SELECT count(*) FROM addresses),
                                 (SELECT count(*) FROM postcodes), (SELECT count(*) FROM road_edges),
                                 (SELECT value FROM meta WHERE key = 'boundaries_source')""").fetchone()
        # scalar subqueries: always exactly one row
        counts = counts or (0, 0, 0, 0, 0, None)
    bm = BaseMap.from_value(row[0] if row else None)
    names, streets, addresses, postcodes, edges, bounds = counts
    return "\n".join([f"base map:   {bm.describe()}",
                      f"gazetteer:  {names:,} names ({streets:,} streets)",
                      f"addresses:  {addresses:,} (UPRN)", f"postcodes:  {postcodes:,}",
                      f"road graph: {edges:,} edges" + ("" if edges else " (ETAs are straight-line estimates)"),
                      f"boundaries: {bounds or 'demo areas (Voronoi approximation)'}"])
