"""The force's own BCU boundaries replace the demo's Voronoi areas; rooms keep what they own."""
from __future__ import annotations

import json

import numpy as np
import psycopg
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import mapping, shape

from controlroom.geo import load_shipped_areas
from controlroom.geo.__main__ import main as geo_cli
from controlroom.geo.boundaries import import_boundaries
from controlroom.geo.formats import FormatError

TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
# A point ~1.5 km outside the demo's mk polygon, in bucks today: inside mk once mk grows by 2 km.
PROBE = None


def _bng(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(TO_BNG.transform(xy[:, 0], xy[:, 1])))


def _grown_mk_in_bng(metres: float = 2000):
    mk = next(shape(f["geometry"]) for f in load_shipped_areas() if f["properties"]["code"] == "mk")
    return _bng(mk).buffer(metres)


def _probe():
    """A point just outside the shipped mk polygon (1 km), in WGS84."""
    mk_bng = _grown_mk_in_bng(0)
    ring = mk_bng.buffer(1000).exterior
    p = ring.interpolate(0.37, normalized=True)
    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(p.x, p.y)
    return lat, lon


def test_geojson_in_british_national_grid_replaces_an_area_and_keeps_its_room(fresh_db_url, tmp_path, open_as):
    lat, lon = _probe()
    before = open_as("handler.north", url=fresh_db_url)
    assert before.ctx.areas.locate(lat, lon) != "mk"
    fc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
          "features": [{"type": "Feature", "properties": {"BCU_CODE": "mk", "BCU_NAME": "Milton Keynes BCU"},
                        "geometry": mapping(_grown_mk_in_bng())}]}
    f = tmp_path / "bcu.geojson"
    f.write_text(json.dumps(fc))
    assert geo_cli(["--database-url", fresh_db_url, "import", "boundaries", str(f), "--code-field", "BCU_CODE",
                    "--name-field", "BCU_NAME"]) == 0
    with psycopg.connect(fresh_db_url) as c:
        assert c.execute("SELECT name, room_code FROM areas WHERE code = 'mk'").fetchone() == ("Milton Keynes BCU", "north")
        assert c.execute("SELECT value FROM meta WHERE key = 'boundaries_source'").fetchone()[0].startswith("bcu.geojson")
    after = open_as("handler.north", url=fresh_db_url)
    assert after.ctx.areas.locate(lat, lon) == "mk"
    inc = after.incidents.create(channel="999", incident_type="ASB", summary="At the new edge", lat=lat, lon=lon)
    assert (inc.area_code, inc.room_code) == ("mk", "north")


def test_shapefile_is_read_through_pyogrio(fresh_db_url, tmp_path):
    pyogrio = pytest.importorskip("pyogrio")
    g = _grown_mk_in_bng(500)
    path = tmp_path / "bcu.shp"
    pyogrio.raw.write(path, geometry=np.array([shapely.to_wkb(g)], dtype=object), field_data=[np.array(["mk"])],
                      fields=["code"], crs="EPSG:27700", geometry_type="Polygon", driver="ESRI Shapefile")
    out = import_boundaries(fresh_db_url, path)
    assert "1 area(s) replaced" in out and "owning rooms kept" in out
    with psycopg.connect(fresh_db_url) as c:
        geo = c.execute("SELECT geojson FROM areas WHERE code = 'mk'").fetchone()[0]
    assert 51.9 < shape(geo).centroid.y < 52.2  # converted to WGS84


def test_unknown_area_code_is_refused_and_nothing_changes(fresh_db_url, tmp_path):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "mk"}, "geometry": mapping(_grown_mk_in_bng())},
        {"type": "Feature", "properties": {"code": "bedford"}, "geometry": mapping(_grown_mk_in_bng())}]}
    f = tmp_path / "bad.geojson"
    f.write_text(json.dumps(fc))
    with psycopg.connect(fresh_db_url) as c:
        before = c.execute("SELECT geojson FROM areas WHERE code = 'mk'").fetchone()[0]
    with pytest.raises(FormatError, match="bedford"):
        import_boundaries(fresh_db_url, f)
    with psycopg.connect(fresh_db_url) as c:
        assert c.execute("SELECT geojson FROM areas WHERE code = 'mk'").fetchone()[0] == before
