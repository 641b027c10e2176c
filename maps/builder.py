"""Build the offline base map (areas, motorways, labels, layers, legend) once with folium."""
from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import folium
import xstatic.pkg.leaflet as xleaflet
from branca.element import Element, MacroElement
from folium.template import Template
from shapely.geometry import Point, shape
from shapely.ops import polylabel

from controlroom.kernel import palette

MAPS_DIR = Path(__file__).resolve().parent
API_JS = MAPS_DIR / "map_api.js"
OVERLAYS = ("Areas", "Motorways", "Units", "Incidents", "AVL trails")
LABEL_PANE = "crmapLabels"  # above polygons and roads, below unit and incident markers

# Map-only neutrals (not status colours, so not in controlroom.kernel.palette): background, roads, label ink.
MAP_BACKGROUND = "#eceee8"
MAP_BACKGROUND_TRAINING = "#f6e3e1"
ROAD_COLOUR = "#4a4f57"
ROAD_CASING = "#ffffff"
LABEL_INK = "#1b1f24"

_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']\s*(?:https?:)?//|@import\s+url\(\s*["']?(?:https?:)?//""", re.I)


class _Element(MacroElement):
    """A MacroElement rendering a fixed script that may reference other elements by variable name."""

    def __init__(self, template: str, **context: Any) -> None:
        super().__init__()
        self._name = "CrmapInit"
        self._template = Template(template)
        self.ctx = context


_INIT_TEMPLATE = """
{% macro script(this, kwargs) %}
crmap.init({{ this.ctx.map.get_name() }}, {
    areas: {{ this.ctx.areas.get_name() }},
    areaGroup: {{ this.ctx.area_group.get_name() }},
    groups: { {%- for key, group in this.ctx.groups.items() %}
        {{ key|tojson }}: {{ group.get_name() }},{% endfor %}
    },
    config: {{ this.ctx.config|tojson }}
});
{% endmacro %}
"""


def _copy_leaflet(out_dir: Path) -> None:
    """Copy leaflet.js/.css and its images from the xstatic package next to the HTML."""
    src = Path(xleaflet.BASE_DIR)
    dst = out_dir / "leaflet"
    (dst / "images").mkdir(parents=True, exist_ok=True)
    for name in ("leaflet.js", "leaflet.css"):
        shutil.copy2(src / name, dst / name)
    for img in (src / "images").iterdir():
        shutil.copy2(img, dst / "images" / img.name)


def _area_style(room_colours: dict[str, str]):
    """Style function for area polygons: outline and pale fill in the owning room's colour."""

    def style(feature: dict) -> dict:
        props = feature["properties"]
        colour = room_colours.get(props.get("room") or "", palette.room_colour(None))
        corridor = _is_corridor(feature)
        return {
            "color": colour,
            "weight": 2.5,
            "opacity": 0.9,
            "fillColor": colour,
            "fillOpacity": 0.30 if corridor else 0.15,
            "dashArray": "6 4" if corridor else None,
        }

    return style


def _label_html(name: str, room: str | None, code: str, room_colours: dict[str, str]) -> str:
    """HTML of a permanent area label: name plus owning room, bordered in the room colour."""
    colour = room_colours.get(room or "", palette.room_colour(None))
    room_text = (room or "unowned").capitalize()
    return (
        f'<div class="crmap-area-label" data-area="{html.escape(code)}" data-room="{html.escape(room or "")}" '
        f'style="border-color:{colour}">'
        f'{html.escape(name)}<span class="crmap-area-room" style="color:{colour}">'
        f"{html.escape(room_text)} room</span></div>"
    )


