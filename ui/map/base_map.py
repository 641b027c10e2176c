"""Turn the force's base-map configuration into map-page layers and the console's tile server."""
from __future__ import annotations

import logging
from typing import Any

from controlroom.geo.basemap import BaseMap
from controlroom.geo.mbtiles import MBTiles, MBTilesError

from .tile_scheme import TileSchemeHandler, tile_url

log = logging.getLogger(__name__)


def base_map_layers(bm: BaseMap | None, parent: Any = None) -> tuple[dict | None, TileSchemeHandler | None,
                                                                      list[str]]:
    """(layers for maps.builder, scheme handler to install or None, URL templates to let through)."""
    if bm is None or bm.kind == "schematic":
        return None, None, []
    if bm.kind == "mbtiles":
        try:
            day = MBTiles(bm.day or "")
            night = MBTiles(bm.night) if bm.night else None
        except MBTilesError as exc:  # a missing share must not cost the console its map
            log.error("base map not available, showing the schematic map: %s", exc)
            return None, None, []
        lo, hi = day.zoom_range()
        layers = {"kind": "xyz", "day": tile_url("day"), "night": tile_url("night") if night else None,
                  "minZoom": lo, "maxNativeZoom": hi, "bounds": day.bounds(),
                  "attribution": day.metadata.get("attribution", "")}
        return layers, TileSchemeHandler(day, night, parent), []
    if bm.kind == "wms":
        template = bm.url or ""
        return ({"kind": "wms", "url": bm.url, "layers": bm.layers, "format": bm.format},
                None, [template.split("?")[0] + "?{query}"])
    return {"kind": "xyz", "day": bm.url, "night": None}, None, [bm.url or ""]
