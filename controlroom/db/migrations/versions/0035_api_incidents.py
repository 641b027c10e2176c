"""api: incident writes (create, update, grade, sign-off, THRIVE, link, close, reopen, breaches)

Revision ID: 0035
Revises: 0034

Every incident write a console makes is one SECURITY DEFINER function in schema `api` (issue 19):
the caller's job group is checked by the database, identity comes from cr_actor(), and every rule
that decides what is allowed is checked here, so it holds against a raw SQL client with an
operator's credentials:

- a call handler closes only incidents that never had a unit (despatchers close any);
- a G1/G2 downgrade by anyone below supervisor files a sign-off request instead of regrading;
  nobody signs off their own request;
- THRIVE on record before closing where policy needs it — except a duplicate whose original
  (linked as duplicate) carries one (issue 18 item 9);
- an incident of an armed type, or with the firearms flag set at create or by a later update, is
  declared a firearms incident at once: the same state, log line and `command.firearms_declared`
  event as the FA verb (issue 18 item 2), through the shared cr_declare_firearms() (0022);
- deadlines from the grade policy (urban/rural by the same towns rule as gazetteer.is_rural).

The policy those rules read is the `policy` table (owner writes it from resources/*.yaml:
controlroom.db.policy.sync_policy); consoles may read it, never write it. Armed incident types
are 0022's despatch_policy (cr_armed_type); the declaration is 0022's cr_declare_firearms().
Closing releases the incident's talk groups in SQL (0029_api_talkgroups' cr_talkgroups_release_all).
"""
from __future__ import annotations

