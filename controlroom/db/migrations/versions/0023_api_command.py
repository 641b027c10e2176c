"""api: command (firearms command, armed authorisation, command roles, major incident, NDM decision
log, METHANE) in the database

Revision ID: 0023
Revises: 0022

Each command write is ONE SECURITY DEFINER function (issue 19). Only the inspector group may take
firearms command, authorise armed deployment, hand over roles, declare a major incident, write the
decision log or METHANE; who did it is always cr_actor() (session_user), so nobody can record an
authorisation in the inspector's name. Every function locks the incident row first, so command
changes to one incident happen one after another.

An incident of an armed type counts as a firearms incident (cr_firearms_incident); the first
command step on one that was never declared declares it (cr_declare_firearms) in the same go.
"""
from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

SQL = r"""
-- The incident a command step is about, locked; refused if missing (or closed when open_only).
CREATE FUNCTION cr_command_incident(p_incident_id bigint, p_open_only boolean) RETURNS incidents
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE i incidents;
BEGIN
  SELECT * INTO i FROM incidents WHERE id = p_incident_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No incident with reference %.', p_incident_id USING ERRCODE = 'CR404', COLUMN = 'id';
  END IF;
  IF p_open_only AND i.status = 'closed' THEN
    RAISE EXCEPTION 'Incident % is closed; reopen it first.', i.urn USING ERRCODE = 'CR400', COLUMN = 'id';
  END IF;
  RETURN i;
END $$;

-- A firearms incident, declared: an armed type nobody declared yet is declared now.
CREATE FUNCTION cr_command_firearms(i incidents) RETURNS incidents
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT cr_firearms_incident(i) THEN
    RAISE EXCEPTION '% is not a firearms incident: declare it first.', i.urn
      USING ERRCODE = 'CR400', COLUMN = 'id';
  END IF;
  IF i.firearms_declared_at IS NULL THEN
    PERFORM cr_declare_firearms(i.id, 'armed incident type ' || i.incident_type);
    SELECT * INTO i FROM incidents WHERE id = i.id;
  END IF;
  RETURN i;
END $$;

CREATE FUNCTION cr_owner_room(i incidents) RETURNS text LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT coalesce((SELECT a.room_code FROM areas a WHERE a.code = i.area_code), i.room_code)
$$;

-- Current holder per role (highest n, stood-down roles left out), in display order.
CREATE FUNCTION cr_command_chain(p_incident_id bigint) RETURNS jsonb LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY array_position(
           ARRAY['GOLD','SILVER','BRONZE','SFC','TFC','ITFC','OFC'], r.role::text)), '[]'::jsonb)
  FROM (SELECT DISTINCT ON (role) * FROM command_roles WHERE incident_id = p_incident_id
        ORDER BY role, n DESC) r
  WHERE r.holder IS NOT NULL
$$;

CREATE FUNCTION cr_current_role(p_incident_id bigint, p_role text) RETURNS command_roles
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT r.* FROM (SELECT * FROM command_roles WHERE incident_id = p_incident_id AND role = p_role
                   ORDER BY n DESC LIMIT 1) r WHERE r.holder IS NOT NULL
$$;

CREATE FUNCTION cr_insert_role(p_incident_id bigint, p_role text, p_holder text, p_accredited boolean,
    p_from_holder text, p_reason text, p_by text, p_console text) RETURNS command_roles
LANGUAGE sql VOLATILE SET search_path = public, pg_temp AS $$
  INSERT INTO command_roles (incident_id, role, n, holder, accredited, from_holder, reason, by, console_id)
  SELECT p_incident_id, p_role, coalesce(max(n), 0) + 1, p_holder, coalesce(p_accredited, false),
         p_from_holder, p_reason, p_by, p_console
  FROM command_roles WHERE incident_id = p_incident_id AND role = p_role
  RETURNING *
$$;

CREATE FUNCTION cr_chain_payload(i incidents, p_role jsonb, p_log jsonb) RETURNS jsonb LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object('incident_id', i.id, 'urn', i.urn, 'role', p_role,
    'chain', cr_command_chain(i.id), 'firearms', i.firearms, 'major_kind', i.major_kind,
    'armed_authorised_at', i.armed_authorised_at, 'armed_authorised_by', i.armed_authorised_by,
    'log', p_log)
$$;

-- Operator text checked again here (the console checked it first, with friendlier wording).
CREATE FUNCTION cr_text_arg(p_value text, p_label text, p_field text, p_max int, p_required boolean)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE v text := nullif(btrim(p_value), '');
BEGIN
  IF v IS NULL AND p_required THEN
    RAISE EXCEPTION '% is required.', p_label USING ERRCODE = 'CR400', COLUMN = p_field;
  END IF;
  IF length(v) > p_max THEN
    RAISE EXCEPTION '% is too long (at most % characters).', p_label, p_max
      USING ERRCODE = 'CR400', COLUMN = p_field;
  END IF;
  RETURN v;
END $$;

CREATE FUNCTION api.command_accept_firearms(p_incident_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; i incidents; r command_roles; v_owner text; v_log jsonb; v_payload jsonb;
BEGIN
  PERFORM cr_require('cr_inspector', 'take firearms command');
  SELECT * INTO a FROM cr_actor();
  i := cr_command_incident(p_incident_id, true);
  IF NOT cr_firearms_incident(i) THEN
    RAISE EXCEPTION '% is not a firearms incident: declare it first.', i.urn
      USING ERRCODE = 'CR400', COLUMN = 'id';
  END IF;
  v_owner := cr_owner_room(i);
  IF v_owner IS DISTINCT FROM a.room_code THEN
    RAISE EXCEPTION '% belongs to the % room: its inspector takes initial firearms command (or take the area over first).',
      i.urn, v_owner USING ERRCODE = 'CR403';
  END IF;
  i := cr_command_firearms(i);
  SELECT * INTO r FROM command_roles c WHERE c.incident_id = i.id AND c.role IN ('ITFC', 'TFC')
     AND c.holder IS NOT NULL AND c.n = (SELECT max(n) FROM command_roles x
                                         WHERE x.incident_id = i.id AND x.role = c.role)
   ORDER BY c.role = 'TFC' DESC LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '% already holds % on % (since %).', r.holder, r.role, i.urn, to_char(r.at, 'HH24:MI:SS')
      USING ERRCODE = 'CR409';
  END IF;
  r := cr_insert_role(i.id, 'ITFC', a.username, false, NULL, 'accepted initial tactical firearms command',
                      a.username, a.console_id);
  v_log := cr_log_entry(i.id, 'command', a.username || ' accepted command as Initial Tactical Firearms '
                        || 'Commander (ITFC).', a.username, a.console_id);
  v_payload := cr_chain_payload(i, to_jsonb(r), v_log);
  PERFORM cr_emit('command.firearms_accepted', i.id::text, v_owner, v_payload);
  RETURN v_payload;
END $$;

CREATE FUNCTION api.command_acknowledge_firearms(p_incident_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; i incidents; v_log jsonb; v_payload jsonb;
BEGIN
  PERFORM cr_require('cr_inspector', 'acknowledge firearms alerts');
  SELECT * INTO a FROM cr_actor();
  i := cr_command_incident(p_incident_id, false);
  v_log := cr_log_entry(i.id, 'command', 'Firearms alert acknowledged by ' || a.username || ' ('
             || coalesce(a.room_code, 'no') || ' room, console ' || coalesce(a.console_id, 'unknown') || ').',
             a.username, a.console_id);
  v_payload := jsonb_build_object('incident_id', i.id, 'urn', i.urn, 'by', a.username, 'room', a.room_code,
                                  'log', v_log);
  PERFORM cr_emit('command.firearms_acknowledged', i.id::text, cr_owner_room(i), v_payload);
  RETURN v_payload;
END $$;

CREATE FUNCTION api.command_authorise_armed(p_incident_id bigint, p_threat_assessment text,
    p_working_strategy text, p_rationale text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; i incidents; v_auth armed_authorisations; r command_roles; v_role jsonb;
  v_threat text; v_strategy text; v_rationale text; v_log jsonb; v_payload jsonb;
BEGIN
  PERFORM cr_require('cr_inspector', 'authorise armed deployment');
  v_threat := cr_text_arg(p_threat_assessment, 'Threat assessment', 'threat_assessment', 1200, true);
  v_strategy := cr_text_arg(p_working_strategy, 'Working strategy', 'working_strategy', 1200, true);
  v_rationale := cr_text_arg(p_rationale, 'Rationale', 'rationale', 1200, true);
  SELECT * INTO a FROM cr_actor();
  i := cr_command_firearms(cr_command_incident(p_incident_id, true));
  IF i.armed_authorised_at IS NOT NULL THEN
    RAISE EXCEPTION 'Armed deployment to % was already authorised by % at %.', i.urn, i.armed_authorised_by,
      to_char(i.armed_authorised_at, 'HH24:MI:SS') USING ERRCODE = 'CR409';
  END IF;
  INSERT INTO armed_authorisations (incident_id, threat_assessment, working_strategy, rationale, by, console_id)
  VALUES (i.id, v_threat, v_strategy, v_rationale, a.username, a.console_id) RETURNING * INTO v_auth;
  UPDATE incidents SET armed_authorised_at = v_auth.at, armed_authorised_by = a.username,
         updated_at = now(), updated_by = a.username WHERE id = i.id RETURNING * INTO i;
  IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(cr_command_chain(i.id)) c
                 WHERE c ->> 'role' IN ('ITFC', 'TFC')) THEN
    r := cr_insert_role(i.id, 'ITFC', a.username, false, NULL,
                        'took initial command by authorising armed deployment', a.username, a.console_id);
    v_role := to_jsonb(r);
  END IF;
  v_log := cr_log_entry(i.id, 'command', 'ARMED DEPLOYMENT AUTHORISED by ' || a.username || ' at '
             || to_char(v_auth.at, 'HH24:MI:SS') || '.' || E'\n' || 'Threat assessment: ' || v_threat
             || E'\n' || 'Working strategy: ' || v_strategy || E'\n' || 'Rationale: ' || v_rationale,
             a.username, a.console_id);
  v_payload := jsonb_build_object('incident', cr_incident_json(i), 'authorisation', to_jsonb(v_auth),
                                  'role', v_role, 'chain', cr_command_chain(i.id), 'log', v_log);
  PERFORM cr_emit('command.armed_authorised', i.id::text, cr_owner_room(i), v_payload);
  RETURN v_payload;
END $$;

CREATE FUNCTION api.command_assign_role(p_incident_id bigint, p_role text, p_holder text,
    p_accredited boolean DEFAULT false, p_reason text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; i incidents; cur command_roles; src command_roles; v_new command_roles;
  v_stood command_roles; v_role text := upper(btrim(p_role)); v_holder text; v_reason text;
  v_from text; v_source text; v_text text; v_log jsonb; v_payload jsonb;
  v_accredited boolean := coalesce(p_accredited, false);
BEGIN
  PERFORM cr_require('cr_inspector', 'assign command roles');
  IF v_role IS NULL OR NOT v_role = ANY(ARRAY['GOLD','SILVER','BRONZE','SFC','TFC','ITFC','OFC']) THEN
    RAISE EXCEPTION 'Command role ''%'' is not recognised. Choose one of: GOLD, SILVER, BRONZE, SFC, TFC, ITFC, OFC.',
      p_role USING ERRCODE = 'CR400', COLUMN = 'role';
  END IF;
  v_holder := cr_text_arg(p_holder, 'Holder', 'holder', 120, true);
  IF v_holder ~ '[\n\r]' THEN
    RAISE EXCEPTION 'Holder must be one line.' USING ERRCODE = 'CR400', COLUMN = 'holder';
  END IF;
  v_reason := cr_text_arg(p_reason, 'Reason', 'reason', 1000, false);
  SELECT * INTO a FROM cr_actor();
  i := cr_command_incident(p_incident_id, true);
  IF v_role IN ('ITFC', 'TFC', 'SFC', 'OFC') THEN
    IF NOT cr_firearms_incident(i) THEN
      RAISE EXCEPTION '% is a firearms command role, and % is not a firearms incident.', v_role, i.urn
        USING ERRCODE = 'CR400', COLUMN = 'role';
    END IF;
    i := cr_command_firearms(i);
  END IF;
  IF v_role IN ('GOLD', 'SILVER', 'BRONZE') AND i.major_kind IS NULL THEN
    RAISE EXCEPTION '% is a major-incident role: declare % a major or critical incident first.', v_role, i.urn
      USING ERRCODE = 'CR400', COLUMN = 'role';
  END IF;
  cur := cr_current_role(i.id, v_role);
  IF cur.id IS NOT NULL AND cur.holder = v_holder AND cur.accredited = v_accredited THEN
    RAISE EXCEPTION '% already holds % on %.', v_holder, v_role, i.urn USING ERRCODE = 'CR400', COLUMN = 'holder';
  END IF;
  v_from := cur.holder;
  -- the first TFC takes command from the ITFC, who is stood down in the same go
  v_source := CASE v_role WHEN 'TFC' THEN 'ITFC' END;
  IF cur.id IS NULL AND v_source IS NOT NULL THEN
    src := cr_current_role(i.id, v_source);
    IF src.id IS NOT NULL THEN
      v_from := src.holder;
      v_stood := cr_insert_role(i.id, v_source, NULL, false, v_from, 'handed command to ' || v_role || ' '
                                || v_holder, a.username, a.console_id);
    END IF;
  END IF;
  v_new := cr_insert_role(i.id, v_role, v_holder, v_accredited, v_from, v_reason, a.username, a.console_id);
  v_text := 'Command handover: ' || v_role || ' from ' || coalesce(v_from, '(vacant)') || ' to ' || v_holder
            || CASE WHEN v_accredited THEN ' (accredited)' ELSE '' END || ' at '
            || to_char(v_new.at, 'HH24:MI:SS') || coalesce(', reason: ' || v_reason, '') || '.'
            || CASE WHEN v_stood.id IS NOT NULL THEN ' ' || v_source || ' stood down.' ELSE '' END;
  v_log := cr_log_entry(i.id, 'command', v_text, a.username, a.console_id);
  v_payload := cr_chain_payload(i, to_jsonb(v_new), v_log)
               || jsonb_build_object('stood_down', CASE WHEN v_stood.id IS NULL THEN NULL ELSE to_jsonb(v_stood) END);
  PERFORM cr_emit('command.role_assigned', i.id::text, cr_owner_room(i), v_payload);
  RETURN v_payload;
END $$;

CREATE FUNCTION api.command_declare_major(p_incident_id bigint, p_kind text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; i incidents; v_kind text := lower(btrim(p_kind)); v_was text; r command_roles;
  v_silver jsonb; v_log jsonb; v_payload jsonb;
BEGIN
  PERFORM cr_require('cr_inspector', 'declare major or critical incidents');
  IF v_kind IS NULL OR v_kind NOT IN ('major', 'critical') THEN
    RAISE EXCEPTION 'Kind ''%'' is not valid: use major or critical.', p_kind USING ERRCODE = 'CR400', COLUMN = 'kind';
  END IF;
  SELECT * INTO a FROM cr_actor();
  i := cr_command_incident(p_incident_id, true);
  IF i.major_kind = v_kind THEN
    RAISE EXCEPTION '% is already declared a % incident.', i.urn, v_kind USING ERRCODE = 'CR409';
  END IF;
  v_was := i.major_kind;
  UPDATE incidents SET major_kind = v_kind, updated_at = now(), updated_by = a.username WHERE id = i.id
  RETURNING * INTO i;
  IF (cr_current_role(i.id, 'SILVER')).id IS NULL THEN
    r := cr_insert_role(i.id, 'SILVER', a.username, false, NULL,
                        'control room inspector holds Silver until an accredited commander takes over',
                        a.username, a.console_id);
    v_silver := to_jsonb(r);
  END IF;
  v_log := cr_log_entry(i.id, 'command', upper(v_kind) || ' INCIDENT DECLARED'
             || coalesce(' (was ' || v_was || ')', '') || ' by ' || a.username || '.'
             || CASE WHEN v_silver IS NOT NULL THEN ' ' || a.username || ' is interim Silver.' ELSE '' END,
             a.username, a.console_id);
  v_payload := cr_chain_payload(i, v_silver, v_log);
  PERFORM cr_emit('command.major_declared', i.id::text, cr_owner_room(i), v_payload);
  RETURN v_payload || jsonb_build_object('incident', cr_incident_json(i));
END $$;

CREATE FUNCTION api.command_log_decision(p_incident_id bigint, p_stage int, p_decision text,
    p_rationale text, p_options_considered text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; i incidents; d decision_log; v_decision text; v_rationale text; v_options text;
  v_log jsonb; v_payload jsonb;
BEGIN
  PERFORM cr_require('cr_inspector', 'write the decision log');
  IF p_stage IS NULL OR p_stage NOT BETWEEN 1 AND 5 THEN
    RAISE EXCEPTION 'NDM stage ''%'' is not valid: use 1 to 5.', p_stage USING ERRCODE = 'CR400', COLUMN = 'stage';
  END IF;
  v_decision := cr_text_arg(p_decision, 'Decision', 'decision', 2000, true);
  v_rationale := cr_text_arg(p_rationale, 'Rationale', 'rationale', 4000, true);
  v_options := cr_text_arg(p_options_considered, 'Options considered', 'options_considered', 4000, false);
  SELECT * INTO a FROM cr_actor();
  i := cr_command_incident(p_incident_id, false);
  INSERT INTO decision_log (incident_id, stage, decision, rationale, options_considered, by, console_id)
  VALUES (i.id, p_stage, v_decision, v_rationale, v_options, a.username, a.console_id) RETURNING * INTO d;
  v_log := cr_log_entry(i.id, 'command', 'Decision #' || d.id || ' (NDM ' || p_stage || ': '
             || (ARRAY['Gather information and intelligence',
                       'Assess threat and risk and develop a working strategy',
                       'Consider powers and policy', 'Identify options and contingencies',
                       'Take action and review what happened'])[p_stage]
             || ') by ' || a.username || ': '
             || CASE WHEN length(v_decision) <= 300 THEN v_decision ELSE left(v_decision, 297) || '...' END,
             a.username, a.console_id);
  v_payload := to_jsonb(d) || jsonb_build_object('urn', i.urn, 'log', v_log);
  PERFORM cr_emit('command.decision', i.id::text, cr_owner_room(i), v_payload);
  RETURN v_payload;
END $$;

-- A new METHANE version: headings given replace the last version's, the rest carry over.
CREATE FUNCTION api.command_methane(p_incident_id bigint, p_fields jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; i incidents; prev methane_reports; m methane_reports; k text; v jsonb;
  v_cols text[] := ARRAY['major_incident','exact_location','incident_type','hazards','access',
                         'casualties','emergency_services'];
  v_vals jsonb := '{}'; v_payload jsonb;
BEGIN
  PERFORM cr_require('cr_inspector', 'write METHANE reports');
  IF p_fields IS NULL OR jsonb_typeof(p_fields) <> 'object' THEN
    RAISE EXCEPTION 'A METHANE report needs at least one heading filled in.' USING ERRCODE = 'CR400', COLUMN = 'fields';
  END IF;
  FOR k, v IN SELECT * FROM jsonb_each(p_fields) LOOP
    IF NOT k = ANY(v_cols) THEN
      RAISE EXCEPTION '''%'' is not a METHANE heading.', k USING ERRCODE = 'CR400', COLUMN = 'fields';
    END IF;
    IF jsonb_typeof(v) NOT IN ('string', 'null') OR length(v #>> '{}') > 2000 THEN
      RAISE EXCEPTION 'METHANE heading % must be text of at most 2000 characters.', k
        USING ERRCODE = 'CR400', COLUMN = k;
    END IF;
  END LOOP;
  SELECT * INTO a FROM cr_actor();
  i := cr_command_incident(p_incident_id, false);
  SELECT * INTO prev FROM methane_reports WHERE incident_id = i.id ORDER BY version DESC LIMIT 1;
  v_vals := jsonb_strip_nulls(coalesce(to_jsonb(prev), '{}'::jsonb)) || p_fields;
  IF NOT EXISTS (SELECT 1 FROM unnest(v_cols) c WHERE nullif(btrim(v_vals ->> c), '') IS NOT NULL) THEN
    RAISE EXCEPTION 'A METHANE report needs at least one heading filled in.' USING ERRCODE = 'CR400', COLUMN = 'fields';
  END IF;
  INSERT INTO methane_reports (incident_id, version, major_incident, exact_location, incident_type, hazards,
                               access, casualties, emergency_services, by, console_id)
  VALUES (i.id, coalesce(prev.version, 0) + 1, v_vals ->> 'major_incident', v_vals ->> 'exact_location',
          v_vals ->> 'incident_type', v_vals ->> 'hazards', v_vals ->> 'access', v_vals ->> 'casualties',
          v_vals ->> 'emergency_services', a.username, a.console_id)
  RETURNING * INTO m;
  PERFORM cr_log_entry(i.id, 'command', 'METHANE version ' || m.version || ' saved by ' || a.username || '.',
                       a.username, a.console_id);
  v_payload := to_jsonb(m) || jsonb_build_object('urn', i.urn);
  PERFORM cr_emit('command.methane', i.id::text, cr_owner_room(i), v_payload);
  RETURN v_payload;
END $$;
"""

FUNCTIONS = {
    "api.command_accept_firearms(bigint)": "cr_inspector",
    "api.command_acknowledge_firearms(bigint)": "cr_inspector",
    "api.command_authorise_armed(bigint, text, text, text)": "cr_inspector",
    "api.command_assign_role(bigint, text, text, boolean, text)": "cr_inspector",
    "api.command_declare_major(bigint, text)": "cr_inspector",
    "api.command_log_decision(bigint, int, text, text, text)": "cr_inspector",
    "api.command_methane(bigint, jsonb)": "cr_inspector",
}
INTERNAL = ("cr_command_incident(bigint, boolean)", "cr_command_firearms(incidents)",
            "cr_owner_room(incidents)", "cr_command_chain(bigint)", "cr_current_role(bigint, text)",
            "cr_insert_role(bigint, text, text, boolean, text, text, text, text)",
            "cr_chain_payload(incidents, jsonb, jsonb)", "cr_text_arg(text, text, text, int, boolean)")


def upgrade() -> None:
    op.execute(SQL)
    for fn, group in FUNCTIONS.items():
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO {group}")
    for fn in INTERNAL:
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")


def downgrade() -> None:
    for fn in (*FUNCTIONS, *INTERNAL):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
