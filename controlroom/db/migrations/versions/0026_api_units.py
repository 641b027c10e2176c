"""api: unit status and AVL positions in the database

Revision ID: 0026
Revises: 0025

- api.unit_set_status: the status model (which status may follow which; free statuses never with
  an incident, on-incident statuses always with one; en route only by assignment; EMERGENCY only by
  the emergency action) enforced here; a unit en route booked at scene is the arrival
  (api.despatch_arrived, incident timers). Writes the unit, its status log and `unit.status`.
- api.unit_position / api.unit_positions: AVL fixes (telemetry: evented, not audited). A fix older
  than the unit's last is ignored; the owning room of the event follows the area. The batch is one
  statement whatever its size (the AVL gateway and the simulator send 20+ fixes at a time).
The area of a fix is located by the console (shapely, the shipped area polygons); the database
checks it is a known area and derives the room itself.
"""
from __future__ import annotations

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

SQL = r"""
CREATE FUNCTION api.unit_set_status(p_callsign text, p_status text, p_note text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; u units; r jsonb; v_cs text := upper(btrim(p_callsign)); v_to text := p_status;
  v_note text; v_prev text; v_from text[]; v_urn text; v_payload jsonb; v_seq bigint;
  v_label text;
BEGIN
  PERFORM cr_require('cr_despatcher', 'change unit statuses');
  IF v_to IS NULL OR NOT v_to = ANY(ARRAY['available','at_station','en_route','at_scene','transporting',
                                          'committed','refreshments','off_duty','emergency']) THEN
    RAISE EXCEPTION 'Status ''%'' is not recognised.', p_status USING ERRCODE = 'CR400', COLUMN = 'status';
  END IF;
  IF v_to = 'emergency' THEN
    RAISE EXCEPTION 'An emergency is raised with the emergency action (EM %), not as a status, so that it reaches every console and is taken.',
      v_cs USING ERRCODE = 'CR400', COLUMN = 'status';
  END IF;
  IF v_to = 'en_route' THEN
    RAISE EXCEPTION 'A unit goes en route by being assigned to an incident: assign % from the incident''s despatch tab.',
      v_cs USING ERRCODE = 'CR400', COLUMN = 'status';
  END IF;
  v_note := cr_text_arg(p_note, 'Note', 'note', 500, false);
  SELECT * INTO u FROM units WHERE callsign = v_cs FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'There is no unit with callsign %.', v_cs USING ERRCODE = 'CR404', COLUMN = 'callsign';
  END IF;
  IF v_to = 'at_scene' AND u.status = 'en_route' AND u.incident_id IS NOT NULL THEN
    r := api.despatch_arrived(u.incident_id, v_cs);  -- the arrival: incident timers, logs
    RETURN (r -> 'unit') || jsonb_build_object('previous_status', 'en_route', 'note', NULL, 'seq', r -> 'seq');
  END IF;
  v_from := CASE v_to
    WHEN 'available' THEN ARRAY['at_station','refreshments','off_duty','committed']
    WHEN 'at_station' THEN ARRAY['available','refreshments','off_duty','committed']
    WHEN 'refreshments' THEN ARRAY['available','at_station','committed']
    WHEN 'off_duty' THEN ARRAY['available','at_station','refreshments','committed']
    WHEN 'committed' THEN ARRAY['available','at_station','refreshments','at_scene','transporting']
    WHEN 'transporting' THEN ARRAY['at_scene','committed']
    WHEN 'at_scene' THEN ARRAY['transporting','committed','en_route'] END;
  v_label := cr_unit_status_label(v_to);
  SELECT urn INTO v_urn FROM incidents WHERE id = u.incident_id;
  IF u.status = v_to THEN
    RAISE EXCEPTION '% is already %.', v_cs, v_label USING ERRCODE = 'CR400', COLUMN = 'status';
  END IF;
  IF v_to IN ('available','at_station','refreshments','off_duty') AND u.incident_id IS NOT NULL THEN
    RAISE EXCEPTION '% is still on incident %: clear it from that incident before booking it %.', v_cs, v_urn,
      v_label USING ERRCODE = 'CR400', COLUMN = 'status';
  END IF;
  IF v_to IN ('en_route','at_scene','transporting') AND u.incident_id IS NULL THEN
    RAISE EXCEPTION '% is not on an incident, so it cannot be %. Assign it to an incident first.', v_cs, v_label
      USING ERRCODE = 'CR400', COLUMN = 'status';
  END IF;
  IF NOT u.status = ANY(v_from) THEN
    RAISE EXCEPTION '% cannot go from % to %.', v_cs, cr_unit_status_label(u.status), v_label
      USING ERRCODE = 'CR400', COLUMN = 'status';
  END IF;
  SELECT * INTO a FROM cr_actor();
  v_prev := u.status;
  UPDATE units SET status = v_to, status_at = now() WHERE callsign = v_cs RETURNING * INTO u;
  INSERT INTO unit_status_log (callsign, status, previous_status, incident_id, note, username, console_id)
  VALUES (v_cs, v_to, v_prev, u.incident_id, v_note, a.username, a.console_id);
  v_payload := cr_unit_json(u) || jsonb_build_object('previous_status', v_prev, 'note', v_note);
  v_seq := cr_emit('unit.status', v_cs,
                   (SELECT ar.room_code FROM areas ar WHERE ar.code = coalesce(u.area_code, u.home_area_code)),
                   v_payload);
  RETURN v_payload || jsonb_build_object('seq', v_seq);
END $$;

-- AVL fixes as a JSON array of {callsign, lat, lon, at, area}; returns how many applied.
CREATE FUNCTION api.unit_positions(p_fixes jsonb) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v_n integer; v_bad text;
BEGIN
  PERFORM cr_require('cr_despatcher', 'update unit positions');
  IF p_fixes IS NULL OR jsonb_typeof(p_fixes) <> 'array' OR jsonb_array_length(p_fixes) > 10000 THEN
    RAISE EXCEPTION 'Give the positions as a list of at most 10000 fixes.' USING ERRCODE = 'CR400', COLUMN = 'batch';
  END IF;
  SELECT b.callsign INTO v_bad
    FROM jsonb_to_recordset(p_fixes) AS b(callsign text, lat float8, lon float8, at timestamptz, area text)
   WHERE b.callsign IS NULL OR b.lat IS NULL OR b.lon IS NULL OR b.lat NOT BETWEEN -90 AND 90
      OR b.lon NOT BETWEEN -180 AND 180 OR b.lat = 'NaN' OR b.lon = 'NaN' OR b.at IS NULL
      OR b.at > now() + interval '10 minutes' OR b.at < '1970-01-01'
      OR (b.area IS NOT NULL AND NOT EXISTS (SELECT 1 FROM areas ar WHERE ar.code = b.area))
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'A position fix (%) has no valid position, time or area; nothing was applied.',
      coalesce(v_bad, 'no callsign') USING ERRCODE = 'CR400', COLUMN = 'batch';
  END IF;
  SELECT * INTO a FROM cr_actor();
  WITH b AS (
    SELECT DISTINCT ON (upper(f.callsign)) upper(f.callsign) AS callsign, f.lat, f.lon, f.at, f.area
      FROM jsonb_to_recordset(p_fixes) AS f(callsign text, lat float8, lon float8, at timestamptz, area text)
     ORDER BY upper(f.callsign), f.at DESC),
  u AS (
    UPDATE units SET lat = b.lat, lon = b.lon, position_at = b.at, area_code = b.area
      FROM b WHERE units.callsign = b.callsign AND (units.position_at IS NULL OR units.position_at <= b.at)
    RETURNING units.callsign, units.lat, units.lon, units.position_at, units.area_code, units.status)
  SELECT count(cr_event_row('unit.position', u.callsign, ar.room_code,
           jsonb_build_object('callsign', u.callsign, 'lat', u.lat, 'lon', u.lon, 'at', u.position_at,
                              'area_code', u.area_code, 'status', u.status),
           a.username, a.role, a.console_id, false, NULL))
    INTO v_n FROM u LEFT JOIN areas ar ON ar.code = u.area_code;
  RETURN v_n;
END $$;

-- One AVL fix: the seq of its event, NULL when older than the unit's last fix.
CREATE FUNCTION api.unit_position(p_callsign text, p_lat float8, p_lon float8, p_at timestamptz DEFAULT NULL,
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
  RETURN cr_emit('unit.position', u.callsign, (SELECT room_code FROM areas WHERE code = p_area),
                 jsonb_build_object('callsign', u.callsign, 'lat', u.lat, 'lon', u.lon, 'at', u.position_at,
                                    'area_code', u.area_code, 'status', u.status), false);
END $$;
"""

FUNCTIONS = ("api.unit_set_status(text, text, text)", "api.unit_positions(jsonb)",
             "api.unit_position(text, float8, float8, timestamptz, text)")


def upgrade() -> None:
    op.execute(SQL)
    for fn in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO cr_despatcher")


def downgrade() -> None:
    for fn in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
