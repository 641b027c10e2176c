"""api: despatch (assign / arrive / clear / divert) and the firearms gate, in the database

Revision ID: 0022
Revises: 0021

Every despatch write is ONE SECURITY DEFINER function in schema `api` (issue 19): it checks the
caller's job group, locks the unit and the incident, enforces every rule and writes the rows, the
incident log, the unit status log and the event + audit row, identity from cr_actor().

The firearms gate (issue 18 item 2) holds here for every path (service, command line, despatch
tab, drag and drop, a raw SQL client): an armed unit never goes to a firearms incident without the
inspector's recorded authorisation, and an incident of an armed type (policy below) is a firearms
incident whether or not anyone ticked the flag.

Policy that decides what the database allows lives in the database (`despatch_policy`, synced from
resources/despatch.yaml and incident_types.yaml by init_database; consoles cannot write it).

`cr_declare_firearms(incident_id[, reason])` is the one way an incident becomes a declared firearms
incident (flag, declared time, version, incident log, `command.firearms_declared` event + audit):
api.command_declare_firearms calls it, and incident create/update call it for armed types and the
firearms flag. It returns the event payload, or NULL when the incident was already declared.
"""
from __future__ import annotations

import json

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def _default_policy() -> dict[str, list[str]]:
    from controlroom.db.policy import policy_from_resources
    return policy_from_resources()


HELPERS_SQL = r"""
CREATE TABLE despatch_policy (key text PRIMARY KEY, value jsonb NOT NULL);
REVOKE ALL ON despatch_policy FROM PUBLIC;

CREATE FUNCTION cr_policy_list(p_key text) RETURNS text[] LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT coalesce((SELECT array_agg(x) FROM despatch_policy p, jsonb_array_elements_text(p.value) x
                   WHERE p.key = p_key), '{}')
$$;

-- An armed incident type (catalogue) or an armed unit (capabilities).
CREATE FUNCTION cr_armed_type(p_type text) RETURNS boolean LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$ SELECT p_type = ANY(cr_policy_list('armed_incident_types')) $$;
CREATE FUNCTION cr_armed_unit(p_caps text[]) RETURNS boolean LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$ SELECT coalesce(p_caps && cr_policy_list('armed_capabilities'), false) $$;
-- A firearms incident: flagged/declared, or of an armed type even if nobody ticked the flag.
CREATE FUNCTION cr_firearms_incident(i incidents) RETURNS boolean LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$ SELECT i.firearms OR cr_armed_type(i.incident_type) $$;

CREATE FUNCTION cr_unit_status_label(p_status text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_status WHEN 'available' THEN 'available (on patrol)' WHEN 'at_station' THEN 'at station'
    WHEN 'en_route' THEN 'en route' WHEN 'at_scene' THEN 'at scene' WHEN 'refreshments' THEN 'on refreshments'
    WHEN 'off_duty' THEN 'off duty' WHEN 'emergency' THEN 'EMERGENCY' ELSE p_status END
$$;

-- Event payload shapes the consoles read (same keys as the Python services wrote).
CREATE FUNCTION cr_unit_json(u units) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('callsign', u.callsign, 'capabilities', to_jsonb(coalesce(u.capabilities, '{}')),
    'home_area_code', u.home_area_code, 'area_code', u.area_code, 'status', u.status, 'lat', u.lat,
    'lon', u.lon, 'position_at', u.position_at, 'incident_id', u.incident_id, 'talk_group', u.talk_group,
    'status_at', u.status_at)
$$;
-- The incident row, owned by the room that owns its area now.
CREATE FUNCTION cr_incident_json(i incidents) RETURNS jsonb LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT to_jsonb(i) || jsonb_build_object('room_code',
           coalesce((SELECT a.room_code FROM areas a WHERE a.code = i.area_code), i.room_code))
$$;

-- One incident log line as the actor (internal: only API functions call it, with cr_actor()'s values).
CREATE FUNCTION cr_log_entry(p_incident_id bigint, p_kind text, p_text text, p_username text,
    p_console text) RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = public, pg_temp AS $$
  INSERT INTO incident_log (incident_id, username, console_id, kind, text)
  VALUES (p_incident_id, p_username, p_console, p_kind, left(p_text, 4000))
  RETURNING jsonb_build_object('id', id, 'incident_id', incident_id, 'at', at, 'username', username,
                               'console_id', console_id, 'kind', kind, 'text', text)
$$;

-- The incident state machine (0014) gains "no unit attending any more": despatched/at scene -> open.
CREATE OR REPLACE FUNCTION cr_incidents_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (OLD.status, NEW.status) IN (
      ('open','despatched'), ('open','at_scene'), ('open','closed'),
      ('despatched','at_scene'), ('despatched','closed'),
      ('at_scene','closed'), ('closed','open'),
      ('despatched','open'), ('at_scene','open')) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'incident % cannot go from % to %', OLD.urn, OLD.status, NEW.status
    USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_incidents_transition';
END $$;

-- After a unit leaves (clear, diversion): with nobody left attending, the incident is open again
-- (issue 18 item 9: it stayed "despatched" after its last unit cleared).
CREATE FUNCTION cr_incident_unit_left(p_incident_id bigint, p_username text) RETURNS incidents
LANGUAGE sql VOLATILE SET search_path = public, pg_temp AS $$
  UPDATE incidents SET status = CASE WHEN status IN ('despatched', 'at_scene') AND NOT EXISTS (
             SELECT 1 FROM assignments s WHERE s.incident_id = p_incident_id AND s.cleared_at IS NULL)
           THEN 'open' ELSE status END,
         updated_at = now(), updated_by = p_username
   WHERE id = p_incident_id RETURNING *
$$;

-- The declaration: flag, time, version, log, event + audit. NULL if it was already declared.
CREATE FUNCTION cr_declare_firearms(p_incident_id bigint, p_reason text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; i incidents; v_log jsonb; v_payload jsonb;
BEGIN
  SELECT * INTO a FROM cr_actor();
  UPDATE incidents SET firearms = true, firearms_declared_at = now(), version = version + 1,
         updated_at = now(), updated_by = a.username
   WHERE id = p_incident_id AND firearms_declared_at IS NULL RETURNING * INTO i;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  v_log := cr_log_entry(i.id, 'command', 'FIREARMS INCIDENT DECLARED by ' || a.username
             || coalesce(' (' || p_reason || ')', '')
             || '. Duty inspector to take initial tactical firearms command.', a.username, a.console_id);
  v_payload := cr_incident_json(i) || jsonb_build_object('declared_by', a.username, 'log', v_log);
  PERFORM cr_emit('command.firearms_declared', i.id::text, v_payload ->> 'room_code', v_payload);
  RETURN v_payload;
END $$;
"""