from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
CREATE TABLE policy (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON policy FROM PUBLIC;
GRANT SELECT ON policy TO cr_console;

CREATE FUNCTION cr_policy(p_key text) RETURNS jsonb LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$ SELECT value FROM policy WHERE key = p_key $$;

-- Is the caller in the job group? Operators: by membership. The schema owner's own tools and the
-- legacy shared login (until every console signs in as its operator) by the job role they name.
CREATE FUNCTION cr_in_group(p_group text) RETURNS boolean LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_role text;
BEGIN
  IF cr_is_operator() THEN
    RETURN pg_has_role(session_user, p_group, 'MEMBER');
  END IF;
  v_role := coalesce(nullif(current_setting('controlroom.role', true), ''), '');
  IF v_role = '' THEN RETURN true; END IF;
  RETURN v_role = ANY (CASE p_group
    WHEN 'cr_console' THEN ARRAY['call_handler','despatcher','supervisor','inspector','trainer','auditor','admin']
    WHEN 'cr_handler' THEN ARRAY['call_handler','despatcher','supervisor','inspector','trainer']
    WHEN 'cr_despatcher' THEN ARRAY['despatcher','supervisor','inspector','trainer']
    WHEN 'cr_supervisor' THEN ARRAY['supervisor','inspector','trainer']
    WHEN 'cr_inspector' THEN ARRAY['inspector','trainer']
    WHEN 'cr_trainer' THEN ARRAY['trainer']
    WHEN 'cr_auditor' THEN ARRAY['auditor']
    WHEN 'cr_admin' THEN ARRAY['admin']
    ELSE ARRAY[]::text[] END);
END $$;

CREATE FUNCTION cr_role_label(p_role text) RETURNS text LANGUAGE sql IMMUTABLE
SET search_path = public, pg_temp AS $$
  SELECT CASE p_role WHEN 'call_handler' THEN 'Call handler' WHEN 'despatcher' THEN 'Despatcher'
    WHEN 'supervisor' THEN 'Supervisor' WHEN 'inspector' THEN 'Inspector' WHEN 'trainer' THEN 'Trainer'
    WHEN 'auditor' THEN 'Auditor' WHEN 'admin' THEN 'Administrator' ELSE coalesce(p_role, 'Operator') END
$$;

-- The refusal raised by an API function (HINT-free; DETAIL carries the field as JSON).
CREATE FUNCTION cr_fail(p_code text, p_message text, p_field text DEFAULT NULL,
    p_details jsonb DEFAULT NULL) RETURNS void LANGUAGE plpgsql VOLATILE
SET search_path = public, pg_temp AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = p_code, MESSAGE = p_message,
    DETAIL = (coalesce(p_details, '{}'::jsonb)
              || CASE WHEN p_field IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('field', p_field) END)::text;
END $$;

-- Urban unless within the policy radius of a listed town (same rule as gazetteer.is_rural).
CREATE FUNCTION cr_is_rural(p_lat double precision, p_lon double precision) RETURNS boolean
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT NOT EXISTS (
    SELECT 1 FROM policy p, jsonb_array_elements(p.value->'towns') t
    WHERE p.key = 'urban'
      AND 2 * 6371008.8 * asin(sqrt(power(sin(radians((t->>0)::float8 - p_lat) / 2), 2)
          + cos(radians(p_lat)) * cos(radians((t->>0)::float8))
            * power(sin(radians((t->>1)::float8 - p_lon) / 2), 2))) <= (p.value->>'radius_m')::float8)
$$;

CREATE FUNCTION cr_target_minutes(p_grade text, p_lat double precision, p_lon double precision)
RETURNS integer LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT CASE WHEN p_grade IS NULL THEN NULL ELSE
    (cr_policy('grade_minutes') -> p_grade ->> (CASE WHEN cr_is_rural(p_lat, p_lon) THEN 'rural' ELSE 'urban' END))::integer END
$$;

CREATE FUNCTION cr_local_hms(p_at timestamptz) RETURNS text LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT coalesce(to_char(p_at AT TIME ZONE 'Europe/London', 'HH24:MI:SS'), 'an unknown time')
$$;

CREATE FUNCTION cr_log(p_incident_id bigint, p_kind text, p_text text) RETURNS incident_log
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE a record; v incident_log;
BEGIN
  SELECT * INTO a FROM cr_actor();
  INSERT INTO incident_log (incident_id, username, console_id, kind, text)
  VALUES (p_incident_id, a.username, a.console_id, p_kind, left(p_text, 4000)) RETURNING * INTO v;
  RETURN v;
END $$;

CREATE FUNCTION cr_lock_incident(p_incident_id bigint) RETURNS incidents
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE v incidents;
BEGIN
  SELECT * INTO v FROM incidents WHERE id = p_incident_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM cr_fail('CR404', format('No incident with reference %s.', p_incident_id), 'id');
  END IF;
  RETURN v;
END $$;

-- ---- create ---------------------------------------------------------------------------------
CREATE FUNCTION api.incident_create(p_channel text, p_incident_type text, p_summary text,
    p_lat double precision, p_lon double precision, p_area text, p_grade text DEFAULT NULL,
    p_caller_name text DEFAULT NULL, p_caller_phone text DEFAULT NULL, p_address text DEFAULT NULL,
    p_firearms boolean DEFAULT false, p_domestic_abuse boolean DEFAULT false,
    p_vulnerable_person boolean DEFAULT false, p_repeat_victim boolean DEFAULT false,
    p_missing_person boolean DEFAULT false, p_uprn bigint DEFAULT NULL, p_location_ref text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v incidents; v_day text; v_n integer; v_room text; v_armed boolean;
BEGIN
  PERFORM cr_require('cr_handler', 'incident.create');
  SELECT * INTO a FROM cr_actor();
  IF p_grade IS NOT NULL AND p_grade NOT IN ('G1', 'G2', 'G3', 'G4') THEN
    PERFORM cr_fail('CR400', format('Grade %s is not valid: use G1, G2, G3 or G4.', p_grade), 'grade');
  END IF;
  IF NOT coalesce(cr_policy('incident_types') ? p_incident_type, false) THEN
    PERFORM cr_fail('CR400', format('Incident type ''%s'' is not recognised.', p_incident_type), 'incident_type');
  END IF;
  SELECT room_code INTO v_room FROM areas WHERE code = p_area;
  IF NOT FOUND THEN
    PERFORM cr_fail('CR400', 'That location is outside the force area.', 'location');
  END IF;
  v_armed := coalesce(p_firearms, false) OR cr_armed_type(p_incident_type);
  INSERT INTO urn_counter (day, n) VALUES (to_char(now() AT TIME ZONE 'Europe/London', 'YYYYMMDD'), 1)
  ON CONFLICT (day) DO UPDATE SET n = urn_counter.n + 1 RETURNING day, n INTO v_day, v_n;
  INSERT INTO incidents (urn, channel, incident_type, summary, lat, lon, address, uprn, location_ref,
      area_code, room_code, grade, caller_name, caller_phone, firearms, domestic_abuse, vulnerable_person,
      repeat_victim, missing_person, created_by, updated_by, console_id, deadline_at)
  VALUES ((CASE WHEN cr_db_mode() = 'training' THEN 'TRN' ELSE 'TV' END) || '-' || v_day || '-'
            || lpad(v_n::text, 5, '0'),
          p_channel, p_incident_type, p_summary, p_lat, p_lon, p_address, p_uprn, p_location_ref, p_area,
          v_room, p_grade,
          p_caller_name, p_caller_phone, v_armed, coalesce(p_domestic_abuse, false),
          coalesce(p_vulnerable_person, false), coalesce(p_repeat_victim, false),
          coalesce(p_missing_person, false), a.username, a.username, a.console_id,
          now() + make_interval(mins => cr_target_minutes(p_grade, p_lat, p_lon)))
  RETURNING * INTO v;
  PERFORM cr_emit('incident.created', v.id::text, v.room_code, to_jsonb(v));
  IF NOT v_armed THEN
    RETURN to_jsonb(v);
  END IF;
  -- a firearms incident from the start: the shared declaration (flag, time, log, event + audit)
  RETURN cr_declare_firearms(v.id, CASE WHEN cr_armed_type(p_incident_type)
                                        THEN 'armed incident type ' || p_incident_type
                                        ELSE 'firearms flagged at creation' END)
         - 'declared_by' - 'log';
END $$;

-- ---- update ---------------------------------------------------------------------------------
CREATE FUNCTION api.incident_update(p_incident_id bigint, p_expected_version integer, p_fields jsonb)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v incidents; f jsonb := coalesce(p_fields, '{}'::jsonb); v_bad text;
  v_changed jsonb; v_lat float8; v_lon float8; v_type text; v_firearms boolean; v_declare boolean;
  v_out jsonb;
BEGIN
  PERFORM cr_require('cr_handler', 'incident.update');
  SELECT * INTO a FROM cr_actor();
  IF jsonb_typeof(f) <> 'object' OR f = '{}'::jsonb THEN
    PERFORM cr_fail('CR400', 'Nothing to change.', 'fields');
  END IF;
  SELECT string_agg(k, ', ' ORDER BY k) INTO v_bad FROM jsonb_object_keys(f) k
   WHERE k NOT IN ('channel', 'incident_type', 'summary', 'address', 'caller_name', 'caller_phone',
                   'lat', 'lon', 'area_code', 'uprn', 'location_ref', 'firearms', 'domestic_abuse', 'vulnerable_person',
                   'repeat_victim', 'missing_person');
  IF v_bad IS NOT NULL THEN
    PERFORM cr_fail('CR400', format('These cannot be changed here: %s. Use grade, close or reopen for those.',
                                    v_bad), split_part(v_bad, ',', 1));
  END IF;
  IF (f ? 'lat') <> (f ? 'lon') OR (f ? 'lat') <> (f ? 'area_code') THEN
    PERFORM cr_fail('CR400', 'Give both latitude and longitude for a new location.', 'location');
  END IF;
  IF f ? 'area_code' AND NOT EXISTS (SELECT 1 FROM areas WHERE code = f->>'area_code') THEN
    PERFORM cr_fail('CR400', 'That location is outside the force area.', 'location');
  END IF;
  IF f ? 'incident_type' AND NOT coalesce(cr_policy('incident_types') ? (f->>'incident_type'), false) THEN
    PERFORM cr_fail('CR400', format('Incident type ''%s'' is not recognised.', f->>'incident_type'), 'incident_type');
  END IF;
  v := cr_lock_incident(p_incident_id);
  IF v.status = 'closed' THEN
    PERFORM cr_fail('CR400', format('Incident %s is closed; reopen it before changing it.', v.urn), 'status');
  END IF;
  IF v.version IS DISTINCT FROM p_expected_version THEN
    PERFORM cr_fail('CR409', format('Incident %s was changed by %s at %s while you were editing (now version %s, '
                                    'you had %s). Reload it and make your change again.', v.urn, v.updated_by,
                                    cr_local_hms(v.updated_at), v.version, p_expected_version),
                    NULL, jsonb_build_object('changed_by', v.updated_by, 'changed_at', v.updated_at,
                                             'version', v.version));
  END IF;
  v_type := CASE WHEN f ? 'incident_type' THEN f->>'incident_type' ELSE v.incident_type END;
  v_firearms := CASE WHEN f ? 'firearms' THEN coalesce((f->>'firearms')::boolean, false) ELSE v.firearms END;
  IF f ? 'firearms' AND NOT v_firearms AND cr_armed_type(v_type) THEN
    PERFORM cr_fail('CR400', format('%s incidents are firearms incidents: the firearms flag stays set.', v_type),
                    'firearms');
  END IF;
  IF f ? 'firearms' AND NOT v_firearms AND v.firearms_declared_at IS NOT NULL THEN
    PERFORM cr_fail('CR409', format('%s was declared a firearms incident at %s: the firearms flag stays set.',
                                    v.urn, cr_local_hms(v.firearms_declared_at)), 'firearms');
  END IF;
  v_firearms := v_firearms OR cr_armed_type(v_type);
  v_declare := v_firearms AND v.firearms_declared_at IS NULL;
  v_lat := CASE WHEN f ? 'lat' THEN (f->>'lat')::float8 ELSE v.lat END;
  v_lon := CASE WHEN f ? 'lon' THEN (f->>'lon')::float8 ELSE v.lon END;
  SELECT coalesce(jsonb_agg(k ORDER BY k), '[]'::jsonb) INTO v_changed FROM jsonb_object_keys(f) k
   WHERE k <> 'area_code';
  UPDATE incidents SET
      channel = CASE WHEN f ? 'channel' THEN f->>'channel' ELSE channel END,
      incident_type = v_type,
      summary = CASE WHEN f ? 'summary' THEN f->>'summary' ELSE summary END,
      address = CASE WHEN f ? 'address' THEN f->>'address' ELSE address END,
      caller_name = CASE WHEN f ? 'caller_name' THEN f->>'caller_name' ELSE caller_name END,
      caller_phone = CASE WHEN f ? 'caller_phone' THEN f->>'caller_phone' ELSE caller_phone END,
      uprn = CASE WHEN f ? 'uprn' THEN (f->>'uprn')::bigint ELSE uprn END,
      location_ref = CASE WHEN f ? 'location_ref' THEN f->>'location_ref' ELSE location_ref END,
      lat = v_lat, lon = v_lon,
      area_code = CASE WHEN f ? 'area_code' THEN f->>'area_code' ELSE area_code END,
      room_code = CASE WHEN f ? 'area_code' THEN (SELECT room_code FROM areas WHERE code = f->>'area_code')
                       ELSE room_code END,
      deadline_at = CASE WHEN f ? 'lat' THEN created_at + make_interval(mins => cr_target_minutes(grade, v_lat, v_lon))
                         ELSE deadline_at END,
      firearms = v_firearms,
      domestic_abuse = CASE WHEN f ? 'domestic_abuse' THEN coalesce((f->>'domestic_abuse')::boolean, false) ELSE domestic_abuse END,
      vulnerable_person = CASE WHEN f ? 'vulnerable_person' THEN coalesce((f->>'vulnerable_person')::boolean, false) ELSE vulnerable_person END,
      repeat_victim = CASE WHEN f ? 'repeat_victim' THEN coalesce((f->>'repeat_victim')::boolean, false) ELSE repeat_victim END,
      missing_person = CASE WHEN f ? 'missing_person' THEN coalesce((f->>'missing_person')::boolean, false) ELSE missing_person END,
      version = version + 1, updated_at = now(), updated_by = a.username
   WHERE id = p_incident_id RETURNING * INTO v;
  v_out := cr_incident_json(v);
  PERFORM cr_emit('incident.updated', v.id::text, v_out->>'room_code',
                  v_out || jsonb_build_object('changed', v_changed));
  IF v_declare THEN  -- became a firearms incident: the shared declaration (one more version)
    RETURN cr_declare_firearms(v.id, CASE WHEN cr_armed_type(v_type) AND f ? 'incident_type'
                                          THEN 'changed to armed incident type ' || v_type
                                          ELSE 'firearms flagged' END) - 'declared_by' - 'log';
  END IF;
  RETURN v_out;
END $$;

-- ---- grade and supervised downgrades ----------------------------------------------------------
CREATE FUNCTION cr_signoff_json(p_id bigint) RETURNS jsonb LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT to_jsonb(s) || jsonb_build_object('urn', i.urn, 'current_grade', i.grade, 'room_code', a.room_code)
  FROM grade_signoffs s JOIN incidents i ON i.id = s.incident_id JOIN areas a ON a.code = i.area_code
  WHERE s.id = p_id
$$;

-- File a downgrade sign-off request (an open one for the same grade is returned as it is).
CREATE FUNCTION cr_signoff_file(p_incident_id bigint, p_grade text, p_reason text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE a record; v incidents; v_existing grade_signoffs; v_row grade_signoffs; v_view jsonb;
BEGIN
  SELECT * INTO a FROM cr_actor();
  v := cr_lock_incident(p_incident_id);
  IF v.status = 'closed' THEN
    PERFORM cr_fail('CR400', format('Incident %s is closed.', v.urn), 'id');
  END IF;
  IF v.grade IS NULL OR p_grade <= v.grade THEN
    PERFORM cr_fail('CR400', format('%s is not a downgrade of %s (%s).', p_grade, v.urn,
                                    coalesce(v.grade, 'ungraded')), 'grade');
  END IF;
  SELECT * INTO v_existing FROM grade_signoffs WHERE incident_id = p_incident_id AND status = 'pending'
   ORDER BY id LIMIT 1;
  IF FOUND THEN
    IF v_existing.to_grade <> p_grade THEN
      PERFORM cr_fail('CR400', format('A downgrade of %s to %s is already waiting for sign-off (request %s).',
                                      v.urn, v_existing.to_grade, v_existing.id), 'grade');
    END IF;
    RETURN cr_signoff_json(v_existing.id);
  END IF;
  INSERT INTO grade_signoffs (incident_id, from_grade, to_grade, reason, requested_by, requested_console)
  VALUES (p_incident_id, v.grade, p_grade, p_reason, a.username, a.console_id) RETURNING * INTO v_row;
  PERFORM cr_log(p_incident_id, 'signoff', format('Downgrade to %s requested (was %s), awaiting supervisor '
                 'sign-off (request %s): %s', p_grade, v.grade, v_row.id, p_reason));
  v_view := cr_signoff_json(v_row.id);
  PERFORM cr_emit('signoff.requested', v_row.id::text, v_view->>'room_code', v_view);
  RETURN v_view;
END $$;

CREATE FUNCTION api.signoff_request(p_incident_id bigint, p_grade text, p_reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM cr_require('cr_handler', 'incident.grade');
  IF p_grade IS NULL OR p_grade NOT IN ('G1', 'G2', 'G3', 'G4') THEN
    PERFORM cr_fail('CR400', format('Grade %s is not valid: use G1, G2, G3 or G4.', p_grade), 'grade');
  END IF;
  IF nullif(btrim(coalesce(p_reason, '')), '') IS NULL THEN
    PERFORM cr_fail('CR400', 'Reason for the downgrade is required.', 'reason');
  END IF;
  RETURN cr_signoff_file(p_incident_id, p_grade, p_reason);
END $$;

-- Grade or regrade. A downgrade that needs a sign-off is not made: the request is filed, the
-- refusal audited, and {"refused": message, "signoff": request} returned (nothing else changes).
CREATE FUNCTION api.incident_grade(p_incident_id bigint, p_grade text, p_rationale text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v incidents; v_old text; v_line text; v_req jsonb; v_msg text; v_out jsonb;
BEGIN
  PERFORM cr_require('cr_handler', 'incident.grade');
  SELECT * INTO a FROM cr_actor();
  IF p_grade IS NULL OR p_grade NOT IN ('G1', 'G2', 'G3', 'G4') THEN
    PERFORM cr_fail('CR400', format('Grade %s is not valid: use G1, G2, G3 or G4.', p_grade), 'grade');
  END IF;
  v := cr_lock_incident(p_incident_id);
  v_old := v.grade;
  IF v.status = 'closed' THEN
    PERFORM cr_fail('CR400', format('Incident %s is closed; reopen it before regrading.', v.urn), 'grade');
  END IF;
  IF v_old = p_grade THEN
    PERFORM cr_fail('CR400', format('Incident %s is already %s.', v.urn, p_grade), 'grade');
  END IF;
  IF v_old IS NOT NULL AND nullif(btrim(coalesce(p_rationale, '')), '') IS NULL THEN
    PERFORM cr_fail('CR400', format('Say why you are regrading %s from %s to %s: a rationale is required.',
                                    v.urn, v_old, p_grade), 'rationale');
  END IF;
  IF v_old IS NOT NULL AND p_grade > v_old AND NOT cr_in_group('cr_supervisor') THEN
    IF coalesce(cr_policy('signoff_downgrade_from') ? v_old, false) THEN
      v_req := cr_signoff_file(p_incident_id, p_grade, p_rationale);
      v_msg := format('%ss may not downgrade a %s (%s) on their own: a supervisor''s sign-off has been '
                      'requested (request %s, %s to %s). The incident stays %s until a supervisor approves.',
                      cr_role_label(a.role),
                      CASE v_old WHEN 'G1' THEN 'G1 emergency' WHEN 'G2' THEN 'G2 priority'
                                 WHEN 'G3' THEN 'G3 scheduled' ELSE v_old END,
                      v.urn, v_req->>'id', v_old, v_req->>'to_grade', v_old);
      PERFORM cr_audit('incident.downgrade_' || lower(v_old), 'incident:' || p_incident_id, 'refused',
                       jsonb_build_object('reason', v_msg, 'signoff_id', (v_req->>'id')::bigint,
                                          'to_grade', v_req->>'to_grade'));
      RETURN jsonb_build_object('refused', v_msg, 'signoff', v_req);
    ELSIF v_old = 'G1' THEN
      RAISE EXCEPTION '%s may not downgrade a G1 emergency (%); ask a supervisor.', cr_role_label(a.role), v.urn
        USING ERRCODE = '42501';
    END IF;
  END IF;
  v_line := (CASE WHEN v_old IS NULL THEN 'Graded' WHEN p_grade < v_old THEN 'Upgraded' ELSE 'Downgraded' END)
            || ' ' || p_grade || coalesce(' (was ' || v_old || ')', '') || coalesce(': ' || p_rationale, '');
  PERFORM cr_log(p_incident_id, 'grade', v_line);
  UPDATE incidents SET grade = p_grade,
         deadline_at = created_at + make_interval(mins => cr_target_minutes(p_grade, lat, lon)),
         version = version + 1, updated_at = now(), updated_by = a.username
   WHERE id = p_incident_id RETURNING * INTO v;
  v_out := cr_incident_json(v);
  PERFORM cr_emit('incident.graded', v.id::text, v_out->>'room_code',
                  v_out || jsonb_build_object('previous_grade', v_old, 'rationale', p_rationale));
  RETURN v_out;
END $$;

-- A pending request locked for a decision; refusals come back as {"refused": …} (audited).
CREATE FUNCTION cr_signoff_pending(p_signoff_id bigint, OUT s grade_signoffs, OUT inc incidents,
    OUT refused text) LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE a record;
BEGIN
  SELECT * INTO a FROM cr_actor();
  SELECT * INTO s FROM grade_signoffs WHERE id = p_signoff_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM cr_fail('CR404', format('No sign-off request %s.', p_signoff_id), 'id');
  END IF;
  inc := cr_lock_incident(s.incident_id);
  IF s.status <> 'pending' THEN
    PERFORM cr_fail('CR400', format('Sign-off request %s was already %s by %s.', s.id, s.status, s.decided_by), 'id');
  END IF;
  IF s.requested_by = a.username THEN
    refused := format('A sign-off needs a second person: you asked for this downgrade of %s yourself. '
                      'Another supervisor must decide it.', inc.urn);
    PERFORM cr_audit('incident.signoff_downgrade', 'signoff:' || s.id, 'refused',
                     jsonb_build_object('reason', refused));
    RETURN;
  END IF;
  IF inc.grade IS DISTINCT FROM s.from_grade THEN
    PERFORM cr_fail('CR400', format('%s is now %s, not %s: this request is out of date. Reject it and ask '
                                    'again if needed.', inc.urn, inc.grade, s.from_grade), 'id');
  END IF;
END $$;

CREATE FUNCTION api.signoff_approve(p_signoff_id bigint, p_note text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; p record; v incidents; v_line text; v_out jsonb;
BEGIN
  PERFORM cr_require('cr_supervisor', 'incident.signoff_downgrade');
  SELECT * INTO a FROM cr_actor();
  SELECT * INTO p FROM cr_signoff_pending(p_signoff_id);
  IF p.refused IS NOT NULL THEN RETURN jsonb_build_object('refused', p.refused); END IF;
  v_line := format('Downgraded %s (was %s): %s — requested by %s, signed off by %s', (p.s).to_grade,
                   (p.s).from_grade, (p.s).reason, (p.s).requested_by, a.username) || coalesce(': ' || p_note, '');
  UPDATE grade_signoffs SET status = 'approved', decided_by = a.username, decided_at = now(),
         decision_reason = p_note WHERE id = (p.s).id;
  PERFORM cr_log((p.s).incident_id, 'grade', v_line);
  UPDATE incidents SET grade = (p.s).to_grade,
         deadline_at = created_at + make_interval(mins => cr_target_minutes((p.s).to_grade, lat, lon)),
         version = version + 1, updated_at = now(), updated_by = a.username
   WHERE id = (p.s).incident_id RETURNING * INTO v;
  v_out := cr_incident_json(v);
  PERFORM cr_emit('incident.graded', v.id::text, v_out->>'room_code', v_out || jsonb_build_object(
                  'previous_grade', (p.s).from_grade, 'rationale', (p.s).reason,
                  'signoff', jsonb_build_object('id', (p.s).id, 'requested_by', (p.s).requested_by,
                                                'approved_by', a.username)));
  RETURN v_out;
END $$;

CREATE FUNCTION api.signoff_reject(p_signoff_id bigint, p_reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; p record; v_view jsonb;
BEGIN
  PERFORM cr_require('cr_supervisor', 'incident.signoff_downgrade');
  SELECT * INTO a FROM cr_actor();
  IF nullif(btrim(coalesce(p_reason, '')), '') IS NULL THEN
    PERFORM cr_fail('CR400', 'Reason for refusing is required.', 'reason');
  END IF;
  SELECT * INTO p FROM cr_signoff_pending(p_signoff_id);
  IF p.refused IS NOT NULL THEN RETURN jsonb_build_object('refused', p.refused); END IF;
  UPDATE grade_signoffs SET status = 'rejected', decided_by = a.username, decided_at = now(),
         decision_reason = p_reason WHERE id = (p.s).id;
  PERFORM cr_log((p.s).incident_id, 'signoff', format('Downgrade to %s refused by %s (requested by %s): %s',
                 (p.s).to_grade, a.username, (p.s).requested_by, p_reason));
  v_view := cr_signoff_json((p.s).id);
  PERFORM cr_emit('signoff.rejected', (p.s).id::text, v_view->>'room_code', v_view);
  RETURN v_view;
END $$;

-- ---- THRIVE and links -----------------------------------------------------------------------
CREATE FUNCTION api.incident_thrive(p_incident_id bigint, p_threat text, p_harm text, p_risk text,
    p_investigation text, p_vulnerability text, p_engagement text, p_risk_level text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v incidents; v_row incident_thrive; v_room text;
BEGIN
  PERFORM cr_require('cr_handler', 'incident.thrive');
  SELECT * INTO a FROM cr_actor();
  IF p_risk_level IS NOT NULL AND p_risk_level NOT IN ('high', 'medium', 'low') THEN
    PERFORM cr_fail('CR400', format('Risk level ''%s'' is not valid: use high, medium or low.', p_risk_level),
                    'risk_level');
  END IF;
  v := cr_lock_incident(p_incident_id);  -- serialises reassessments: versions never collide
  SELECT room_code INTO v_room FROM areas WHERE code = v.area_code;
  INSERT INTO incident_thrive (incident_id, version, threat, harm, risk, investigation, vulnerability,
                               engagement, risk_level, username, console_id)
  SELECT p_incident_id, coalesce(max(version), 0) + 1, p_threat, p_harm, p_risk, p_investigation,
         p_vulnerability, p_engagement, p_risk_level, a.username, a.console_id
    FROM incident_thrive WHERE incident_id = p_incident_id
  RETURNING * INTO v_row;
  PERFORM cr_emit('incident.thrive', p_incident_id::text, v_room, to_jsonb(v_row));
  RETURN to_jsonb(v_row);
END $$;

CREATE FUNCTION api.incident_link(p_a bigint, p_b bigint, p_reason text, p_kind text DEFAULT 'related')
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v_a incidents; v_b incidents; v_row incident_links; v_room text; v_out jsonb;
BEGIN
  PERFORM cr_require('cr_handler', 'incident.link');
  SELECT * INTO a FROM cr_actor();
  IF p_a = p_b THEN PERFORM cr_fail('CR400', 'An incident cannot be linked to itself.', 'b'); END IF;
  IF p_kind IS NULL OR p_kind NOT IN ('duplicate', 'related') THEN
    PERFORM cr_fail('CR400', format('Link kind ''%s'' is not valid: use duplicate or related.', p_kind), 'kind');
  END IF;
  SELECT * INTO v_a FROM incidents WHERE id = p_a;
  SELECT * INTO v_b FROM incidents WHERE id = p_b;
  IF v_a.id IS NULL OR v_b.id IS NULL THEN
    PERFORM cr_fail('CR404', format('No incident with reference %s.', concat_ws(', ',
                    CASE WHEN v_a.id IS NULL THEN p_a::text END, CASE WHEN v_b.id IS NULL THEN p_b::text END)), 'b');
  END IF;
  INSERT INTO incident_links (a_id, b_id, kind, reason, username)
  VALUES (least(p_a, p_b), greatest(p_a, p_b), p_kind, p_reason, a.username)
  ON CONFLICT (a_id, b_id) DO NOTHING RETURNING * INTO v_row;
  IF v_row.id IS NULL THEN
    PERFORM cr_fail('CR400', format('%s and %s are already linked.', v_a.urn, v_b.urn), 'b');
  END IF;
  PERFORM cr_log(p_a, 'link', format('Linked (%s) to %s: %s', p_kind, v_b.urn, p_reason));
  PERFORM cr_log(p_b, 'link', format('Linked (%s) to %s: %s', p_kind, v_a.urn, p_reason));
  SELECT room_code INTO v_room FROM areas WHERE code = v_a.area_code;
  v_out := to_jsonb(v_row) || jsonb_build_object(
    'a_urn', CASE WHEN v_row.a_id = p_a THEN v_a.urn ELSE v_b.urn END,
    'b_urn', CASE WHEN v_row.b_id = p_b THEN v_b.urn ELSE v_a.urn END);
  PERFORM cr_emit('incident.linked', p_a::text, v_room, v_out);
  RETURN v_out;
END $$;

-- ---- close / reopen ---------------------------------------------------------------------------
-- Why closing needs a THRIVE assessment first (NULL: it does not). A duplicate closed as such
-- needs none when an incident it is linked to as duplicate carries one.
CREATE FUNCTION cr_thrive_needed_to_close(p_row incidents, p_code text) RETURNS text
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  WITH pol AS (SELECT coalesce(cr_policy('thrive_required_to_close'), '{}'::jsonb) AS p),
  why AS (
    SELECT p_row.grade || '' AS g,
      (SELECT string_agg(replace(fl, '_', ' ') || ' is flagged', ' and ' ORDER BY o)
         FROM pol, jsonb_array_elements_text(coalesce(pol.p->'flags', '[]')) WITH ORDINALITY AS x(fl, o)
        WHERE (to_jsonb(p_row)->>fl) = 'true') AS flags,
      coalesce((SELECT pol.p->'grades' ? p_row.grade FROM pol), false) AS grade_hit)
  SELECT CASE
    WHEN EXISTS (SELECT 1 FROM incident_thrive t WHERE t.incident_id = p_row.id) THEN NULL
    WHEN coalesce(cr_policy('duplicate_closing_codes') ? p_code, false) AND EXISTS (
           SELECT 1 FROM incident_links l JOIN incident_thrive t
             ON t.incident_id = CASE WHEN l.a_id = p_row.id THEN l.b_id ELSE l.a_id END
            WHERE (l.a_id = p_row.id OR l.b_id = p_row.id) AND l.kind = 'duplicate') THEN NULL
    WHEN NOT why.grade_hit AND why.flags IS NULL THEN NULL
    ELSE concat_ws(' and ', CASE WHEN why.grade_hit THEN 'it is ' || why.g END, why.flags) END
  FROM why
$$;

CREATE FUNCTION api.incident_close(p_incident_id bigint, p_closing_code text, p_qualifier text,
    p_result text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v incidents; v_units text; v_quals jsonb; v_why text; v_line text; v_out jsonb;
BEGIN
  PERFORM cr_require('cr_handler', 'incident.close');
  SELECT * INTO a FROM cr_actor();
  v_quals := cr_policy('closing_codes') -> p_closing_code;
  IF v_quals IS NULL THEN
    PERFORM cr_fail('CR400', format('Closing code ''%s'' is not recognised.', p_closing_code), 'closing_code');
  END IF;
  IF p_qualifier IS NOT NULL AND NOT v_quals ? p_qualifier THEN
    PERFORM cr_fail('CR400', format('Qualifier ''%s'' does not go with %s.', p_qualifier, p_closing_code),
                    'qualifier');
  END IF;
  IF nullif(btrim(coalesce(p_result, '')), '') IS NULL THEN
    PERFORM cr_fail('CR400', 'Result is required.', 'result');
  END IF;
  v := cr_lock_incident(p_incident_id);
  IF v.status = 'closed' THEN
    PERFORM cr_fail('CR400', format('Incident %s is already closed.', v.urn), 'status');
  END IF;
  SELECT string_agg(callsign, ', ' ORDER BY callsign) INTO v_units FROM units WHERE incident_id = p_incident_id;
  IF v_units IS NOT NULL THEN
    PERFORM cr_fail('CR400', format('Incident %s still has units assigned (%s); clear them before closing.',
                                    v.urn, v_units), 'units');
  END IF;
  IF v.despatched_at IS NOT NULL AND NOT cr_in_group('cr_despatcher') THEN
    RAISE EXCEPTION '%s may not close incidents that have had units deployed (%); ask the despatcher.',
      cr_role_label(a.role), v.urn USING ERRCODE = '42501';
  END IF;
  v_why := cr_thrive_needed_to_close(v, p_closing_code);
  IF v_why IS NOT NULL THEN
    PERFORM cr_fail('CR400', format('%s cannot be closed without a THRIVE assessment (%s). Record THRIVE first.',
                                    v.urn, v_why), 'thrive');
  END IF;
  v_line := 'Closed ' || p_closing_code || coalesce(' (' || p_qualifier || ')', '') || ': ' || p_result;
  PERFORM cr_log(p_incident_id, 'closed', v_line);
  UPDATE incidents SET status = 'closed', closed_at = now(), closing_code = p_closing_code,
         closing_qualifier = p_qualifier, result = p_result, version = version + 1, updated_at = now(),
         updated_by = a.username
   WHERE id = p_incident_id RETURNING * INTO v;
  v_out := cr_incident_json(v);
  PERFORM cr_emit('incident.closed', v.id::text, v_out->>'room_code', v_out);
  PERFORM cr_talkgroups_release_all(p_incident_id, 'closed');  -- 0029_api_talkgroups
  RETURN v_out;
END $$;

CREATE FUNCTION api.incident_reopen(p_incident_id bigint, p_reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v incidents; v_out jsonb;
BEGIN
  PERFORM cr_require('cr_despatcher', 'incident.reopen');
  SELECT * INTO a FROM cr_actor();
  IF nullif(btrim(coalesce(p_reason, '')), '') IS NULL THEN
    PERFORM cr_fail('CR400', 'Reason is required.', 'reason');
  END IF;
  v := cr_lock_incident(p_incident_id);
  IF v.status <> 'closed' THEN
    PERFORM cr_fail('CR400', format('Incident %s is not closed.', v.urn), 'status');
  END IF;
  PERFORM cr_log(p_incident_id, 'reopened', 'Reopened: ' || p_reason);
  UPDATE incidents SET status = 'open', closed_at = NULL, closing_code = NULL, closing_qualifier = NULL,
         result = NULL, version = version + 1, updated_at = now(), updated_by = a.username
   WHERE id = p_incident_id RETURNING * INTO v;
  v_out := cr_incident_json(v);
  PERFORM cr_emit('incident.reopened', v.id::text, v_out->>'room_code', v_out);
  RETURN v_out;
END $$;

-- ---- SLA breaches (observed as time passes; each recorded and announced once) -----------------
CREATE FUNCTION api.incident_record_breaches() RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v_out jsonb;
BEGIN
  PERFORM cr_require('cr_handler', 'incident.log');
  SELECT * INTO a FROM cr_actor();
  WITH b AS (
    INSERT INTO incident_breaches (incident_id, deadline_at, grade, recorded_by)
    SELECT id, deadline_at, grade, a.username FROM incidents
     WHERE status <> 'closed' AND arrived_at IS NULL AND deadline_at IS NOT NULL AND deadline_at < now()
     ORDER BY deadline_at
    ON CONFLICT DO NOTHING
    RETURNING incident_id, deadline_at, grade, recorded_at, recorded_by),
  e AS (
    SELECT i.id AS incident_id, i.urn, b.grade, b.deadline_at, b.recorded_at, b.recorded_by,
           cr_emit('incident.breached', i.id::text, ar.room_code,
                   to_jsonb(i) || jsonb_build_object('room_code', ar.room_code, 'breach',
                     jsonb_build_object('deadline_at', b.deadline_at, 'recorded_at', b.recorded_at,
                                        'grade', b.grade))) AS seq
      FROM b JOIN incidents i ON i.id = b.incident_id JOIN areas ar ON ar.code = i.area_code
     ORDER BY b.deadline_at)
  SELECT coalesce(jsonb_agg(to_jsonb(e) ORDER BY e.deadline_at), '[]'::jsonb) INTO v_out FROM e;
  RETURN v_out;
END $$;
"""

API = {
    "api.incident_create(text, text, text, double precision, double precision, text, text, text, text, "
    "text, boolean, boolean, boolean, boolean, boolean, bigint, text)": "cr_handler",
    "api.incident_update(bigint, integer, jsonb)": "cr_handler",
    "api.incident_grade(bigint, text, text)": "cr_handler",
    "api.signoff_request(bigint, text, text)": "cr_handler",
    "api.signoff_approve(bigint, text)": "cr_supervisor",
    "api.signoff_reject(bigint, text)": "cr_supervisor",
    "api.incident_thrive(bigint, text, text, text, text, text, text, text)": "cr_handler",
    "api.incident_link(bigint, bigint, text, text)": "cr_handler",
    "api.incident_close(bigint, text, text, text)": "cr_handler",
    "api.incident_reopen(bigint, text)": "cr_despatcher",
    "api.incident_record_breaches()": "cr_handler",
}
INTERNAL = (
    "cr_in_group(text)", "cr_fail(text, text, text, jsonb)", "cr_log(bigint, text, text)",
    "cr_lock_incident(bigint)",
    "cr_signoff_file(bigint, text, text)", "cr_signoff_pending(bigint)",
)


def grants_sql(api: dict[str, str], internal: tuple[str, ...]) -> str:
    out = [f"REVOKE ALL ON FUNCTION {f} FROM PUBLIC;" for f in internal]
    for f, group in api.items():
        out.append(f"REVOKE ALL ON FUNCTION {f} FROM PUBLIC;")
        out.append(f"GRANT EXECUTE ON FUNCTION {f} TO {group};")
    return "\n".join(out)


def upgrade() -> None:
    op.execute(UPGRADE_SQL)
    op.execute(grants_sql(API, INTERNAL))
    from controlroom.db.policy import sync_incident_policy
    sync_incident_policy(op.get_bind())


def downgrade() -> None:
    for f in API:
        op.execute(f"DROP FUNCTION IF EXISTS {f}")
    for f in ("cr_thrive_needed_to_close(incidents, text)", "cr_signoff_pending(bigint)", "cr_signoff_file(bigint, text, text)",
              "cr_signoff_json(bigint)", "cr_declare_firearms(bigint, text)",
              "cr_announce_firearms(incidents, text)", "cr_armed_type(text)", "cr_lock_incident(bigint)",
              "cr_log(bigint, text, text)", "cr_incident_json(incidents)", "cr_local_hms(timestamptz)",
              "cr_target_minutes(text, double precision, double precision)",
              "cr_is_rural(double precision, double precision)", "cr_fail(text, text, text, jsonb)",
              "cr_role_label(text)", "cr_in_group(text)", "cr_policy(text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {f}")
    op.execute("DROP TABLE IF EXISTS policy")
