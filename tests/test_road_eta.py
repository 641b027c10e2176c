"""Recommendations by drive time once the force imports its roads; an estimate says so until then."""
from __future__ import annotations

import json

import psycopg

from controlroom.geo.__main__ import main as geo_cli

HERE = (51.7001, -1.5502)            # open country in Oxfordshire: no demo unit within a few km
WEST = (HERE[0], HERE[1] - 0.0145)   # ~1.0 km west, on a straight road to the scene
EAST = (HERE[0], HERE[1] + 0.0116)   # ~0.8 km east, but the only road loops 3 km north (a river)


def _roads(path):
    def line(*pts, **props):
        return {"type": "Feature", "properties": {"highway": "residential", **props},
                "geometry": {"type": "LineString", "coordinates": [[lo, la] for la, lo in pts]}}
    north = HERE[0] + 0.027
    fc = {"type": "FeatureCollection", "features": [
        line(WEST, HERE),
        line(EAST, (north, EAST[1]), (north, HERE[1]), HERE),
    ]}
    path.write_text(json.dumps(fc))
    return path


def _place_units(url):
    with psycopg.connect(url, autocommit=True) as c:
        rows = c.execute("SELECT callsign FROM units WHERE 'IRV' = ANY(capabilities) AND status = 'available' "
                         "AND incident_id IS NULL ORDER BY callsign LIMIT 2").fetchall()
        (w,), (e,) = rows
        c.execute("UPDATE units SET lat = %s, lon = %s WHERE callsign = %s", (*WEST, w))
        c.execute("UPDATE units SET lat = %s, lon = %s WHERE callsign = %s", (*EAST, e))
    return w, e


def test_drive_time_ranks_the_unit_across_the_river_after_the_one_on_the_road(fresh_db_url, tmp_path, open_as):
    west, east = _place_units(fresh_db_url)
    h = open_as("handler.south", url=fresh_db_url)
    inc = h.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight in a lay-by",
                             lat=HERE[0], lon=HERE[1], grade="G1")
    d = open_as("despatch.south", url=fresh_db_url)
    before = {r.callsign: r for r in d.despatch.recommend(inc.id, capability="IRV", limit=10)}
    assert before[east].eta_s < before[west].eta_s               # nearer as the crow flies
    assert {before[east].eta_basis, before[west].eta_basis} == {"estimate"}

    assert geo_cli(["--database-url", fresh_db_url, "import", "roads", str(_roads(tmp_path / "roads.geojson"))]) == 0
    d2 = open_as("despatch.south", url=fresh_db_url)
    recs = d2.despatch.recommend(inc.id, capability="IRV", limit=10)
    after = {r.callsign: r for r in recs}
    assert after[west].eta_basis == after[east].eta_basis == "road network"
    assert after[west].eta_s < after[east].eta_s                  # the loop north costs minutes
    assert [r.callsign for r in recs].index(west) < [r.callsign for r in recs].index(east)
    assert after[east].eta_s > 3 * 60


def test_eta_text_says_estimate_without_a_road_network():
    from types import SimpleNamespace
    from ui.despatch.tab import eta_text
    assert eta_text(SimpleNamespace(eta_s=540, eta_basis="estimate")) == "≈ 9 min (estimate)"
    assert eta_text(SimpleNamespace(eta_s=420, eta_basis="road network")) == "7 min by road"