API_SQL = r"""
CREATE FUNCTION api.command_declare_firearms(p_incident_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE i incidents;
BEGIN
  PERFORM cr_require('cr_handler', 'declare firearms incidents');
  SELECT * INTO i FROM incidents WHERE id = p_incident_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No incident with reference %.', p_incident_id USING ERRCODE = 'CR404', COLUMN = 'id';
  END IF;
  IF i.status = 'closed' THEN
    RAISE EXCEPTION 'Incident % is closed; reopen it first.', i.urn USING ERRCODE = 'CR400', COLUMN = 'id';
  END IF;
  IF i.firearms_declared_at IS NOT NULL THEN
    RAISE EXCEPTION '% was already declared a firearms incident at %.', i.urn,
      to_char(i.firearms_declared_at, 'HH24:MI:SS') USING ERRCODE = 'CR409';
  END IF;
  RETURN cr_declare_firearms(p_incident_id);
END $$;

-- Send a unit (en route); with p_divert a despatcher may take it off another incident.
CREATE FUNCTION api.despatch_assign(p_incident_id bigint, p_callsign text, p_divert boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  a record; u units; i incidents; o incidents; v_asg assignments; v_logs jsonb := '[]';
  v_cs text := upper(p_callsign); v_payload jsonb; v_seq bigint; v_prev text;
BEGIN
  PERFORM cr_require('cr_despatcher', 'assign units');
  SELECT * INTO a FROM cr_actor();
  SELECT * INTO u FROM units WHERE callsign = v_cs FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'There is no unit with callsign %.', v_cs USING ERRCODE = 'CR404', COLUMN = 'callsign';
  END IF;
  -- both incidents of a diversion, in id order (two opposite diversions cannot deadlock)
  PERFORM 1 FROM incidents WHERE id = p_incident_id OR id = u.incident_id ORDER BY id FOR UPDATE;
  SELECT * INTO i FROM incidents WHERE id = p_incident_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No incident with reference %.', p_incident_id
      USING ERRCODE = 'CR404', COLUMN = 'incident_id';
  END IF;
  IF i.status = 'closed' THEN
    RAISE EXCEPTION 'Incident % is closed; reopen it before assigning units.', i.urn
      USING ERRCODE = 'CR400', COLUMN = 'incident_id';
  END IF;
  IF u.incident_id = i.id THEN
    RAISE EXCEPTION '% is already assigned to %.', v_cs, i.urn USING ERRCODE = 'CR400', COLUMN = 'callsign';
  END IF;
  -- THE FIREARMS GATE: no armed unit to a firearms incident before the inspector's authorisation
  IF cr_firearms_incident(i) AND i.armed_authorised_at IS NULL AND cr_armed_unit(u.capabilities::text[]) THEN
    RAISE EXCEPTION 'Armed deployment not authorised for %: the duty inspector must record the authorisation first.',
      i.urn USING ERRCODE = 'CR403';
  END IF;
  IF u.incident_id IS NULL THEN
    IF NOT u.status = ANY(cr_policy_list('deployable_statuses')) THEN
      RAISE EXCEPTION '% is %, not available for deployment.', v_cs, cr_unit_status_label(u.status)
        USING ERRCODE = 'CR409';
    END IF;
  ELSE
    SELECT * INTO o FROM incidents WHERE id = u.incident_id;
    IF NOT coalesce(p_divert, false) THEN
      RAISE EXCEPTION '% is already on incident % (%). Divert it if this incident needs it more.', v_cs,
        o.urn, cr_unit_status_label(u.status) USING ERRCODE = 'CR409';
    END IF;
    IF NOT u.status = ANY(cr_policy_list('divertable_statuses')) THEN
      RAISE EXCEPTION '% is % on % and cannot be diverted from that status.', v_cs,
        cr_unit_status_label(u.status), o.urn USING ERRCODE = 'CR409';
    END IF;
  END IF;
  v_prev := u.status;
  IF o.id IS NOT NULL THEN  -- diversion: close the old attendance and say so on both incidents
    UPDATE assignments SET cleared_at = now(), cleared_by = a.username, result = 'Diverted to ' || i.urn
     WHERE callsign = v_cs AND cleared_at IS NULL;
  END IF;
  UPDATE units SET incident_id = i.id, status = 'en_route', status_at = now() WHERE callsign = v_cs
  RETURNING * INTO u;
  IF o.id IS NOT NULL THEN
    o := cr_incident_unit_left(o.id, a.username);
    v_logs := v_logs || cr_log_entry(o.id, 'despatch', v_cs || ' diverted to ' || i.urn || ' by '
                                     || a.username || '.', a.username, a.console_id);
  END IF;
  INSERT INTO assignments (incident_id, callsign, assigned_by, diverted_from)
  VALUES (i.id, v_cs, a.username, o.id) RETURNING * INTO v_asg;
  UPDATE incidents SET status = CASE WHEN status = 'open' THEN 'despatched' ELSE status END,
         despatched_at = coalesce(despatched_at, now()), updated_at = now(), updated_by = a.username
   WHERE id = i.id RETURNING * INTO i;
  v_logs := v_logs || cr_log_entry(i.id, 'despatch', v_cs || ' assigned, en route'
              || CASE WHEN o.id IS NOT NULL THEN ' (diverted from ' || o.urn || ')' ELSE '' END || '.',
              a.username, a.console_id);
  INSERT INTO unit_status_log (callsign, status, previous_status, incident_id, note, username, console_id)
  VALUES (v_cs, 'en_route', v_prev, i.id, NULL, a.username, a.console_id);
  v_payload := jsonb_build_object('incident', cr_incident_json(i), 'unit', cr_unit_json(u),
    'assignment', to_jsonb(v_asg),
    'from_incident', CASE WHEN o.id IS NULL THEN NULL ELSE cr_incident_json(o) END, 'log', v_logs);
  v_seq := cr_emit(CASE WHEN o.id IS NULL THEN 'despatch.assigned' ELSE 'despatch.diverted' END,
                   i.id::text, v_payload -> 'incident' ->> 'room_code', v_payload);
  RETURN v_payload || jsonb_build_object('seq', v_seq);
END $$;

-- The unit on an incident (locked) or the refusal that says where it is.
CREATE FUNCTION cr_unit_on_incident(p_incident_id bigint, p_callsign text, p_what text,
    OUT u units, OUT i incidents)
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE v_where text;
BEGIN
  SELECT * INTO u FROM units WHERE callsign = p_callsign FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'There is no unit with callsign %.', p_callsign USING ERRCODE = 'CR404', COLUMN = 'callsign';
  END IF;
  SELECT * INTO i FROM incidents WHERE id = p_incident_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No incident with reference %.', p_incident_id
      USING ERRCODE = 'CR404', COLUMN = 'incident_id';
  END IF;
  IF u.incident_id IS DISTINCT FROM i.id THEN
    v_where := CASE WHEN u.incident_id IS NULL THEN 'is not on any incident'
                    ELSE 'is on ' || (SELECT o.urn FROM incidents o WHERE o.id = u.incident_id) END;
    RAISE EXCEPTION '% is not assigned to % (% %).', p_callsign, i.urn, p_callsign, v_where
      USING ERRCODE = 'CR400', COLUMN = 'callsign';
  END IF;
  IF p_what = 'at scene' AND u.status <> 'en_route' THEN
    RAISE EXCEPTION '% cannot be booked % on %: it is %.', p_callsign, p_what, i.urn,
      cr_unit_status_label(u.status) USING ERRCODE = 'CR400', COLUMN = 'callsign';
  END IF;
END $$;

CREATE FUNCTION api.despatch_arrived(p_incident_id bigint, p_callsign text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; r record; u units; i incidents; v_asg assignments; v_cs text := upper(p_callsign);
  v_prev text; v_payload jsonb; v_seq bigint; v_log jsonb;
BEGIN
  PERFORM cr_require('cr_despatcher', 'book units at scene');
  SELECT * INTO a FROM cr_actor();
  SELECT * INTO r FROM cr_unit_on_incident(p_incident_id, v_cs, 'at scene');
  u := r.u;
  i := r.i;
  v_prev := u.status;
  UPDATE units SET status = 'at_scene', status_at = now() WHERE callsign = v_cs RETURNING * INTO u;
  UPDATE assignments SET arrived_at = coalesce(arrived_at, now())
   WHERE callsign = v_cs AND incident_id = i.id AND cleared_at IS NULL RETURNING * INTO v_asg;
  UPDATE incidents SET status = CASE WHEN status IN ('open', 'despatched') THEN 'at_scene' ELSE status END,
         arrived_at = coalesce(arrived_at, now()), updated_at = now(), updated_by = a.username
   WHERE id = i.id RETURNING * INTO i;
  v_log := cr_log_entry(i.id, 'despatch', v_cs || ' at scene.', a.username, a.console_id);
  INSERT INTO unit_status_log (callsign, status, previous_status, incident_id, note, username, console_id)
  VALUES (v_cs, 'at_scene', v_prev, i.id, NULL, a.username, a.console_id);
  v_payload := jsonb_build_object('incident', cr_incident_json(i), 'unit', cr_unit_json(u),
    'assignment', to_jsonb(v_asg), 'from_incident', NULL, 'log', jsonb_build_array(v_log));
  v_seq := cr_emit('despatch.arrived', i.id::text, v_payload -> 'incident' ->> 'room_code', v_payload);
  RETURN v_payload || jsonb_build_object('seq', v_seq);
END $$;

CREATE FUNCTION api.despatch_clear(p_incident_id bigint, p_callsign text, p_result text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; r record; u units; i incidents; v_asg assignments; v_cs text := upper(p_callsign);
  v_prev text; v_payload jsonb; v_seq bigint; v_log jsonb; v_result text := btrim(p_result);
BEGIN
  PERFORM cr_require('cr_despatcher', 'clear units');
  IF v_result IS NULL OR v_result = '' THEN
    RAISE EXCEPTION 'Result is required.' USING ERRCODE = 'CR400', COLUMN = 'result';
  END IF;
  IF length(v_result) > 500 THEN
    RAISE EXCEPTION 'Result is too long (at most 500 characters).' USING ERRCODE = 'CR400', COLUMN = 'result';
  END IF;
  SELECT * INTO a FROM cr_actor();
  SELECT * INTO r FROM cr_unit_on_incident(p_incident_id, v_cs, 'cleared');
  u := r.u;
  i := r.i;
  v_prev := u.status;
  UPDATE units SET status = 'available', status_at = now(), incident_id = NULL WHERE callsign = v_cs
  RETURNING * INTO u;
  UPDATE assignments SET cleared_at = now(), cleared_by = a.username, result = v_result
   WHERE callsign = v_cs AND incident_id = i.id AND cleared_at IS NULL RETURNING * INTO v_asg;
  i := cr_incident_unit_left(i.id, a.username);
  v_log := cr_log_entry(i.id, 'despatch', v_cs || ' cleared: ' || v_result, a.username, a.console_id);
  INSERT INTO unit_status_log (callsign, status, previous_status, incident_id, note, username, console_id)
  VALUES (v_cs, 'available', v_prev, i.id, v_result, a.username, a.console_id);
  v_payload := jsonb_build_object('incident', cr_incident_json(i), 'unit', cr_unit_json(u),
    'assignment', to_jsonb(v_asg), 'from_incident', NULL, 'log', jsonb_build_array(v_log));
  v_seq := cr_emit('despatch.cleared', i.id::text, v_payload -> 'incident' ->> 'room_code', v_payload);
  RETURN v_payload || jsonb_build_object('seq', v_seq);
END $$;
"""

