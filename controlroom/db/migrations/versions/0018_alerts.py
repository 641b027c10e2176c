"""officer safety: one database-backed alert queue, radio emergency activations, welfare checks

Revision ID: 0018
Revises: 0017

Alerts are state, not windows: raised, acknowledged (by whom, when), escalated (level), cleared
(with a result). Emergencies and welfare checks are raised through API functions; G1s, G1
breaches, firearms declarations awaiting an ITFC, downgrade sign-off requests and prompts are
raised from the event log itself (a trigger on `events`, which only the API functions can write),
so nothing depends on which console happened to be running. Policy (who acknowledges, when each
level escalates, welfare intervals) lives in tables consoles can only read; init_database fills
them from resources/alerts.yaml.
"""
from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cr_gateway') THEN
    CREATE ROLE cr_gateway NOLOGIN;  -- radio / AVL gateway adaptors: raise emergencies, nothing else
  END IF;
END $$;

ALTER TABLE units DROP CONSTRAINT IF EXISTS ck_units_status;
ALTER TABLE units ADD CONSTRAINT ck_units_status CHECK (status IN ('available','at_station',
  'en_route','at_scene','transporting','committed','refreshments','off_duty','emergency'));

CREATE TABLE alert_policy (
  kind text PRIMARY KEY,
  label text NOT NULL,
  ack_group text NOT NULL,
  levels text[] NOT NULL,
  escalate_after_s integer[] NOT NULL
);
CREATE TABLE welfare_policy (
  position integer PRIMARY KEY,
  capability text NOT NULL,
  incident_type text NOT NULL,
  minutes integer NOT NULL CHECK (minutes > 0)
);
CREATE TABLE welfare_single_crewed (capability text PRIMARY KEY);

CREATE TABLE alerts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL REFERENCES alert_policy(kind),
  state text NOT NULL DEFAULT 'raised' CHECK (state IN ('raised','acknowledged','cleared')),
  level smallint NOT NULL DEFAULT 0,
  subject text NOT NULL,               -- unit callsign, incident id or request id: one open per subject
  room_code text,
  area_code text,
  incident_id bigint REFERENCES incidents(id),
  callsign text,
  talk_group text,
  lat double precision,
  lon double precision,
  title text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  source text,
  raised_at timestamptz NOT NULL DEFAULT now(),
  raised_by text,
  escalated_at timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by text,
  cleared_at timestamptz,
  cleared_by text,
  result text,
  result_units text[],
  prev_status text,
  cleared_xid xid8,
  CONSTRAINT ck_alerts_acknowledged CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL)),
  CONSTRAINT ck_alerts_cleared CHECK ((state = 'cleared') = (cleared_at IS NOT NULL))
);
CREATE UNIQUE INDEX ux_alerts_open_subject ON alerts (kind, subject) WHERE state <> 'cleared';
CREATE INDEX ix_alerts_open ON alerts (raised_at) WHERE state <> 'cleared';

-- The alert row as consoles see it (payload of every alert.* event).
CREATE FUNCTION cr_alert_json(a alerts) RETURNS jsonb LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT to_jsonb(a) - 'cleared_xid' || jsonb_build_object(
    'label', p.label, 'ack_group', p.ack_group, 'levels', to_jsonb(p.levels),
    'escalate_after_s', to_jsonb(p.escalate_after_s),
    'audience', to_jsonb(p.levels[1:a.level + 1]),
    'next_escalation_at', CASE WHEN a.state = 'raised' AND a.level < cardinality(p.escalate_after_s)
        THEN coalesce(a.escalated_at, a.raised_at) + make_interval(secs => p.escalate_after_s[a.level + 1]) END,
    'urn', (SELECT urn FROM incidents WHERE id = a.incident_id))
  FROM alert_policy p WHERE p.kind = a.kind
$$;

