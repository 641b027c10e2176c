"""The database checks which area a location is in (issue 19: every rule holds for a raw client).

Until now the console located a point with shapely and sent the area code; the database checked
only that the area existed. An operator with a raw SQL client could therefore file a Milton Keynes
incident in an Abingdon-owned area (the wrong room would own it, and its attendance target would be
computed for the wrong place), or move a unit's fix into another area.

- `area_rings`: each area's GeoJSON (Polygon or MultiPolygon) as PostgreSQL polygons, one row per
  ring (ring 0 the outline of a part, others its holes), with the ring's bounding box and the whole
  area's size (shapely's planar area in degrees², so "the smaller area wins" ranks as the console
  does). Kept by a trigger on `areas` whenever an area's geometry is written (seed, the boundaries
  importer, a training copy).
- `cr_areas_at(lat, lon)`: the areas containing the point (inside a part's outline and in none of
  its holes; on an edge counts as inside, as shapely's `intersects`), smallest first.
- incidents: an insert or a change of location/area whose area does not contain the point is
  refused (CR400, field `location`, naming the area(s) the point is in). The console's own choice
  among overlapping areas (the motorway corridor over a county) stands when it is one of them.
- units: an AVL fix or status write carrying an area the fix is not in gets the smallest area it is
  in (NULL outside the force): positions arrive in batches from the gateway and one bad fix must
  not refuse the rest. `api.unit_position` is restated so its event's room follows the stored area
  (the batch variant already reads it back).
An area without geometry (no rings) is not checked.
"""
from __future__ import annotations

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