def _legend_html(room_colours: dict[str, str]) -> str:
    """Legend control body: room, grade and unit-status colours, always with their names."""

    def rows(items: list[tuple[str, str, str]]) -> str:
        return "".join(
            f'<div class="crmap-legend-row"><span class="crmap-swatch {shape_}" '
            f'style="background:{colour}"></span>{html.escape(label)}</div>'
            for colour, label, shape_ in items
        )

    rooms = [(c, palette.ROOM_LABELS.get(r, r.capitalize()), "sq") for r, c in room_colours.items()]
    grades = [(palette.GRADE_COLOURS[g], palette.GRADE_LABELS[g], "dia") for g in palette.GRADE_COLOURS]
    statuses = [(c, palette.UNIT_STATUS_LABELS.get(s, s), "pill") for s, c in palette.UNIT_STATUS_COLOURS.items()
                if s != "transporting"]
    statuses.append((palette.STALE_COLOUR, "Stale AVL (> 60 s)", "pill stale"))
    return (
        '<details open><summary>Legend</summary>'
        f'<div class="crmap-legend-h">Rooms (area owner)</div>{rows(rooms)}'
        f'<div class="crmap-legend-h">Incident grade</div>{rows(grades)}'
        f'<div class="crmap-legend-h">Unit status</div>{rows(statuses)}'
        '</details>'
    )


def _css(training: bool) -> str:
    """Page CSS: background, labels, unit/incident markers, legend, training watermark."""
    bg = MAP_BACKGROUND_TRAINING if training else MAP_BACKGROUND
    return f"""
<style>
@keyframes crmap-alarm-flash {{ 0%, 100% {{ filter: none; }} 50% {{ filter: drop-shadow(0 0 8px #ff1744) brightness(1.6); }} }}
.crmap-alarm {{ animation: crmap-alarm-flash 0.6s infinite; z-index: 10000 !important; }}
.leaflet-container.leaflet-container {{ background: {bg}; font-family: "DejaVu Sans", Arial, sans-serif; }}
.crmap-area-label {{ position:absolute; transform:translate(-50%,-50%); white-space:nowrap;
  background:rgba(255,255,255,0.88); color:{LABEL_INK}; border:2px solid; border-radius:4px;
  padding:2px 6px; font-size:13px; font-weight:bold; text-align:center; line-height:1.15;
  pointer-events:none; }}
.leaflet-control-layers {{ font-size:13px; }}
.crmap-area-room {{ display:block; font-size:10px; font-weight:bold; text-transform:uppercase; }}
.crmap-road-shield {{ position:absolute; transform:translate(-50%,-50%); background:{ROAD_COLOUR};
  color:{ROAD_CASING}; border:1px solid {ROAD_CASING}; border-radius:3px; padding:0 4px;
  font-size:11px; font-weight:bold; pointer-events:none; white-space:nowrap; }}
.crmap-unit {{ position:absolute; transform:translate(-50%,-50%); display:flex; align-items:center;
  white-space:nowrap; border:1px solid {LABEL_INK}; border-radius:8px; font-size:10px;
  line-height:13px; font-weight:bold; box-shadow:0 0 0 1px rgba(255,255,255,0.8); cursor:pointer; }}
.crmap-unit .b {{ background:rgba(255,255,255,0.92); color:{LABEL_INK}; border-radius:7px 0 0 7px;
  padding:0 3px; font-size:9px; }}
.crmap-unit .c {{ padding:0 4px; }}
.crmap-unit.stale {{ opacity:0.75; border-style:dashed; }}
.crmap-unit.stale .c {{ text-decoration:line-through; }}
.crmap-lowzoom .crmap-unit .c {{ display:none; }}
.crmap-lowzoom .crmap-unit .b {{ border-radius:7px; background:transparent; color:inherit; }}
.crmap-inc {{ position:absolute; transform:translate(-50%,-100%); white-space:nowrap; cursor:pointer;
  border:2px solid {ROAD_CASING}; border-radius:3px; padding:1px 4px; font-size:11px;
  font-weight:bold; box-shadow:0 1px 3px rgba(0,0,0,0.5); }}
.crmap-inc::after {{ content:""; position:absolute; left:50%; bottom:-7px; margin-left:-5px;
  border:5px solid transparent; border-top-color:var(--c); border-bottom:0; }}
.crmap-inc.selected {{ outline:3px solid {LABEL_INK}; outline-offset:2px; font-size:13px; }}
.crmap-legend {{ background:rgba(255,255,255,0.94); padding:6px 8px; border-radius:5px;
  box-shadow:0 1px 4px rgba(0,0,0,0.35); font-size:11px; color:{LABEL_INK}; line-height:1.35; }}
.crmap-legend summary {{ font-weight:bold; cursor:pointer; }}
.crmap-legend-h {{ font-weight:bold; margin-top:4px; }}
.crmap-swatch {{ display:inline-block; width:14px; height:10px; margin-right:5px;
  vertical-align:middle; border:1px solid {LABEL_INK}; }}
.crmap-swatch.dia {{ width:9px; height:9px; transform:rotate(45deg); margin:0 7px 0 3px; }}
.crmap-swatch.pill {{ border-radius:5px; }}
.crmap-swatch.stale {{ border-style:dashed; }}
.crmap-training-band {{ position:absolute; top:0; left:0; right:0; z-index:1000; text-align:center;
  background:{palette.TRAINING_BAND}; color:{ROAD_CASING}; font-weight:bold; letter-spacing:4px;
  font-size:13px; pointer-events:none; }}
.crmap-training .leaflet-top {{ top:20px; }}
.crmap-night .crmap-base {{ filter: invert(1) hue-rotate(180deg) brightness(0.85) contrast(0.9); }}
.crmap-night.crmap-night-tiles .crmap-base {{ filter: none; }}
{_night_css()}
.crmap-watermark {{ position:absolute; top:50%; left:50%; z-index:450; pointer-events:none;
  transform:translate(-50%,-50%) rotate(-25deg); font-size:120px; font-weight:bold;
  color:{palette.TRAINING_BAND}; opacity:0.13; letter-spacing:12px; }}
</style>
"""