-- Raise (or return the open one: a second button press is the same emergency).
CREATE FUNCTION cr_alert_raise(p_kind text, p_subject text, p_room text, p_title text,
    p_incident_id bigint DEFAULT NULL, p_callsign text DEFAULT NULL, p_details jsonb DEFAULT '{}',
    p_source text DEFAULT NULL, p_lat double precision DEFAULT NULL,
    p_lon double precision DEFAULT NULL, p_talk_group text DEFAULT NULL,
    p_area text DEFAULT NULL, p_prev_status text DEFAULT NULL) RETURNS alerts
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE v alerts; a record;
BEGIN
  SELECT * INTO v FROM alerts WHERE kind = p_kind AND subject = p_subject AND state <> 'cleared';
  IF FOUND THEN
    RETURN v;
  END IF;
  SELECT * INTO a FROM cr_actor();
  INSERT INTO alerts (kind, subject, room_code, area_code, incident_id, callsign, talk_group, lat,
                      lon, title, details, source, raised_by, prev_status)
  VALUES (p_kind, p_subject, p_room, p_area, p_incident_id, p_callsign, p_talk_group, p_lat, p_lon,
          p_title, coalesce(p_details, '{}'::jsonb), p_source, a.username, p_prev_status)
  RETURNING * INTO v;
  PERFORM cr_emit('alert.raised', v.id::text, v.room_code, cr_alert_json(v));
  RETURN v;
END $$;

CREATE FUNCTION cr_alert_close(p_kind text, p_subject text, p_result text) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE v alerts; a record;
BEGIN
  SELECT * INTO a FROM cr_actor();
  FOR v IN UPDATE alerts SET state = 'cleared', cleared_at = now(), cleared_by = a.username,
             result = p_result, cleared_xid = pg_current_xact_id()
           WHERE kind = p_kind AND subject = p_subject AND state <> 'cleared' RETURNING * LOOP
    PERFORM cr_emit('alert.cleared', v.id::text, v.room_code, cr_alert_json(v));
  END LOOP;
END $$;

CREATE FUNCTION cr_alert_ack_by_event(p_kind text, p_subject text) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE v alerts; a record;
BEGIN
  SELECT * INTO a FROM cr_actor();
  FOR v IN UPDATE alerts SET state = 'acknowledged', acknowledged_at = now(), acknowledged_by = a.username
           WHERE kind = p_kind AND subject = p_subject AND state = 'raised' RETURNING * LOOP
    PERFORM cr_emit('alert.acknowledged', v.id::text, v.room_code, cr_alert_json(v));
  END LOOP;
END $$;

-- Alerts that follow from what happened (the event log), whichever console or tool did it.
CREATE FUNCTION cr_alerts_from_event() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  p jsonb := NEW.payload;
  v_incident bigint;
  v_urn text; v_type text; v_grade text; v_room text;
BEGIN
  v_incident := CASE
    WHEN NEW.kind LIKE 'incident.%' OR NEW.kind LIKE 'command.%' THEN nullif(NEW.entity_id, '')::bigint
    ELSE nullif(coalesce(p->>'incident_id', ''), '')::bigint END;
  IF v_incident IS NOT NULL THEN
    SELECT urn, incident_type, grade, room_code INTO v_urn, v_type, v_grade, v_room
      FROM incidents WHERE id = v_incident;
  END IF;
  v_room := coalesce(NEW.room_code, v_room);
  CASE NEW.kind
    WHEN 'incident.created', 'incident.graded', 'incident.updated' THEN
      IF v_grade = 'G1' AND NOT EXISTS (SELECT 1 FROM alerts WHERE kind = 'g1_new'
                                          AND subject = v_incident::text) THEN
        PERFORM cr_alert_raise('g1_new', v_incident::text, v_room,
                               format('New G1 %s: %s', v_urn, v_type), v_incident);
      END IF;
      IF NEW.kind = 'incident.graded' AND p ? 'signoff' THEN
        PERFORM cr_alert_close('downgrade_signoff', v_incident::text, 'signed off');
      END IF;
      IF NEW.kind = 'incident.graded' AND v_grade IS DISTINCT FROM 'G1' THEN
        PERFORM cr_alert_close('g1_new', v_incident::text, 'regraded');
      END IF;
    WHEN 'incident.breached' THEN
      IF coalesce(p->'breach'->>'grade', v_grade) = 'G1' THEN
        PERFORM cr_alert_raise('g1_breach', v_incident::text, v_room,
                               format('G1 %s past its target: %s', v_urn, v_type), v_incident);
      END IF;
    WHEN 'incident.closed' THEN
      PERFORM cr_alert_close(k, v_incident::text, 'incident closed')
         FROM unnest(ARRAY['g1_new', 'g1_breach', 'firearms_itfc', 'downgrade_signoff']) AS k;
    WHEN 'command.firearms_declared' THEN
      PERFORM cr_alert_raise('firearms_itfc', v_incident::text, v_room,
                             format('Firearms declared %s: awaiting an Initial Tactical Firearms Commander', v_urn),
                             v_incident);
    WHEN 'command.firearms_acknowledged' THEN
      PERFORM cr_alert_ack_by_event('firearms_itfc', v_incident::text);
    WHEN 'command.firearms_accepted' THEN
      PERFORM cr_alert_close('firearms_itfc', v_incident::text, 'ITFC accepted');
    WHEN 'signoff.requested' THEN
      PERFORM cr_alert_raise('downgrade_signoff', v_incident::text, v_room,
                             format('Downgrade of %s needs a supervisor''s sign-off', v_urn),
                             v_incident, NULL, jsonb_build_object('signoff_id', NEW.entity_id));
    WHEN 'signoff.rejected' THEN
      PERFORM cr_alert_close('downgrade_signoff', v_incident::text, 'rejected');
    WHEN 'prompt.raised' THEN
      PERFORM cr_alert_raise('prompt', 'prompt:' || NEW.entity_id, v_room,
                             coalesce(p->>'message', 'Prompt') || coalesce(' — ' || v_urn, ''),
                             v_incident, NULL, jsonb_build_object('prompt_id', NEW.entity_id));
    WHEN 'prompt.acknowledged' THEN
      PERFORM cr_alert_close('prompt', 'prompt:' || NEW.entity_id, 'acknowledged');
    ELSE NULL;
  END CASE;
  RETURN NULL;
