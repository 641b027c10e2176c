"""The force's MBTiles served to the map page through a Qt URL scheme (no HTTP server, no network).

`crtiles://tiles/<day|night>/<z>/<x>/<y>.png` answers from the configured MBTiles file. Raster
tiles (PNG/JPEG) go out as stored; vector tiles (Mapbox Vector Tiles, e.g. OS Open Zoomstack) are
drawn here with QPainter in the day or night style of resources/mapstyles.yaml and go out as PNG,
so the page needs no WebGL and no vector-tile JavaScript at all (control-room desktops often run
without a GPU; Chromium's WebGL is off with --disable-gpu). Rendered tiles are kept in a small LRU.

The scheme must be registered before the QApplication exists: `register_scheme()` runs when this
module is imported (ui.map.panel imports it; ui.shell.app imports that before creating the app).
"""
from __future__ import annotations

import functools
import logging
import math
import re
from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWebEngineCore import QWebEngineUrlRequestJob, QWebEngineUrlScheme, QWebEngineUrlSchemeHandler

from controlroom.kernel import config
from controlroom.geo.mbtiles import MBTiles

log = logging.getLogger(__name__)

SCHEME = b"crtiles"
TILE_PX = 256
_PATH = re.compile(r"^/(day|night)/(\d{1,2})/(\d{1,7})/(\d{1,7})\.(png|jpg|jpeg|webp|pbf)$")


def register_scheme() -> None:
    """Declare crtiles:// to Chromium (idempotent; must run before QApplication)."""
    if QWebEngineUrlScheme.schemeByName(SCHEME).name() == SCHEME:
        return
    s = QWebEngineUrlScheme(SCHEME)
    s.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    s.setFlags(QWebEngineUrlScheme.Flag.SecureScheme | QWebEngineUrlScheme.Flag.LocalScheme
               | QWebEngineUrlScheme.Flag.LocalAccessAllowed | QWebEngineUrlScheme.Flag.CorsEnabled)
    QWebEngineUrlScheme.registerScheme(s)


register_scheme()


def tile_url(theme: str, ext: str = "png") -> str:
    return f"{SCHEME.decode()}://tiles/{theme}/{{z}}/{{x}}/{{y}}.{ext}"


@functools.cache
def styles() -> dict[str, Any]:
    return config.load_resource("mapstyles")


class TileSchemeHandler(QWebEngineUrlSchemeHandler):
    """Answers crtiles:// requests from one or two MBTiles files (day, and optionally night)."""

    def __init__(self, day: MBTiles, night: MBTiles | None = None, parent: Any = None,
                 *, cache_tiles: int = 512) -> None:
        super().__init__(parent)
        self.sources = {"day": day, "night": night or day}
        self.served = 0
        self.missing = 0
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()
        self._cache_size = cache_tiles

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:  # noqa: N802 (Qt override)
        url = job.requestUrl()
        m = _PATH.match(url.path()) if url.host() == "tiles" else None
        if m is None:
            job.fail(QWebEngineUrlRequestJob.Error.UrlInvalid)
            return
        theme, z, x, y = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))
        try:
            data, mime = self.tile(theme, z, x, y)
        except Exception:  # a bad tile in a force's file must not take the console down
            log.exception("tile %s failed", url.toString())
            job.fail(QWebEngineUrlRequestJob.Error.RequestFailed)
            return
        if data is None:
            self.missing += 1
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        buf = QBuffer(job)  # owned by the job: freed with it
        buf.setData(QByteArray(data))
        buf.open(QIODevice.OpenModeFlag.ReadOnly)
        self.served += 1
        job.reply(mime.encode(), buf)

    def tile(self, theme: str, z: int, x: int, y: int) -> tuple[bytes | None, str]:
        """(bytes, mime) of one tile as the page gets it; vector tiles come out as PNG."""
        src = self.sources[theme]
        key = (theme, z, x, y)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key], "image/png" if src.is_vector else src.mime
        raw = src.tile(z, x, y)
        if raw is None:
            return None, src.mime
        if not src.is_vector:
            return raw, src.mime
        png = render_vector_tile(raw, z, theme)
        self._cache[key] = png
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return png, "image/png"


# ---- vector tile drawing --------------------------------------------------------------------
def _rule_for(rules: list[dict], layer: str, props: dict) -> int | None:
    for i, r in enumerate(rules):
        if r["layer"] not in (layer, "*"):
            continue
        for prop in ("type", "class"):
            if prop in r and str(props.get(prop, "")) != str(r[prop]):
                break
        else:
            return i
    return None