def _night_css() -> str:
    """The night-shift page (`crmap.setTheme('dark')` from the console's theme switch): dark ground,
    light labels, legend, tooltips and layer control; meaning colours stay as they are."""
    n = palette.THEMES["dark"]
    rooms = "\n".join(f'.crmap-night .crmap-area-label[data-room="{r}"] .crmap-area-room {{ color: {c} !important; }}'
                      for r, c in palette.ROOM_TEXT["dark"].items())
    return rooms + f"""
.crmap-night.leaflet-container, body.crmap-night {{ background: {n['map']}; }}
.crmap-night .crmap-area-label {{ background: rgba(15,19,24,0.88); color: {n['text']}; }}
.crmap-night .crmap-legend, .crmap-night .leaflet-control-layers, .crmap-night .leaflet-bar a,
.crmap-night .leaflet-tooltip {{ background: {n['panel']}; color: {n['text']}; border-color: {n['border']}; }}
.crmap-night .leaflet-tooltip-top:before {{ border-top-color: {n['panel']}; }}
.crmap-night .crmap-swatch {{ border-color: {n['text']}; }}
.crmap-night .leaflet-control-attribution {{ background: rgba(15,19,24,0.7); color: {n['muted']}; }}
.crmap-night .leaflet-control-attribution a {{ color: {n['link']}; }}
.crmap-night .crmap-unit {{ box-shadow: 0 0 0 1px rgba(0,0,0,0.8); }}
.crmap-night .leaflet-control-scale-line {{ background: rgba(15,19,24,0.8); color: {n['text']}; border-color: {n['text']}; }}
"""