SQL = r"""
CREATE TABLE area_rings (
  area_code varchar(20) NOT NULL REFERENCES areas (code) ON DELETE CASCADE,
  part integer NOT NULL,
  ring integer NOT NULL,
  outline polygon NOT NULL,
  bbox box NOT NULL,
  area_size double precision NOT NULL,
  PRIMARY KEY (area_code, part, ring)
);

-- Shoelace area of a ring (degrees², planar: what shapely's .area gives for lon/lat coordinates).
CREATE FUNCTION cr_ring_size(p_ring jsonb) RETURNS double precision LANGUAGE sql IMMUTABLE
SET search_path = public, pg_temp AS $$
  SELECT abs(coalesce(sum(x1 * y2 - x2 * y1), 0)) / 2 FROM (
    SELECT (c->>0)::float8 AS x1, (c->>1)::float8 AS y1,
           (lead(c) OVER (ORDER BY n)->>0)::float8 AS x2, (lead(c) OVER (ORDER BY n)->>1)::float8 AS y2
      FROM jsonb_array_elements(p_ring) WITH ORDINALITY AS t(c, n)) s
   WHERE x2 IS NOT NULL
$$;

CREATE FUNCTION cr_area_rings_sync() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE g jsonb := NEW.geojson; parts jsonb; p jsonb; r jsonb; pi integer := 0; ri integer;
  v_poly polygon; v_size double precision := 0;
BEGIN
  DELETE FROM area_rings WHERE area_code = NEW.code;
  IF g IS NULL THEN
    RETURN NEW;
  END IF;
  IF g->>'type' = 'Feature' THEN
    g := g->'geometry';
  END IF;
  parts := CASE g->>'type' WHEN 'Polygon' THEN jsonb_build_array(g->'coordinates')
                           WHEN 'MultiPolygon' THEN g->'coordinates' END;
  IF parts IS NULL OR jsonb_typeof(parts) <> 'array' THEN
    RAISE EXCEPTION 'Area % must be a GeoJSON Polygon or MultiPolygon.', NEW.code USING ERRCODE = 'CR400';
  END IF;
  FOR p IN SELECT value FROM jsonb_array_elements(parts) LOOP
    IF jsonb_typeof(p) IS DISTINCT FROM 'array' OR jsonb_array_length(p) = 0 THEN
      RAISE EXCEPTION 'Area % must be a GeoJSON Polygon or MultiPolygon (a part has no rings).', NEW.code
        USING ERRCODE = 'CR400';
    END IF;
    ri := 0;
    FOR r IN SELECT value FROM jsonb_array_elements(p) LOOP
      IF jsonb_typeof(r) IS DISTINCT FROM 'array' OR jsonb_array_length(r) < 4 THEN
        RAISE EXCEPTION 'Area % must be a GeoJSON Polygon or MultiPolygon (a ring needs 4 positions).', NEW.code
          USING ERRCODE = 'CR400';
      END IF;
      SELECT ('(' || string_agg(format('(%s,%s)', c->>0, c->>1), ',' ORDER BY n) || ')')::polygon
        INTO v_poly FROM jsonb_array_elements(r) WITH ORDINALITY AS t(c, n);
      INSERT INTO area_rings (area_code, part, ring, outline, bbox, area_size)
      VALUES (NEW.code, pi, ri, v_poly, box(v_poly), 0);
      v_size := v_size + CASE WHEN ri = 0 THEN 1 ELSE -1 END * cr_ring_size(r);
      ri := ri + 1;
    END LOOP;
    pi := pi + 1;
  END LOOP;
  UPDATE area_rings SET area_size = v_size WHERE area_code = NEW.code;
  RETURN NEW;
END $$;

CREATE TRIGGER areas_rings AFTER INSERT OR UPDATE OF geojson ON areas
  FOR EACH ROW EXECUTE FUNCTION cr_area_rings_sync();

-- The areas containing a point, smallest first (the console's rule: the smaller area wins).
CREATE FUNCTION cr_areas_at(p_lat double precision, p_lon double precision) RETURNS text[]
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT coalesce(array_agg(area_code ORDER BY size, area_code), '{}') FROM (
    SELECT area_code, min(area_size) AS size FROM (
      SELECT area_code, part, min(area_size) AS area_size FROM area_rings
       WHERE bbox @> point(p_lon, p_lat) AND outline @> point(p_lon, p_lat)
       GROUP BY area_code, part
      HAVING bool_or(ring = 0) AND NOT bool_or(ring > 0)) parts
    GROUP BY area_code) a
$$;

CREATE FUNCTION cr_incident_area_check() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE v text[];
BEGIN
  IF NEW.lat IS NULL OR NEW.lon IS NULL OR NEW.area_code IS NULL THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.lat = OLD.lat AND NEW.lon = OLD.lon
     AND NEW.area_code IS NOT DISTINCT FROM OLD.area_code THEN
    RETURN NEW;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM area_rings WHERE area_code = NEW.area_code) THEN
    RETURN NEW;  -- an area without geometry: nothing to check against
  END IF;
  v := cr_areas_at(NEW.lat, NEW.lon);
  IF NOT NEW.area_code = ANY (v) THEN
    PERFORM cr_fail('CR400', format('The location %s, %s is not in area %s (%s). Check the location.',
        round(NEW.lat::numeric, 5), round(NEW.lon::numeric, 5), NEW.area_code,
        CASE WHEN cardinality(v) = 0 THEN 'it is outside the force area'
             ELSE 'it is in ' || array_to_string(v, ', ') END), 'location');
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER incidents_area_check BEFORE INSERT OR UPDATE OF lat, lon, area_code ON incidents
  FOR EACH ROW EXECUTE FUNCTION cr_incident_area_check();

CREATE FUNCTION cr_unit_area_fix() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_temp AS $$
DECLARE v text[];
BEGIN
  IF NEW.lat IS NULL OR NEW.lon IS NULL THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.lat = OLD.lat AND NEW.lon = OLD.lon
     AND NEW.area_code IS NOT DISTINCT FROM OLD.area_code THEN
    RETURN NEW;
  END IF;
  IF NEW.area_code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM area_rings WHERE area_code = NEW.area_code) THEN
    RETURN NEW;
  END IF;
  v := cr_areas_at(NEW.lat, NEW.lon);
  IF NEW.area_code IS NULL OR NOT NEW.area_code = ANY (v) THEN
    NEW.area_code := v[1];  -- NULL outside the force
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER units_area_fix BEFORE INSERT OR UPDATE OF lat, lon, area_code ON units
  FOR EACH ROW EXECUTE FUNCTION cr_unit_area_fix();

-- api.unit_position (0026) as it was, but the event's room follows the area the fix was stored in
-- (the trigger above may have corrected the claimed one); grants are kept by CREATE OR REPLACE.
CREATE OR REPLACE FUNCTION api.unit_position(p_callsign text, p_lat float8, p_lon float8, p_at timestamptz DEFAULT NULL,
    p_area text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE u units; v_cs text := upper(btrim(p_callsign)); v_at timestamptz := coalesce(p_at, now());
BEGIN
  PERFORM cr_require('cr_despatcher', 'update unit positions');
  IF p_lat IS NULL OR p_lon IS NULL OR p_lat NOT BETWEEN -90 AND 90 OR p_lon NOT BETWEEN -180 AND 180
     OR p_lat = 'NaN' OR p_lon = 'NaN' THEN
    RAISE EXCEPTION 'That is not a position (latitude -90..90, longitude -180..180).'
      USING ERRCODE = 'CR400', COLUMN = 'lat';
  END IF;
  IF v_at > now() + interval '10 minutes' OR v_at < '1970-01-01' THEN
    RAISE EXCEPTION 'The position time must be between 1970 and a few minutes from now.'
      USING ERRCODE = 'CR400', COLUMN = 'at';
  END IF;
  IF p_area IS NOT NULL AND NOT EXISTS (SELECT 1 FROM areas WHERE code = p_area) THEN
    RAISE EXCEPTION 'Area ''%'' is not recognised.', p_area USING ERRCODE = 'CR400', COLUMN = 'area';
  END IF;
  UPDATE units SET lat = p_lat, lon = p_lon, position_at = v_at, area_code = p_area
   WHERE callsign = v_cs AND (position_at IS NULL OR position_at <= v_at) RETURNING * INTO u;
  IF NOT FOUND THEN
    IF NOT EXISTS (SELECT 1 FROM units WHERE callsign = v_cs) THEN
      RAISE EXCEPTION 'There is no unit with callsign %.', v_cs USING ERRCODE = 'CR404', COLUMN = 'callsign';
    END IF;
    RETURN NULL;  -- an older fix than the last one: ignored
  END IF;
  RETURN cr_emit('unit.position', u.callsign, (SELECT room_code FROM areas WHERE code = u.area_code),
                 jsonb_build_object('callsign', u.callsign, 'lat', u.lat, 'lon', u.lon, 'at', u.position_at,
                                    'area_code', u.area_code, 'status', u.status), false);
END $$;

-- the areas already there (the trigger fires for any UPDATE naming geojson)
UPDATE areas SET geojson = geojson;
"""

DOWN = """
DROP TRIGGER IF EXISTS units_area_fix ON units;
DROP TRIGGER IF EXISTS incidents_area_check ON incidents;
DROP TRIGGER IF EXISTS areas_rings ON areas;
DROP FUNCTION IF EXISTS cr_unit_area_fix();
DROP FUNCTION IF EXISTS cr_incident_area_check();
DROP FUNCTION IF EXISTS cr_areas_at(double precision, double precision);
DROP FUNCTION IF EXISTS cr_area_rings_sync();
DROP FUNCTION IF EXISTS cr_ring_size(jsonb);
DROP TABLE IF EXISTS area_rings;
"""


def upgrade() -> None:
    op.execute(SQL)


def downgrade() -> None:
    op.execute(DOWN)
