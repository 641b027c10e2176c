"""Read MBTiles (the SQLite tile container; raster PNG/JPEG or Mapbox Vector Tiles) with sqlite3.

Tiles are stored in TMS order (row 0 at the south); `tile(z, x, y)` takes the XYZ row a web map
asks for and flips it. Vector tiles are usually gzip-compressed in the file; they are returned
decompressed.
"""
from __future__ import annotations

import gzip
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

FORMATS = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
           "pbf": "application/x-protobuf", "mvt": "application/x-protobuf"}


class MBTilesError(ValueError):
    """Not a usable MBTiles file (message for the admin)."""


class MBTiles:
    """One MBTiles file, opened read-only; safe to call from several threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise MBTilesError(f"{self.path}: no such MBTiles file.")
        self._local = threading.local()
        try:
            rows = self._db().execute("SELECT name, value FROM metadata").fetchall()
        except sqlite3.DatabaseError as exc:
            raise MBTilesError(f"{self.path}: not an MBTiles file ({exc}).") from None
        self.metadata: dict[str, str] = {str(k): str(v) for k, v in rows}
        fmt = self.metadata.get("format", "").lower()
        if fmt not in FORMATS:
            raise MBTilesError(f"{self.path}: tile format {fmt!r} is not one of png, jpg, webp, pbf.")
        self.format = "pbf" if fmt == "mvt" else fmt

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.db = db
        return db

    @property
    def is_vector(self) -> bool:
        return self.format == "pbf"

    @property
    def mime(self) -> str:
        return FORMATS[self.format]

    def zoom_range(self) -> tuple[int, int]:
        lo = self.metadata.get("minzoom")
        hi = self.metadata.get("maxzoom")
        if lo is None or hi is None:
            lo2, hi2 = self._db().execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
            lo, hi = lo if lo is not None else lo2, hi if hi is not None else hi2
        return int(lo or 0), int(hi or 0)

    def bounds(self) -> tuple[float, float, float, float] | None:
        """(west, south, east, north) from the metadata, if given."""
        b = self.metadata.get("bounds")
        if not isinstance(b, str):
            return None
        try:
            w, s, e, n = (float(v) for v in b.split(","))
        except ValueError:
            return None
        return w, s, e, n

    def vector_layers(self) -> list[dict[str, Any]]:
        try:
            return list(json.loads(self.metadata.get("json", "{}")).get("vector_layers", []))
        except ValueError:
            return []

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at XYZ (z, x, y), or None where the file has none."""
        row = self._db().execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (z, x, (1 << z) - 1 - y)).fetchone()
        if row is None:
            return None
        data = bytes(row[0])
        if self.is_vector and data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return data


def write_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], *, fmt: str, name: str = "tiles",
                  minzoom: int | None = None, maxzoom: int | None = None,
                  metadata: dict[str, str] | None = None, compress: bool = True) -> Path:
    """Write an MBTiles file from {(z, x, y) XYZ: tile bytes} (tests, tools)."""
    path = Path(path)
    if path.exists():
        path.unlink()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name text, value text)")
    db.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)")
    db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
    zs = [z for z, _, _ in tiles] or [0]
    meta = {"name": name, "format": fmt, "minzoom": str(minzoom if minzoom is not None else min(zs)),
            "maxzoom": str(maxzoom if maxzoom is not None else max(zs)), **(metadata or {})}
    db.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
    for (z, x, y), data in tiles.items():
        if fmt == "pbf" and compress:
            data = gzip.compress(data)
        db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, data))
    db.commit()
    db.close()
    return path