def _label_points(features: list[dict]) -> list[Point]:
    """One label point per area: inside it, and for multi-part areas as far from other labels as possible."""
    geoms = [shape(f["geometry"]) for f in features]
    points: list[Point | None] = [None] * len(geoms)
    multi = [i for i, g in enumerate(geoms) if len(getattr(g, "geoms", [g])) > 1 and _is_corridor(features[i])]
    for i, g in enumerate(geoms):
        if i not in multi:
            largest = max(getattr(g, "geoms", [g]), key=lambda part: part.area)
            points[i] = polylabel(largest, tolerance=0.002)
    placed = [p for p in points if p is not None]
    for i in multi:  # corridors: the part-centre furthest from every county label
        candidates = [part.representative_point() for part in geoms[i].geoms if part.area > 0.0005 * geoms[i].area]
        points[i] = max(candidates or [geoms[i].representative_point()],
                        key=lambda c: min((c.distance(p) for p in placed), default=0.0))
        placed.append(points[i])
    return [p for p in points if p is not None]


def _is_corridor(feature: dict) -> bool:
    return feature["properties"].get("code") == "motorways"


def _add_areas(m: folium.Map, areas_geojson: dict,
               room_colours: dict[str, str]) -> tuple[folium.FeatureGroup, folium.GeoJson]:
    """Area polygons and permanent labels into the "Areas" overlay; returns (group, polygon layer)."""
    group = folium.FeatureGroup(name="Areas", show=True).add_to(m)
    # Counties first, the motorway corridor on top so the thin band stays visible.
    features = sorted(areas_geojson["features"], key=_is_corridor)
    layer = folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name="areas",
        style_function=_area_style(room_colours),
        highlight_function=lambda _f: {"weight": 4},
        tooltip=folium.GeoJsonTooltip(fields=["name", "room"], aliases=["Area", "Room"]),
        control=False,
    ).add_to(group)
    for feature, point in zip(features, _label_points(features)):
        props = feature["properties"]
        folium.Marker(
            (point.y, point.x),
            pane=LABEL_PANE,
            icon=folium.DivIcon(
                html=_label_html(props.get("name", props["code"]), props.get("room"), props["code"], room_colours),
                icon_size=(0, 0), class_name="crmap-label-anchor"),
            interactive=False,
        ).add_to(group)
    return group, layer


def _add_roads(m: folium.Map, roads_geojson: dict) -> folium.FeatureGroup:
    """Motorway lines (cased), reference shields and junction points into "Motorways"."""
    group = folium.FeatureGroup(name="Motorways", show=True).add_to(m)
    lines = [f for f in roads_geojson.get("features", []) if f["geometry"]["type"] in ("LineString", "MultiLineString")]
    junctions = [f for f in roads_geojson.get("features", []) if f["geometry"]["type"] == "Point"]
    if lines:
        collection = {"type": "FeatureCollection", "features": lines}
        for colour, extra in ((ROAD_CASING, 3), (ROAD_COLOUR, 0)):  # white casing under the line
            folium.GeoJson(collection, style_function=lambda f, c=colour, x=extra: {
                "color": c, "weight": (4 if f["properties"].get("kind") == "motorway" else 3) + x,
                "opacity": 1.0}, interactive=False, control=False).add_to(group)
        shields: dict[str, Any] = {}
        for f in lines:  # one shield per road ref, at the middle of its longest piece
            ref = f["properties"].get("ref")
            geom = shape(f["geometry"])
            if ref and (ref not in shields or geom.length > shields[ref].length):
                shields[ref] = geom
        for ref, geom in shields.items():
            mid = geom.interpolate(0.5, normalized=True)
            folium.Marker((mid.y, mid.x), interactive=False, pane=LABEL_PANE, icon=folium.DivIcon(
                html=f'<div class="crmap-road-shield">{html.escape(ref)}</div>',
                icon_size=(0, 0), class_name="crmap-label-anchor")).add_to(group)
    if junctions:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": junctions},
            marker=folium.CircleMarker(radius=3, color=ROAD_COLOUR, weight=1.5, fill=True,
                                       fill_color=ROAD_CASING, fill_opacity=1.0),
            tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
            control=False,
        ).add_to(group)
    return group


