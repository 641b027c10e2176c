"""officer safety, part 2: the emergency shows the talk group the officer is on (the area's primary
when the unit is not moved onto another); a supervisor can override consoles' G1 alarm mute

Revision ID: 0020
Revises: 0019
"""
from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
CREATE OR REPLACE FUNCTION api.unit_emergency(p_callsign text, p_at timestamptz, p_lat double precision,
    p_lon double precision, p_source text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE u units; v alerts; v_room text; v_area text; v_prev text;
BEGIN
  IF NOT (cr_is_operator() AND pg_has_role(session_user, 'cr_gateway', 'MEMBER')) THEN
    PERFORM cr_require('cr_despatcher', 'unit.emergency');
  END IF;
  SELECT * INTO u FROM units WHERE callsign = p_callsign FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No unit with callsign %.', p_callsign USING ERRCODE = 'CR404';
  END IF;
  v_area := coalesce(u.area_code, u.home_area_code);
  SELECT room_code INTO v_room FROM areas WHERE code = v_area;
  v_prev := u.status;
  IF u.status <> 'emergency' THEN
    UPDATE units SET status = 'emergency', status_at = now(),
           lat = coalesce(p_lat, lat), lon = coalesce(p_lon, lon),
           position_at = CASE WHEN p_lat IS NULL THEN position_at ELSE coalesce(p_at, now()) END
     WHERE callsign = p_callsign RETURNING * INTO u;
    INSERT INTO unit_status_log (callsign, status, previous_status, incident_id, note, username, console_id)
    SELECT p_callsign, 'emergency', v_prev, u.incident_id,
           'Emergency button (' || coalesce(p_source, 'unknown source') || ')', a.username, a.console_id
      FROM cr_actor() a;
    PERFORM cr_emit('unit.status', p_callsign, v_room,
                    to_jsonb(u) || jsonb_build_object('previous_status', v_prev, 'room', v_room,
                                                      'emergency', true));
  END IF;
  v := cr_alert_raise('emergency', p_callsign, v_room,
                      format('EMERGENCY %s%s', p_callsign,
                             coalesce(' on ' || (SELECT urn FROM incidents WHERE id = u.incident_id), '')),
                      u.incident_id, p_callsign,
                      jsonb_build_object('activated_at', coalesce(p_at, now()), 'capabilities', u.capabilities),
                      p_source, coalesce(p_lat, u.lat), coalesce(p_lon, u.lon),
                      coalesce(u.talk_group, (SELECT t.name FROM talk_groups t WHERE t.kind = 'primary'
                                              AND t.area_code = v_area ORDER BY t.name LIMIT 1)),
                      v_area, CASE WHEN v_prev = 'emergency' THEN NULL ELSE v_prev END);
  RETURN cr_alert_json(v);
END $$;


-- A console muting G1 tones is recorded (so a supervisor can see it); a supervisor can end every
-- mute in their room at once (e.g. during a spate of G1s).
CREATE FUNCTION api.alarm_mute(p_minutes integer) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v jsonb;
BEGIN
  PERFORM cr_require('cr_handler', 'alarm.mute');
  IF p_minutes IS NULL OR p_minutes < 1 OR p_minutes > 30 THEN
    RAISE EXCEPTION 'Mute for between 1 and 30 minutes.' USING ERRCODE = 'CR400';
  END IF;
  SELECT * INTO a FROM cr_actor();
  v := jsonb_build_object('console_id', a.console_id, 'username', a.username, 'room', a.room_code,
                          'until', now() + make_interval(mins => p_minutes));
  PERFORM cr_emit('alarm.muted', a.console_id, a.room_code, v);
  RETURN v;
END $$;

CREATE FUNCTION api.alarm_unmute_room(p_room text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v jsonb;
BEGIN
  PERFORM cr_require('cr_supervisor', 'alarm.unmute_room');
  IF NOT EXISTS (SELECT 1 FROM rooms WHERE code = p_room) THEN
    RAISE EXCEPTION 'No room %.', p_room USING ERRCODE = 'CR404';
  END IF;
  v := jsonb_build_object('room', p_room, 'by', (SELECT username FROM cr_actor()));
  PERFORM cr_emit('alarm.unmuted', p_room, p_room, v);
  RETURN v;
END $$;
REVOKE ALL ON FUNCTION api.alarm_mute(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.alarm_unmute_room(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.alarm_mute(integer) TO cr_handler;
GRANT EXECUTE ON FUNCTION api.alarm_unmute_room(text) TO cr_supervisor;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS api.alarm_unmute_room(text); DROP FUNCTION IF EXISTS api.alarm_mute(integer)")
