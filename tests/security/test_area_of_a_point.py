"""The database decides whether a location is in the area a client claims (migration 0041): an
operator with a raw SQL client cannot file an incident, or move a unit, into an area the point is
not in — which would hand it to the other room."""
from __future__ import annotations

import random

import psycopg
import pytest
from psycopg.types.json import Jsonb

from controlroom.geo import AreaIndex, load_shipped_areas

from ..conftest import MK, OXFORD
from ..helpers import operator_conn, sql
from .conftest import refused

CREATE = ("SELECT api.incident_create(p_channel => '999', p_incident_type => 'ASSAULT', p_summary => %s, "
          "p_lat => %s, p_lon => %s, p_area => %s, p_grade => 'G2')")


def test_the_database_locates_points_as_the_console_does(db_url):
    """2,000 random points over the force: the console's area (shapely, smaller area wins) is the
    database's first choice, and a point the console finds outside is outside for the database."""
    index = AreaIndex.from_geojson(load_shipped_areas())
    minx, miny, maxx, maxy = index.outline.bounds
    rng = random.Random(41)
    points = [(rng.uniform(miny, maxy), rng.uniform(minx, maxx)) for _ in range(2000)]
    with psycopg.connect(db_url) as c:
        got = c.execute("SELECT cr_areas_at(lat, lon) FROM unnest(%s::float8[], %s::float8[]) AS p(lat, lon)",
                        ([p[0] for p in points], [p[1] for p in points])).fetchall()
    inside = 0
    for (lat, lon), (areas,) in zip(points, got):
        want = index.locate(lat, lon)
        assert (areas[0] if areas else None) == want, (lat, lon, areas, want)
        inside += want is not None
    assert 300 < inside < 1900  # the sample really covers both inside and outside the force


def test_a_raw_client_cannot_file_an_incident_in_an_area_its_location_is_not_in(db_url, attacker):
    c = attacker("handler.north")
    before = sql(db_url, "SELECT count(*) FROM incidents")
    # a Milton Keynes location claimed as Oxfordshire (owned by the South room)
    err = refused(c, CREATE, ("raw area claim", MK[0], MK[1], "oxon"))
    assert err.sqlstate == "CR400"
    assert "not in area oxon" in str(err) and "it is in mk" in str(err)
    err = refused(c, CREATE, ("raw area claim", 50.2, -5.0, "oxon"))  # Cornwall
    assert "outside the force area" in str(err)
    assert sql(db_url, "SELECT count(*) FROM incidents") == before  # nothing half-written
    ok = c.execute(CREATE, ("raw honest", MK[0], MK[1], "mk")).fetchone()[0]
    assert (ok["area_code"], ok["room_code"]) == ("mk", "north")


def test_a_raw_location_change_must_keep_area_and_point_together(db_url, attacker):
    c = attacker("handler.north")
    inc = c.execute(CREATE, ("raw move", MK[0], MK[1], "mk")).fetchone()[0]
    # move the point to Oxford but keep the MK area: refused, the incident is unchanged
    err = refused(c, "SELECT api.incident_update(%s, %s, %s)",
                  (inc["id"], inc["version"], Jsonb({"lat": OXFORD[0], "lon": OXFORD[1], "area_code": "mk"})))
    assert "not in area mk" in str(err) and "oxon" in str(err)
    assert sql(db_url, "SELECT lat, area_code FROM incidents WHERE id = %s", (inc["id"],)) == [(MK[0], "mk")]
    moved = c.execute("SELECT api.incident_update(%s, %s, %s)",
                      (inc["id"], inc["version"], Jsonb({"lat": OXFORD[0], "lon": OXFORD[1],
                                                          "area_code": "oxon"}))).fetchone()[0]
    assert (moved["area_code"], moved["room_code"]) == ("oxon", "south")


def test_a_unit_fix_claiming_the_wrong_area_is_stored_in_the_area_it_is_in(db_url):
    with operator_conn(db_url, "despatch.north", "cr_despatcher") as c:
        seq = c.execute("SELECT api.unit_position('MK13', %s, %s, now(), 'oxon')", MK).fetchone()[0]
        assert sql(db_url, "SELECT area_code FROM units WHERE callsign = 'MK13'") == [("mk",)]
        assert sql(db_url, "SELECT room_code, payload->>'area_code' FROM events WHERE seq = %s", (seq,)) == [
            ("north", "mk")]
        c.execute("SELECT api.unit_position('MK13', 50.2, -5.0, now() + interval '1 second', 'mk')")
        assert sql(db_url, "SELECT area_code FROM units WHERE callsign = 'MK13'") == [(None,)]
        c.execute("SELECT api.unit_position('MK13', %s, %s, now() + interval '2 seconds', 'mk')", MK)
        assert sql(db_url, "SELECT area_code FROM units WHERE callsign = 'MK13'") == [("mk",)]


@pytest.mark.parametrize("geometry", [{"type": "Point", "coordinates": [0, 0]}, {"type": "Polygon"},
                                      {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},
                                      {"type": "MultiPolygon", "coordinates": [7]}])
def test_an_area_geometry_that_is_not_a_polygon_is_refused(db_url, geometry):
    with psycopg.connect(db_url) as owner:
        with pytest.raises(psycopg.Error, match="Polygon or MultiPolygon"):
            owner.execute("UPDATE areas SET geojson = %s WHERE code = 'mk'", (Jsonb(geometry),))
        owner.rollback()
        assert owner.execute("SELECT count(*) FROM area_rings WHERE area_code = 'mk'").fetchone()[0] > 0
