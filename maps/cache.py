"""Build the base map once per areas/builder version into the user cache dir and reuse it."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

import platformdirs
import xstatic.pkg.leaflet as xleaflet

from maps.builder import API_JS, MAPS_DIR, build_base_map, load_geojson

ROADS = MAPS_DIR / "roads.geojson"
# Everything that shapes the page: a change to any of these makes a new file name (a rebuild).
_SOURCES = (Path(__file__).with_name("builder.py"), API_JS, MAPS_DIR.parent / "ui" / "palette.py")

_lock = threading.Lock()
_built: dict[str, Path] = {}  # key -> index.html, once per process


def default_cache_root() -> Path:
    """<user cache dir>/controlroom/map (override with CONTROLROOM_MAP_CACHE, e.g. for CI)."""
    override = os.environ.get("CONTROLROOM_MAP_CACHE")
    return Path(override) if override else Path(platformdirs.user_cache_dir("controlroom")) / "map"


def roads_geojson() -> dict:
    """The shipped motorway lines, or an empty collection when not shipped."""
    return load_geojson(ROADS) if ROADS.exists() else {"type": "FeatureCollection", "features": []}


def map_key(areas_geojson: dict, roads: dict, room_colours: dict[str, str], *,
            tile_url: str | None, training: bool, base_map: dict | None = None) -> str:
    """Mode plus a hash of the inputs and of the builder sources: the cache entry's name."""
    h = hashlib.sha256()
    for part in (areas_geojson, roads, room_colours, tile_url, xleaflet.VERSION, base_map):
        h.update(json.dumps(part, sort_keys=True, default=str).encode())
    for src in _SOURCES:
        h.update(src.read_bytes() if src.exists() else b"")
    return f"{'training' if training else 'live'}-{h.hexdigest()[:16]}"


def ensure_base_map(areas_geojson: dict, room_colours: dict[str, str], *, training: bool,
                    tile_url: str | None = None, roads: dict | None = None, base_map: dict | None = None,
                    root: Path | None = None) -> Path:
    """index.html of the base map for these inputs, building it only when no build exists yet."""
    roads = roads if roads is not None else roads_geojson()
    key = map_key(areas_geojson, roads, room_colours, tile_url=tile_url, training=training, base_map=base_map)
    root = Path(root) if root is not None else default_cache_root()
    final = root / key
    with _lock:
        cached = _built.get(f"{root}/{key}")
        if cached is not None and cached.exists():
            return cached
        html = final / "index.html"
        if not html.exists():
            root.mkdir(parents=True, exist_ok=True)
            # Build aside and rename into place: two consoles starting together never see half a map.
            tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
            try:
                build_base_map(tmp, areas_geojson=areas_geojson, roads_geojson=roads,
                               room_colours=room_colours, tile_url=tile_url, training=training,
                               base_map=base_map)
                try:
                    os.rename(tmp, final)
                except OSError:  # another process won the race; its build is identical
                    pass
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        _built[f"{root}/{key}"] = html
        return html