END $$;
CREATE TRIGGER events_raise_alerts AFTER INSERT ON events FOR EACH ROW
  WHEN (NEW.kind IN ('incident.created', 'incident.graded', 'incident.updated', 'incident.breached',
                     'incident.closed', 'command.firearms_declared', 'command.firearms_acknowledged',
                     'command.firearms_accepted', 'signoff.requested', 'signoff.rejected',
                     'prompt.raised', 'prompt.acknowledged'))
  EXECUTE FUNCTION cr_alerts_from_event();

-- An emergency overrides every other status until it is cleared with a result.
CREATE FUNCTION cr_units_emergency_hold() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  IF OLD.status = 'emergency' AND NEW.status IS DISTINCT FROM 'emergency'
     AND NOT EXISTS (SELECT 1 FROM alerts WHERE kind = 'emergency' AND subject = OLD.callsign
                     AND cleared_xid = pg_current_xact_id()) THEN
    RAISE EXCEPTION '% has an open EMERGENCY: clear it with a result first.', OLD.callsign
      USING ERRCODE = 'CR409';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER units_emergency_hold BEFORE UPDATE OF status ON units FOR EACH ROW
  EXECUTE FUNCTION cr_units_emergency_hold();

-- ---- API ---------------------------------------------------------------------------------
CREATE FUNCTION api.unit_emergency(p_callsign text, p_at timestamptz, p_lat double precision,
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
                      p_source, coalesce(p_lat, u.lat), coalesce(p_lon, u.lon), u.talk_group,
                      v_area, CASE WHEN v_prev = 'emergency' THEN NULL ELSE v_prev END);
  RETURN cr_alert_json(v);
END $$;