GRANTS_SQL = r"""
REVOKE ALL ON FUNCTION cr_declare_firearms(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cr_log_entry(bigint, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cr_incident_unit_left(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cr_unit_on_incident(bigint, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.command_declare_firearms(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.despatch_assign(bigint, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.despatch_arrived(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.despatch_clear(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.command_declare_firearms(bigint) TO cr_handler;
GRANT EXECUTE ON FUNCTION api.despatch_assign(bigint, text, boolean) TO cr_despatcher;
GRANT EXECUTE ON FUNCTION api.despatch_arrived(bigint, text) TO cr_despatcher;
GRANT EXECUTE ON FUNCTION api.despatch_clear(bigint, text, text) TO cr_despatcher;
"""


def upgrade() -> None:
    op.execute(HELPERS_SQL)
    bind = op.get_bind()
    for key, value in _default_policy().items():
        bind.exec_driver_sql("INSERT INTO despatch_policy (key, value) VALUES (%(k)s, %(v)s::jsonb)",
                             {"k": key, "v": json.dumps(value)})
    op.execute(API_SQL)
    op.execute(GRANTS_SQL)


def downgrade() -> None:
    for fn in ("api.despatch_clear(bigint, text, text)", "api.despatch_arrived(bigint, text)",
               "api.despatch_assign(bigint, text, boolean)", "api.command_declare_firearms(bigint)",
               "cr_unit_on_incident(bigint, text, text)", "cr_declare_firearms(bigint, text)",
               "cr_incident_unit_left(bigint, text)", "cr_log_entry(bigint, text, text, text, text)",
               "cr_incident_json(incidents)", "cr_unit_json(units)", "cr_unit_status_label(text)",
               "cr_firearms_incident(incidents)", "cr_armed_unit(text[])", "cr_armed_type(text)",
               "cr_policy_list(text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    op.execute("DROP TABLE IF EXISTS despatch_policy")
    op.execute("""CREATE OR REPLACE FUNCTION cr_incidents_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (OLD.status, NEW.status) IN (
      ('open','despatched'), ('open','at_scene'), ('open','closed'),
      ('despatched','at_scene'), ('despatched','closed'),
      ('at_scene','closed'), ('closed','open')) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'incident % cannot go from % to %', OLD.urn, OLD.status, NEW.status
    USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_incidents_transition';
END $$""")