def build_base_map(
    out_dir: Path,
    *,
    areas_geojson: dict,
    roads_geojson: dict,
    room_colours: dict,
    tile_url: str | None = None,
    training: bool = False,
    base_map: dict | None = None,
) -> Path:
    """Write index.html, map_api.js and Leaflet into out_dir (fully offline) and return the HTML path.

    `base_map` (see ui.map.panel.base_map_layers) puts the force's own tiles under the areas:
    {"kind": "xyz", "day": url, "night": url|None, ...} or {"kind": "wms", "url", "layers", ...}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _copy_leaflet(out_dir)
    shutil.copy2(API_JS, out_dir / "map_api.js")

    bounds = shape({"type": "GeometryCollection",
                    "geometries": [f["geometry"] for f in areas_geojson["features"]]}).bounds
    centre = ((bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2)
    m = folium.Map(location=centre, zoom_start=9, tiles=None, control_scale=True,
                   attribution_control=bool(tile_url), min_zoom=6, max_zoom=18,
                   zoom_snap=0.25, zoom_delta=0.5)
    # Instance attributes, so folium's class-level CDN lists are never rendered (nor mutated).
    m.default_js = [("leaflet", "leaflet/leaflet.js"), ("crmap_api", "map_api.js")]
    m.default_css = [("leaflet_css", "leaflet/leaflet.css")]
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr="Configured tile server", name="Tiles",
                         overlay=False, control=False).add_to(m)

    folium.map.CustomPane(LABEL_PANE, z_index=450, pointer_events=False).add_to(m)
    area_group, areas = _add_areas(m, areas_geojson, room_colours)
    _add_roads(m, roads_geojson)
    groups = {name: folium.FeatureGroup(name=name, show=True).add_to(m) for name in OVERLAYS[2:]}
    folium.LayerControl(position="topright", collapsed=False).add_to(m)

    root = m.get_root()
    # Before leaflet.js loads: position markers with left/top, not translate3d. A 3D transform makes
    # every one of 2,000 unit markers its own compositing layer, and re-compositing them all on each
    # AVL batch is what costs the CPU (zoom then snaps instead of animating, fine on a desk map).
    root.header.add_child(Element("<script>window.L_DISABLE_3D = true;</script>"), name="crmap_no3d")
    root.header.add_child(Element(_css(training)), name="crmap_css")
    overlay = ""
    if training:
        overlay = '<div class="crmap-training-band">TRAINING</div><div class="crmap-watermark">TRAINING</div>'
    config = {
        "roomColours": room_colours,
        "gradeColours": palette.GRADE_COLOURS,
        "ungradedColour": palette.UNGRADED_COLOUR,
        "statusColours": palette.UNIT_STATUS_COLOURS,
        "statusLabels": palette.UNIT_STATUS_LABELS,
        "incidentStatusLabels": palette.INCIDENT_STATUS_LABELS,
        "staleColour": palette.STALE_COLOUR,
        "defaultRoomColour": palette.room_colour(None),
        "ink": LABEL_INK,
        "paper": ROAD_CASING,
        "bounds": [[bounds[1], bounds[0]], [bounds[3], bounds[2]]],
        "legendHtml": _legend_html(room_colours),
        "overlayHtml": overlay,
        "training": training,
        "baseMap": base_map,
    }
    m.add_child(_Element(_INIT_TEMPLATE, map=m, areas=areas, area_group=area_group, groups=groups, config=config))

    page = root.render()
    if _EXTERNAL.search(page):
        raise RuntimeError(f"base map references an external resource: {_EXTERNAL.search(page).group(0)!r}")
    out = out_dir / "index.html"
    out.write_text(page, encoding="utf-8")
    return out


def load_geojson(path: Path) -> dict:
    """Read a GeoJSON FeatureCollection from disk."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