CREATE FUNCTION api.alert_acknowledge(p_alert_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v alerts; p alert_policy; a record;
BEGIN
  SELECT * INTO v FROM alerts WHERE id = p_alert_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No alert number %.', p_alert_id USING ERRCODE = 'CR404';
  END IF;
  SELECT * INTO p FROM alert_policy WHERE kind = v.kind;
  PERFORM cr_require(p.ack_group, 'alert.acknowledge');
  IF v.state = 'cleared' THEN
    RAISE EXCEPTION 'That alert was already cleared by % at %.', v.cleared_by,
      to_char(v.cleared_at AT TIME ZONE 'Europe/London', 'HH24:MI:SS') USING ERRCODE = 'CR409';
  END IF;
  IF v.state = 'acknowledged' THEN
    RAISE EXCEPTION '% has already taken this alert (at %).', v.acknowledged_by,
      to_char(v.acknowledged_at AT TIME ZONE 'Europe/London', 'HH24:MI:SS') USING ERRCODE = 'CR409';
  END IF;
  SELECT * INTO a FROM cr_actor();
  UPDATE alerts SET state = 'acknowledged', acknowledged_at = now(), acknowledged_by = a.username
   WHERE id = p_alert_id RETURNING * INTO v;
  PERFORM cr_emit('alert.acknowledged', v.id::text, v.room_code, cr_alert_json(v));
  RETURN cr_alert_json(v);
END $$;

-- Time passing is observed by every console; the database decides whether a level is due.
CREATE FUNCTION api.alert_escalate(p_alert_id bigint, p_from_level integer) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v alerts; p alert_policy;
BEGIN
  PERFORM cr_require('cr_console', 'alert.escalate');
  SELECT * INTO v FROM alerts WHERE id = p_alert_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No alert number %.', p_alert_id USING ERRCODE = 'CR404';
  END IF;
  IF v.state <> 'raised' OR v.level <> p_from_level THEN
    RETURN NULL;  -- acknowledged, cleared or escalated meanwhile by another console: nothing to do
  END IF;
  SELECT * INTO p FROM alert_policy WHERE kind = v.kind;
  IF v.level >= cardinality(p.escalate_after_s) THEN
    RETURN NULL;
  END IF;
  IF now() < coalesce(v.escalated_at, v.raised_at) + make_interval(secs => p.escalate_after_s[v.level + 1]) THEN
    RAISE EXCEPTION 'Alert % is not due to escalate yet.', p_alert_id USING ERRCODE = 'CR409';
  END IF;
  UPDATE alerts SET level = level + 1, escalated_at = now() WHERE id = p_alert_id RETURNING * INTO v;
  PERFORM cr_emit('alert.escalated', v.id::text, v.room_code,
                  cr_alert_json(v) || jsonb_build_object('to_role', p.levels[v.level + 1]));
  RETURN cr_alert_json(v);
END $$;

CREATE FUNCTION api.alert_clear(p_alert_id bigint, p_result text, p_units_sent jsonb DEFAULT NULL,
    p_note text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v alerts; p alert_policy; a record; u units; v_missing text; v_restore text;
  p_units text[] := CASE WHEN jsonb_typeof(p_units_sent) = 'array'
                         THEN ARRAY(SELECT jsonb_array_elements_text(p_units_sent)) END;
BEGIN
  SELECT * INTO v FROM alerts WHERE id = p_alert_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No alert number %.', p_alert_id USING ERRCODE = 'CR404';
  END IF;
  SELECT * INTO p FROM alert_policy WHERE kind = v.kind;
  PERFORM cr_require(p.ack_group, 'alert.clear');
  IF v.state = 'cleared' THEN
    RAISE EXCEPTION 'That alert was already cleared by %.', v.cleared_by USING ERRCODE = 'CR409';
  END IF;
  IF v.kind IN ('emergency', 'welfare', 'welfare_overdue') THEN
    IF p_result IS NULL OR p_result NOT IN ('officer_safe', 'assistance_sent') THEN
      RAISE EXCEPTION 'Clear an emergency or welfare check with its result: officer safe, or assistance sent.'
        USING ERRCODE = 'CR400';
    END IF;
    IF p_result = 'assistance_sent' THEN
      IF coalesce(cardinality(p_units), 0) = 0 THEN
        RAISE EXCEPTION 'Name the units sent to assist.' USING ERRCODE = 'CR400';
      END IF;
      SELECT x INTO v_missing FROM unnest(p_units) x WHERE NOT EXISTS (SELECT 1 FROM units WHERE callsign = x) LIMIT 1;
      IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'No unit with callsign %.', v_missing USING ERRCODE = 'CR404';
      END IF;
    END IF;
  ELSIF p_result IS NULL OR length(p_result) = 0 THEN
    RAISE EXCEPTION 'Say how the alert was resolved.' USING ERRCODE = 'CR400';
  END IF;
  SELECT * INTO a FROM cr_actor();
  UPDATE alerts SET state = 'cleared', cleared_at = now(), cleared_by = a.username, result = p_result,
         result_units = p_units, cleared_xid = pg_current_xact_id(),
         acknowledged_at = coalesce(acknowledged_at, now()),
         acknowledged_by = coalesce(acknowledged_by, a.username),
         details = details || jsonb_strip_nulls(jsonb_build_object('note', p_note))
   WHERE id = p_alert_id RETURNING * INTO v;
  IF v.kind = 'emergency' THEN
    SELECT * INTO u FROM units WHERE callsign = v.callsign FOR UPDATE;
    v_restore := coalesce(v.prev_status, CASE WHEN u.incident_id IS NULL THEN 'available' ELSE 'at_scene' END);
    UPDATE units SET status = v_restore, status_at = now() WHERE callsign = v.callsign RETURNING * INTO u;
    INSERT INTO unit_status_log (callsign, status, previous_status, incident_id, note, username, console_id)
    VALUES (v.callsign, v_restore, 'emergency', u.incident_id,
            'Emergency cleared: ' || replace(p_result, '_', ' '), a.username, a.console_id);
    PERFORM cr_emit('unit.status', v.callsign, v.room_code,
                    to_jsonb(u) || jsonb_build_object('previous_status', 'emergency', 'room', v.room_code));
  END IF;
  IF v.incident_id IS NOT NULL AND v.kind IN ('emergency', 'welfare', 'welfare_overdue') THEN
    INSERT INTO incident_log (incident_id, username, console_id, kind, text)
    VALUES (v.incident_id, a.username, a.console_id, 'safety',
            format('%s %s cleared: %s%s', p.label, v.callsign, replace(p_result, '_', ' '),
                   coalesce(' (' || array_to_string(p_units, ', ') || ')', '')));
  END IF;
  PERFORM cr_emit('alert.cleared', v.id::text, v.room_code, cr_alert_json(v));
  RETURN cr_alert_json(v);
END $$;

-- A console noticed a unit due a welfare check; the database checks it really is due.
CREATE FUNCTION api.welfare_check_raise(p_callsign text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE u units; v alerts; v_type text; v_minutes integer; v_room text; v_single boolean;
BEGIN
  PERFORM cr_require('cr_console', 'alert.welfare');
  SELECT * INTO u FROM units WHERE callsign = p_callsign;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No unit with callsign %.', p_callsign USING ERRCODE = 'CR404';
  END IF;
  SELECT incident_type INTO v_type FROM incidents WHERE id = u.incident_id;
  v_single := EXISTS (SELECT 1 FROM welfare_single_crewed s WHERE s.capability = ANY(u.capabilities));
  IF NOT (u.status = 'at_scene' OR (v_single AND u.status NOT IN ('off_duty', 'at_station', 'emergency'))) THEN
    RAISE EXCEPTION '% is not due a welfare check (status %).', p_callsign, u.status USING ERRCODE = 'CR409';
  END IF;
  SELECT w.minutes INTO v_minutes FROM welfare_policy w
   WHERE (w.capability = '*' OR w.capability = ANY(u.capabilities))
     AND (w.incident_type = '*' OR w.incident_type = v_type)
   ORDER BY w.position LIMIT 1;
  IF v_minutes IS NULL OR u.status_at > now() - make_interval(mins => v_minutes) THEN
    RAISE EXCEPTION '% is not due a welfare check yet.', p_callsign USING ERRCODE = 'CR409';
  END IF;
  SELECT room_code INTO v_room FROM areas WHERE code = coalesce(u.area_code, u.home_area_code);
  v := cr_alert_raise('welfare', p_callsign, v_room,
                      format('Welfare check: %s %s for %s min without an update', p_callsign,
                             replace(u.status, '_', ' '), v_minutes),
                      u.incident_id, p_callsign,
                      jsonb_build_object('minutes', v_minutes, 'status', u.status, 'since', u.status_at),
                      'welfare timer', u.lat, u.lon, u.talk_group, coalesce(u.area_code, u.home_area_code));
  RETURN cr_alert_json(v);
END $$;

-- An unanswered welfare check past its last level becomes an emergency-grade alarm.
CREATE FUNCTION api.welfare_check_overdue(p_alert_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v alerts; p alert_policy; o alerts;
BEGIN
  PERFORM cr_require('cr_console', 'alert.welfare');
  SELECT * INTO v FROM alerts WHERE id = p_alert_id AND kind = 'welfare' FOR UPDATE;
  IF NOT FOUND OR v.state <> 'raised' THEN
    RETURN NULL;
  END IF;
  SELECT * INTO p FROM alert_policy WHERE kind = 'welfare';
  IF now() < v.raised_at + make_interval(secs => (SELECT coalesce(sum(s), 0) FROM unnest(p.escalate_after_s) s)) THEN
    RAISE EXCEPTION 'Welfare check % is not overdue yet.', p_alert_id USING ERRCODE = 'CR409';
  END IF;
  UPDATE alerts SET state = 'cleared', cleared_at = now(), cleared_by = (SELECT username FROM cr_actor()),
         result = 'overdue', cleared_xid = pg_current_xact_id() WHERE id = p_alert_id RETURNING * INTO v;
  PERFORM cr_emit('alert.cleared', v.id::text, v.room_code, cr_alert_json(v));
  o := cr_alert_raise('welfare_overdue', v.subject, v.room_code, 'OVERDUE ' || v.title, v.incident_id,
                      v.callsign, v.details, 'welfare timer', v.lat, v.lon, v.talk_group, v.area_code);
  RETURN cr_alert_json(o);
END $$;

REVOKE ALL ON FUNCTION cr_alert_raise(text, text, text, text, bigint, text, jsonb, text,
    double precision, double precision, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cr_alert_close(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cr_alert_ack_by_event(text, text) FROM PUBLIC;
REVOKE ALL ON alerts, alert_policy, welfare_policy, welfare_single_crewed FROM PUBLIC;
GRANT SELECT ON alerts, alert_policy, welfare_policy, welfare_single_crewed TO cr_console;
DO $$
DECLARE f text;
BEGIN
  FOREACH f IN ARRAY ARRAY['api.unit_emergency(text, timestamptz, double precision, double precision, text)',
      'api.alert_acknowledge(bigint)', 'api.alert_escalate(bigint, integer)',
      'api.alert_clear(bigint, text, jsonb, text)', 'api.welfare_check_raise(text)',
      'api.welfare_check_overdue(bigint)'] LOOP
    EXECUTE 'REVOKE ALL ON FUNCTION ' || f || ' FROM PUBLIC';
    EXECUTE 'GRANT EXECUTE ON FUNCTION ' || f || ' TO cr_console';
  END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION api.unit_emergency(text, timestamptz, double precision, double precision, text) TO cr_gateway;
GRANT USAGE ON SCHEMA api TO cr_gateway;
"""

DOWNGRADE_SQL = r"""
DROP TRIGGER IF EXISTS events_raise_alerts ON events;
DROP TRIGGER IF EXISTS units_emergency_hold ON units;
DROP FUNCTION IF EXISTS api.welfare_check_overdue(bigint);
DROP FUNCTION IF EXISTS api.welfare_check_raise(text);
DROP FUNCTION IF EXISTS api.alert_clear(bigint, text, jsonb, text);
DROP FUNCTION IF EXISTS api.alert_escalate(bigint, integer);
DROP FUNCTION IF EXISTS api.alert_acknowledge(bigint);
DROP FUNCTION IF EXISTS api.unit_emergency(text, timestamptz, double precision, double precision, text);
DROP FUNCTION IF EXISTS cr_units_emergency_hold();
DROP FUNCTION IF EXISTS cr_alerts_from_event();
DROP FUNCTION IF EXISTS cr_alert_ack_by_event(text, text);
DROP FUNCTION IF EXISTS cr_alert_close(text, text, text);
DROP FUNCTION IF EXISTS cr_alert_raise(text, text, text, text, bigint, text, jsonb, text, double precision, double precision, text, text, text);
DROP FUNCTION IF EXISTS cr_alert_json(alerts);
DROP TABLE IF EXISTS alerts;
DROP TABLE IF EXISTS welfare_single_crewed;
DROP TABLE IF EXISTS welfare_policy;
DROP TABLE IF EXISTS alert_policy;
UPDATE units SET status = 'available' WHERE status = 'emergency';
ALTER TABLE units DROP CONSTRAINT IF EXISTS ck_units_status;
ALTER TABLE units ADD CONSTRAINT ck_units_status CHECK (status IN ('available','at_station',
  'en_route','at_scene','transporting','committed','refreshments','off_duty'));
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)
    from controlroom.db.alert_policy import sync_alert_policy
    sync_alert_policy(op.get_bind())


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