def _path(geom: dict, k: float) -> tuple[QPainterPath, str]:
    t, coords = geom["type"], geom["coordinates"]
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    if t in ("Polygon", "MultiPolygon"):
        polys = [coords] if t == "Polygon" else coords
        for poly in polys:
            for ring in poly:
                if ring:
                    path.moveTo(ring[0][0] * k, ring[0][1] * k)
                    for px, py in ring[1:]:
                        path.lineTo(px * k, py * k)
                    path.closeSubpath()
        return path, "fill"
    if t in ("LineString", "MultiLineString"):
        for line in ([coords] if t == "LineString" else coords):
            if line:
                path.moveTo(line[0][0] * k, line[0][1] * k)
                for px, py in line[1:]:
                    path.lineTo(px * k, py * k)
        return path, "line"
    pts = [coords] if t == "Point" else coords
    for px, py in pts:
        path.addEllipse(QPointF(px * k, py * k), 1.5, 1.5)
    return path, "point"


def _label_point(geom: dict, k: float) -> tuple[QPointF, float] | None:
    """Where a name goes and at what angle: a point, or the middle of a line's longest part."""
    t, c = geom["type"], geom["coordinates"]
    if t == "Point":
        return QPointF(c[0] * k, c[1] * k), 0.0
    if t in ("LineString", "MultiLineString"):
        line = max([c] if t == "LineString" else c, key=len)
        if len(line) < 2:
            return None
        i = len(line) // 2 - 1 if len(line) > 2 else 0
        (x1, y1), (x2, y2) = line[i], line[i + 1]
        ang = math.degrees(math.atan2(y2 - y1, x2 - x1))
        if ang > 90 or ang < -90:
            ang += 180
        return QPointF((x1 + x2) / 2 * k, (y1 + y2) / 2 * k), ang
    return None


def render_vector_tile(data: bytes, z: int, theme: str = "day", size: int = TILE_PX) -> bytes:
    """One Mapbox Vector Tile drawn as a PNG in the day or night style."""
    import mapbox_vector_tile

    style = styles()[theme]
    rules = style["rules"]
    layers = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(QColor(style["background"]))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    widen = max(0.6, min(2.5, (z - 10) / 3.0))
    by_rule: dict[int, list[tuple[dict, dict]]] = {}
    for lname, layer in layers.items():
        k = size / float(layer.get("extent", 4096))
        for f in layer["features"]:
            i = _rule_for(rules, lname, f.get("properties", {}))
            if i is not None:
                by_rule.setdefault(i, []).append((f, {"k": k}))
    drawn: list[tuple[dict, QPainterPath, str]] = []
    for i in sorted(by_rule):
        for f, ctx in by_rule[i]:
            path, kind = _path(f["geometry"], ctx["k"])
            drawn.append((rules[i], path, kind))
            if kind == "fill" and "fill" in rules[i]:
                p.fillPath(path, QBrush(QColor(rules[i]["fill"])))
                if "line" in rules[i]:
                    p.strokePath(path, QPen(QColor(rules[i]["line"]), rules[i].get("width", 1)))
    for stage in ("casing", "line"):
        for rule, path, kind in drawn:
            if kind != "line" or stage not in rule:
                continue
            w = rule.get("width", 1) * widen + (2.0 if stage == "casing" else 0.0)
            pen = QPen(QColor(rule[stage]), w, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                       Qt.PenJoinStyle.RoundJoin)
            if "dash" in rule and stage == "line":
                pen.setDashPattern([float(d) for d in rule["dash"]])
            p.strokePath(path, pen)
    _labels(p, layers, rules, size, z)
    p.end()
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    return bytes(buf.data().data())


def _labels(p: QPainter, layers: dict, rules: list[dict], size: int, z: int) -> None:
    """Names of places (points) and, at street zoom, of roads along them; no two overlap."""
    font = QFont("DejaVu Sans")
    taken: list[QRectF] = []
    for lname, layer in layers.items():
        k = size / float(layer.get("extent", 4096))
        for f in layer["features"]:
            props = f.get("properties", {})
            name = props.get("name") or props.get("name1") or props.get("text")
            if not name or (f["geometry"]["type"].endswith("LineString") and z < 15):
                continue
            i = _rule_for(rules, lname, props)
            rule = rules[i] if i is not None else {}
            ink = rule.get("text") or rules[-1].get("text", "#000000")
            halo = rule.get("halo") or rules[-1].get("halo", "#ffffff")
            at = _label_point(f["geometry"], k)
            if at is None:
                continue
            pt, ang = at
            font.setPixelSize(11 if f["geometry"]["type"].endswith("LineString") else 13)
            font.setBold(not f["geometry"]["type"].endswith("LineString"))
            fm = QFontMetricsF(font)
            w, h = fm.horizontalAdvance(str(name)), fm.height()
            box = QRectF(pt.x() - w / 2 - 2, pt.y() - h / 2 - 2, w + 4, h + 4)
            if any(box.intersects(t) for t in taken):
                continue
            taken.append(box)
            p.save()
            p.translate(pt)
            p.rotate(ang)
            path = QPainterPath()
            path.addText(QPointF(-w / 2, fm.ascent() / 2 - 1), font, str(name))
            p.strokePath(path, QPen(QColor(halo), 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                                    Qt.PenJoinStyle.RoundJoin))
            p.fillPath(path, QBrush(QColor(ink)))
            p.restore()
