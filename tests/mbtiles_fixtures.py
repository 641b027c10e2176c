"""Small MBTiles made by the tests: a raster (PNG) one and a vector (MVT) one around central
Milton Keynes at street zoom. The drawing is a test pattern, not a map of anything."""
from __future__ import annotations

import math
from pathlib import Path

from controlroom.geo.mbtiles import write_mbtiles

CENTRE = (52.0409, -0.7592)   # central Milton Keynes
ZOOMS = (15, 16)


def tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def tiles_around(lat: float, lon: float, z: int, r: int = 2) -> list[tuple[int, int, int]]:
    x0, y0 = tile_xy(lat, lon, z)
    return [(z, x, y) for x in range(x0 - r, x0 + r + 1) for y in range(y0 - r, y0 + r + 1)]


def raster_mbtiles(path: Path) -> Path:
    """PNG tiles: a grid with a diagonal 'road' and the tile's z/x/y written on it."""
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

    tiles = {}
    for z in ZOOMS:
        for key in tiles_around(*CENTRE, z):
            img = QImage(256, 256, QImage.Format.Format_RGB32)
            img.fill(QColor("#e9e4d8"))
            p = QPainter(img)
            p.setPen(QPen(QColor("#b9b1a0"), 1))
            for i in range(0, 256, 32):
                p.drawLine(i, 0, i, 255)
                p.drawLine(0, i, 255, i)
            p.setPen(QPen(QColor("#f2a341"), 8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            p.drawLine(0, 256, 256, 0)
            p.setPen(QColor("#333333"))
            p.setFont(QFont("DejaVu Sans", 10))
            p.drawText(8, 20, "raster fixture %d/%d/%d" % key)
            p.end()
            buf = QBuffer()
            buf.open(QIODevice.OpenModeFlag.WriteOnly)
            img.save(buf, "PNG")
            tiles[key] = bytes(buf.data().data())
    return write_mbtiles(path, tiles, fmt="png", name="raster fixture",
                         metadata={"attribution": "test fixture", "bounds": "-0.80,52.02,-0.72,52.06"})


def vector_mbtiles(path: Path) -> Path:
    """MVT tiles in the OS Open Zoomstack layer names: land, a park, buildings, roads, names."""
    import mapbox_vector_tile

    tiles = {}
    for z in ZOOMS:
        for (tz, x, y) in tiles_around(*CENTRE, z):
            layers = [
                {"name": "greenspace", "features": [
                    {"geometry": "POLYGON((300 300, 1500 300, 1500 1400, 300 1400, 300 300))",
                     "properties": {"type": "Public Park Or Garden"}}]},
                {"name": "buildings", "features": [
                    {"geometry": f"POLYGON(({a} {b}, {a + 500} {b}, {a + 500} {b + 350}, {a} {b + 350}, {a} {b}))",
                     "properties": {}} for a, b in ((2300, 500), (2300, 1200), (3000, 500), (500, 2600),
                                                    (1300, 2600), (2600, 2900))]},
                {"name": "roads", "features": [
                    {"geometry": "LINESTRING(-100 2100, 4200 2100)",
                     "properties": {"type": "A Road", "name": f"Fixture Boulevard {x % 10}"}},
                    {"geometry": "LINESTRING(2000 -100, 2000 4200)",
                     "properties": {"type": "Minor", "name": f"Test Gate {y % 10}"}},
                    {"geometry": "LINESTRING(-100 4000, 4200 -100)", "properties": {"type": "Motorway"}}]},
                {"name": "names", "features": [
                    {"geometry": "POINT(900 850)", "properties": {"name": "Fixture Park", "type": "Woodland"}}]},
            ]
            tiles[(tz, x, y)] = mapbox_vector_tile.encode(layers, default_options={"y_coord_down": True})
    return write_mbtiles(path, tiles, fmt="pbf", name="vector fixture",
                         metadata={"json": '{"vector_layers": [{"id": "roads"}, {"id": "buildings"}]}'})
