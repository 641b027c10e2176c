"""api: contacts, reclaim, prompts, victim updates, paper back-records, QA, presence

Revision ID: 0036
Revises: 0035

The rest of the incident-side writes as SECURITY DEFINER functions in schema `api` (issue 19),
each one call from its Python facade: the job group is checked by the database, identity comes
from cr_actor(), the rules live here and the policy they read is the `policy` table (0018).

- contacts: receive (priority from the channel policy, never from the client), exclusive pickup
  (SKIP LOCKED), and every move of a held contact only by the operator holding it;
- handoff: reclaim contacts of dead consoles (the dead-console time never below policy);
- prompts: the ageing / victim-update / reassessment sweep (policy from the table), acknowledge;
  victim updates and back-records of paper entries (time checks in SQL);
- QA: auditors' sample draw (audited) and reviews of closed incidents only;
- presence: console.presence telemetry for the caller's own console.
"""
from __future__ import annotations

from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
-- ---- contacts ---------------------------------------------------------------------------------
CREATE FUNCTION cr_contact_state_words(p_state text) RETURNS text LANGUAGE sql IMMUTABLE
SET search_path = public, pg_temp AS $$
  SELECT CASE p_state WHEN 'queued' THEN 'waiting in the queue' WHEN 'callback' THEN 'waiting for a call-back'
    WHEN 'taken' THEN 'taken' WHEN 'answered' THEN 'answered' WHEN 'abandoned' THEN 'abandoned'
    WHEN 'assessed' THEN 'assessed' WHEN 'resolved' THEN 'resolved' WHEN 'to_incident' THEN 'already an incident'
    ELSE p_state END
$$;

CREATE FUNCTION api.contact_receive(p_channel text, p_from_addr text, p_from_key text,
    p_text text DEFAULT NULL, p_at timestamptz DEFAULT NULL, p_flag_reason text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v contacts; v_base integer; v_at timestamptz := coalesce(p_at, now());
  v_flagged boolean := p_flag_reason IS NOT NULL;
BEGIN
  PERFORM cr_require('cr_handler', 'contact.handle');
  SELECT * INTO a FROM cr_actor();
  v_base := (cr_policy('channels') ->> p_channel)::integer;
  IF v_base IS NULL THEN
    PERFORM cr_fail('CR400', format('Channel ''%s'' is not recognised.', p_channel), 'channel');
  END IF;
  IF v_at > now() + interval '1 minute' THEN
    PERFORM cr_fail('CR400', 'A contact cannot be received in the future.', 'at');
  END IF;
  INSERT INTO contacts (channel, base_priority, priority, from_addr, from_key, text, repeat_count,
                        received_at, queue_time, flagged_emergency, needs_review, flag_reason)
  VALUES (p_channel, v_base, CASE WHEN v_flagged THEN 1 ELSE v_base END, p_from_addr, p_from_key, p_text,
          (SELECT count(*) FROM contacts p WHERE p.from_key = p_from_key
             AND p.received_at > v_at - make_interval(days => coalesce((cr_policy('contact_repeat_days'))::text::integer, 28))
             AND p.received_at <= v_at),
          v_at, v_at, v_flagged, v_flagged, p_flag_reason)
  RETURNING * INTO v;
  PERFORM cr_emit(CASE WHEN v_flagged THEN 'contact.flagged' ELSE 'contact.received' END, v.id::text,
                  a.room_code, to_jsonb(v));
  RETURN to_jsonb(v);
END $$;

-- Exclusive pickup: SKIP LOCKED lets two handlers walk the queue at once without sharing a row.
CREATE FUNCTION api.contact_next(p_skills jsonb DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v contacts;
BEGIN
  PERFORM cr_require('cr_handler', 'contact.handle');
  SELECT * INTO a FROM cr_actor();
  UPDATE contacts SET state = 'taken', taken_by = a.username, taken_console = a.console_id, taken_at = now(),
                      updated_at = now()
   WHERE id = (SELECT id FROM contacts WHERE state IN ('queued', 'callback')
                 AND (p_skills IS NULL OR p_skills ? channel)
               ORDER BY priority, queue_time, id FOR UPDATE SKIP LOCKED LIMIT 1)
     AND state IN ('queued', 'callback')
  RETURNING * INTO v;
  IF v.id IS NULL THEN RETURN NULL; END IF;
  PERFORM cr_emit('contact.taken', v.id::text, a.room_code, to_jsonb(v));
  RETURN to_jsonb(v);
END $$;

-- One conditional UPDATE + event; when the guard fails, say who or what is in the way.
-- p_set/p_guard are constants of the api.contact_* functions below ($2 = the actor, $3 = args).
CREATE FUNCTION cr_contact_move(p_id bigint, p_kind text, p_verb text, p_set text, p_guard text,
    p_args jsonb DEFAULT '{}'::jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE a record; v contacts;
BEGIN
  PERFORM cr_require('cr_handler', 'contact.handle');
  SELECT * INTO a FROM cr_actor();
  EXECUTE format('UPDATE contacts SET %s, updated_at = now() WHERE id = $1 AND %s RETURNING *', p_set, p_guard)
     INTO v USING p_id, a.username, coalesce(p_args, '{}'::jsonb);
  IF v.id IS NOT NULL THEN
    PERFORM cr_emit(p_kind, v.id::text, a.room_code, to_jsonb(v));
    RETURN to_jsonb(v);
  END IF;
  SELECT * INTO v FROM contacts WHERE id = p_id;
  IF v.id IS NULL THEN
    PERFORM cr_fail('CR404', format('No contact with reference %s.', p_id), 'id');
  END IF;
  IF p_kind LIKE 'contact.emergency%' THEN
    PERFORM cr_fail('CR400', format('Contact %s has no emergency flag waiting for review%s.', p_id,
                    coalesce(' (already ' || v.review_outcome || ')', '')), 'id');
  END IF;
  IF v.state IN ('taken', 'answered', 'assessed') AND v.taken_by IS DISTINCT FROM a.username THEN
    PERFORM cr_fail('CR409', format('Contact %s is being handled by %s (console %s).', p_id, v.taken_by,
                                    v.taken_console));
  END IF;
  PERFORM cr_fail('CR400', format('Contact %s is %s; it cannot be %s now.', p_id,
                                  cr_contact_state_words(v.state), p_verb), 'id');
  RETURN NULL;
END $$;

CREATE FUNCTION api.contact_answer(p_contact_id bigint, p_at timestamptz DEFAULT NULL) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT cr_contact_move(p_contact_id, 'contact.answered', 'answered',
    'state = ''answered'', answered_at = coalesce(($3->>''at'')::timestamptz, now())',
    'state = ''taken'' AND taken_by = $2', jsonb_build_object('at', p_at))
$$;

CREATE FUNCTION api.contact_abandon(p_contact_id bigint, p_at timestamptz DEFAULT NULL) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT cr_contact_move(p_contact_id, 'contact.abandoned', 'abandoned',
    'state = ''abandoned'', abandoned_at = coalesce(($3->>''at'')::timestamptz, now())',
    '(state IN (''queued'',''callback'') OR (state = ''taken'' AND taken_by = $2))', jsonb_build_object('at', p_at))
$$;

CREATE FUNCTION api.contact_callback(p_contact_id bigint) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT cr_contact_move(p_contact_id, 'contact.callback', 'put down for a call-back',
    'state = ''callback'', taken_by = NULL, taken_console = NULL, taken_at = NULL, '
    'callback_count = callback_count + 1, callback_at = now()',
    '(state IN (''queued'',''abandoned'') OR (state IN (''taken'',''answered'') AND taken_by = $2))')
$$;

CREATE FUNCTION api.contact_assess(p_contact_id bigint, p_thrive jsonb, p_at timestamptz DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF jsonb_typeof(p_thrive) IS DISTINCT FROM 'object' OR EXISTS (
       SELECT 1 FROM unnest(ARRAY['threat','harm','risk','investigation','vulnerability','engagement']) k
        WHERE nullif(btrim(coalesce(p_thrive->>k, '')), '') IS NULL) THEN
    PERFORM cr_fail('CR400', 'THRIVE needs threat, harm, risk, investigation, vulnerability and engagement.',
                    'thrive');
  END IF;
  RETURN cr_contact_move(p_contact_id, 'contact.assessed', 'assessed',
    'state = ''assessed'', assessed_at = coalesce(($3->>''at'')::timestamptz, now()), thrive = $3->''thrive''',
    'state IN (''taken'',''answered'') AND taken_by = $2', jsonb_build_object('at', p_at, 'thrive', p_thrive));
END $$;

CREATE FUNCTION api.contact_resolve(p_contact_id bigint, p_resolution text, p_at timestamptz DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF nullif(btrim(coalesce(p_resolution, '')), '') IS NULL THEN
    PERFORM cr_fail('CR400', 'Resolution is required.', 'resolution');
  END IF;
  RETURN cr_contact_move(p_contact_id, 'contact.resolved', 'resolved',
    'state = ''resolved'', resolution = $3->>''why'', resolved_at = coalesce(($3->>''at'')::timestamptz, now())',
    'state IN (''taken'',''answered'',''assessed'') AND taken_by = $2',
    jsonb_build_object('at', p_at, 'why', p_resolution));
END $$;

CREATE FUNCTION api.contact_to_incident(p_contact_id bigint, p_incident_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_urn text;
BEGIN
  SELECT urn INTO v_urn FROM incidents WHERE id = p_incident_id;
  IF v_urn IS NULL THEN
    PERFORM cr_fail('CR404', format('No incident with reference %s.', p_incident_id), 'incident_id');
  END IF;
  RETURN cr_contact_move(p_contact_id, 'contact.to_incident', 'turned into an incident',
    'state = ''to_incident'', incident_id = ($3->>''inc'')::bigint, resolved_at = now(), resolution = $3->>''why''',
    'state IN (''taken'',''answered'',''assessed'') AND taken_by = $2',
    jsonb_build_object('inc', p_incident_id, 'why', 'incident ' || v_urn));
END $$;

CREATE FUNCTION api.contact_confirm_emergency(p_contact_id bigint) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT cr_contact_move(p_contact_id, 'contact.emergency_confirmed', 'confirmed as an emergency',
    'needs_review = false, review_outcome = ''confirmed'', reviewed_by = $2, reviewed_at = now()', 'needs_review')
$$;

CREATE FUNCTION api.contact_dismiss_emergency(p_contact_id bigint, p_reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF nullif(btrim(coalesce(p_reason, '')), '') IS NULL THEN
    PERFORM cr_fail('CR400', 'Reason for dismissing is required.', 'reason');
  END IF;
  RETURN cr_contact_move(p_contact_id, 'contact.emergency_dismissed', 'dismissed',
    'needs_review = false, flagged_emergency = false, priority = base_priority, review_outcome = ''dismissed'', '
    'reviewed_by = $2, reviewed_at = now(), review_reason = $3->>''why''', 'needs_review',
    jsonb_build_object('why', p_reason));
END $$;

-- ---- handoff: contacts held by dead consoles go back to the queue -----------------------------
CREATE FUNCTION api.contacts_reclaim(p_dead_after_s double precision DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_dead float8; v_out jsonb;
BEGIN
  PERFORM cr_require('cr_handler', 'contact.handle');
  -- never shorter than policy: a short time would throw live consoles' calls back into the queue
  v_dead := greatest(coalesce(p_dead_after_s, 0), coalesce((cr_policy('handoff')->>'dead_after_s')::float8, 8));
  WITH dead AS (
    SELECT id FROM consoles
     WHERE (signed_out_at IS NOT NULL AND signed_out_at >= last_seen)
        OR last_seen < now() - make_interval(secs => v_dead)),
  c AS (
    UPDATE contacts c
       SET state = CASE WHEN c.state = 'taken' THEN 'queued' ELSE 'callback' END,
           callback_count = c.callback_count + (c.state <> 'taken')::int,
           callback_at = CASE WHEN c.state = 'taken' THEN c.callback_at ELSE now() END,
           reclaimed_at = now(), reclaimed_from = c.taken_console, reclaimed_user = c.taken_by,
           reclaim_count = c.reclaim_count + 1,
           taken_by = NULL, taken_console = NULL, taken_at = NULL, updated_at = now()
     WHERE c.state IN ('taken', 'answered', 'assessed') AND c.taken_console IN (SELECT id FROM dead)
    RETURNING c.*),
  e AS (
    SELECT to_jsonb(c) AS row, c.priority, c.queue_time, c.id,
           cr_emit('contact.reclaimed', c.id::text, NULL, to_jsonb(c) || jsonb_build_object(
             'reclaimed', true, 'reason', 'console ' || c.reclaimed_from || ' stopped responding')) AS seq
      FROM c)
  SELECT coalesce(jsonb_agg(e.row ORDER BY e.priority, e.queue_time, e.id), '[]'::jsonb) INTO v_out FROM e;
  RETURN v_out;
END $$;

-- ---- prompts ----------------------------------------------------------------------------------
CREATE FUNCTION cr_prompt_json(p incident_prompts) RETURNS jsonb LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT to_jsonb(p) || jsonb_build_object('urn', i.urn, 'grade', i.grade, 'status', i.status)
  FROM incidents i WHERE i.id = p.incident_id
$$;

-- Raise (once each) every prompt now due; returns the new ones (policy from the table).
CREATE FUNCTION api.prompts_check() RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; pol jsonb := coalesce(cr_policy('prompts'), '{}'::jsonb); v_out jsonb := '[]'::jsonb;
  v_rows jsonb; v_lead integer; v_win integer; v_kind text;
BEGIN
  PERFORM cr_require('cr_handler', 'incident.log');
  SELECT * INTO a FROM cr_actor();
  v_lead := coalesce((pol->'victim_update'->>'lead_minutes')::integer, 10);
  v_win := coalesce((pol->'reassessment'->>'window_hours')::integer, 24);
  v_kind := coalesce(pol->'reassessment'->>'new_info_log_kind', 'new_info');
  WITH pts AS (
    SELECT g.key AS grade, m::integer AS mins
      FROM jsonb_each(coalesce(pol->'ageing', '{}'::jsonb)) g,
           jsonb_array_elements_text(CASE WHEN jsonb_typeof(g.value) = 'array' THEN g.value ELSE '[]' END) m),
  p AS (
    INSERT INTO incident_prompts (incident_id, kind, cause, room_code, message, raised_by)
    SELECT i.id, 'ageing', i.grade || '@' || pts.mins, ar.room_code,
           i.grade || ' ' || i.urn || ' (' || i.incident_type || ') not despatched after ' || pts.mins || ' min',
           a.username
      FROM incidents i JOIN pts ON pts.grade = i.grade JOIN areas ar ON ar.code = i.area_code
     WHERE i.status = 'open' AND i.created_at <= now() - make_interval(mins => pts.mins)
    ON CONFLICT DO NOTHING RETURNING *),
  e AS (SELECT p.id, cr_prompt_json(p) || jsonb_build_object('seq',
          cr_emit('prompt.raised', p.id::text, p.room_code, cr_prompt_json(p))) AS row FROM p)
  SELECT coalesce(jsonb_agg(e.row ORDER BY e.id), '[]') INTO v_rows FROM e;
  v_out := v_out || v_rows;
  -- victim update: due `lead` minutes before the time the caller was given (else the grade deadline)
  WITH due AS (
    SELECT i.id, i.urn, ar.room_code, coalesce(v.promised_at, i.deadline_at) AS promised
      FROM incidents i JOIN areas ar ON ar.code = i.area_code LEFT JOIN victim_promises v ON v.incident_id = i.id
     WHERE i.status IN ('open', 'despatched') AND i.arrived_at IS NULL
       AND (v.promised_at IS NOT NULL OR i.grade IN ('G1', 'G2', 'G3'))
       AND coalesce(v.promised_at, i.deadline_at) - make_interval(mins => v_lead) <= now()),
  p AS (
    INSERT INTO incident_prompts (incident_id, kind, cause, room_code, message, raised_by)
    SELECT id, 'victim_update', 'eta:' || floor(extract(epoch FROM promised))::bigint, room_code,
           'Victim update due on ' || urn || ': the caller expects attendance by '
             || to_char(promised AT TIME ZONE 'Europe/London', 'HH24:MI') || ' and nobody has arrived',
           a.username
      FROM due
    ON CONFLICT DO NOTHING RETURNING *),
  e AS (SELECT p.id, cr_prompt_json(p) || jsonb_build_object('seq',
          cr_emit('prompt.raised', p.id::text, p.room_code, cr_prompt_json(p))) AS row FROM p)
  SELECT coalesce(jsonb_agg(e.row ORDER BY e.id), '[]') INTO v_rows FROM e;
  v_out := v_out || v_rows;
  -- new information since the latest THRIVE: a linked call, a new-information log entry, a repeat call
  WITH src AS (
    SELECT l.a_id AS incident_id, 'link:' || l.id AS cause, l.at, 'new call linked (' || o.urn || ')' AS what
      FROM incident_links l JOIN incidents o ON o.id = l.b_id WHERE l.at > now() - make_interval(hours => v_win)
    UNION ALL
    SELECT l.incident_id, 'log:' || l.id, l.at, 'new information: ' || left(l.text, 80)
      FROM incident_log l WHERE l.kind = v_kind AND l.at > now() - make_interval(hours => v_win)
    UNION ALL
    SELECT i.id, 'contact:' || c.id, c.received_at, 'repeat call from ' || c.from_addr
      FROM contacts c JOIN incidents i
        ON i.caller_phone = ANY(ARRAY[c.from_key, '+44' || substr(c.from_key, 2), '44' || substr(c.from_key, 2)])
     WHERE c.received_at > now() - make_interval(hours => v_win) AND c.received_at > i.created_at
       AND i.status <> 'closed' AND c.incident_id IS DISTINCT FROM i.id),
  p AS (
    INSERT INTO incident_prompts (incident_id, kind, cause, room_code, message, raised_by)
    SELECT s.incident_id, 'reassess', s.cause, ar.room_code,
           'THRIVE reassessment needed on ' || i.urn || ': ' || s.what, a.username
      FROM src s JOIN incidents i ON i.id = s.incident_id JOIN areas ar ON ar.code = i.area_code
     WHERE i.status <> 'closed'
       AND s.at > coalesce((SELECT max(t.at) FROM incident_thrive t WHERE t.incident_id = s.incident_id),
                           '-infinity'::timestamptz)
    ON CONFLICT DO NOTHING RETURNING *),
  e AS (SELECT p.id, cr_prompt_json(p) || jsonb_build_object('seq',
          cr_emit('prompt.raised', p.id::text, p.room_code, cr_prompt_json(p))) AS row FROM p)
  SELECT coalesce(jsonb_agg(e.row ORDER BY e.id), '[]') INTO v_rows FROM e;
  RETURN v_out || v_rows;
END $$;

CREATE FUNCTION api.prompt_acknowledge(p_prompt_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v incident_prompts; v_out jsonb;
BEGIN
  PERFORM cr_require('cr_handler', 'incident.log');
  SELECT * INTO a FROM cr_actor();
  UPDATE incident_prompts SET acknowledged_at = coalesce(acknowledged_at, now()),
         acknowledged_by = coalesce(acknowledged_by, a.username)
   WHERE id = p_prompt_id RETURNING * INTO v;
  IF v.id IS NULL THEN
    PERFORM cr_fail('CR404', format('No prompt %s.', p_prompt_id), 'id');
  END IF;
  v_out := cr_prompt_json(v);
  PERFORM cr_emit('prompt.acknowledged', v.id::text, v.room_code, v_out);
  RETURN v_out;
END $$;

-- The time the caller was told and/or the update given to the victim (resolves victim-update prompts).
CREATE FUNCTION api.incident_victim_update(p_incident_id bigint, p_line text, p_update text DEFAULT NULL,
    p_promised_at timestamptz DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v incidents; v_room text; v_resolved jsonb := '[]'::jsonb; v_log incident_log;
BEGIN
  PERFORM cr_require('cr_handler', 'incident.log');
  SELECT * INTO a FROM cr_actor();
  IF p_update IS NULL AND p_promised_at IS NULL THEN
    PERFORM cr_fail('CR400', 'Give the time the caller was told.', 'promised_at');
  END IF;
  IF nullif(btrim(coalesce(p_line, '')), '') IS NULL THEN
    PERFORM cr_fail('CR400', 'Victim update is required.', 'text');
  END IF;
  IF p_promised_at > now() + interval '31 days' THEN
    PERFORM cr_fail('CR400', 'The time given to the caller is too far ahead; check the date.', 'new_eta');
  END IF;
  v := cr_lock_incident(p_incident_id);
  SELECT room_code INTO v_room FROM areas WHERE code = v.area_code;
  IF p_promised_at IS NOT NULL THEN
    INSERT INTO victim_promises (incident_id, promised_at, set_by) VALUES (p_incident_id, p_promised_at, a.username)
    ON CONFLICT (incident_id) DO UPDATE SET promised_at = EXCLUDED.promised_at, set_by = EXCLUDED.set_by,
                                            set_at = now();
  END IF;
  IF p_update IS NOT NULL THEN
    WITH r AS (UPDATE incident_prompts SET resolved_at = now(), resolved_by = a.username, resolution = left(p_update, 500)
                WHERE incident_id = p_incident_id AND kind = 'victim_update' AND resolved_at IS NULL RETURNING id)
    SELECT coalesce(jsonb_agg(id ORDER BY id), '[]') INTO v_resolved FROM r;
  END IF;
  v_log := cr_log(p_incident_id, 'victim_update', p_line);
  PERFORM cr_emit('incident.logged', p_incident_id::text, v_room, jsonb_build_object(
    'incident_id', p_incident_id, 'log_id', v_log.id, 'kind', 'victim_update', 'text', v_log.text,
    'at', v_log.at, 'username', v_log.username, 'resolved_prompts', v_resolved, 'promised_at', p_promised_at));
  RETURN to_jsonb(v_log);
END $$;

-- ---- paper fallback: re-key a paper entry with the time it was written -----------------------
CREATE FUNCTION api.incident_back_record(p_incident_id bigint, p_text text, p_original_at timestamptz)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v incidents; v_room text; v_log incident_log;
BEGIN
  PERFORM cr_require('cr_handler', 'incident.log');
  SELECT * INTO a FROM cr_actor();
  IF p_original_at IS NULL THEN
    PERFORM cr_fail('CR400', 'Give the time written on the paper log, with its time zone.', 'original_at');
  END IF;
  IF nullif(btrim(coalesce(p_text, '')), '') IS NULL THEN
    PERFORM cr_fail('CR400', 'Log entry is required.', 'text');
  END IF;
  SELECT * INTO v FROM incidents WHERE id = p_incident_id;
  IF v.id IS NULL THEN
    PERFORM cr_fail('CR404', format('No incident with reference %s.', p_incident_id), 'id');
  END IF;
  IF p_original_at > now() + interval '1 minute' THEN
    PERFORM cr_fail('CR400', 'The paper time is in the future; check the date and time.', 'original_at');
  END IF;
  IF p_original_at < v.created_at - interval '2 days' THEN
    PERFORM cr_fail('CR400', 'The paper time is long before the incident was opened; check the date.',
                    'original_at');
  END IF;
  SELECT room_code INTO v_room FROM areas WHERE code = v.area_code;
  INSERT INTO incident_log (incident_id, username, console_id, kind, text, original_at)
  VALUES (p_incident_id, a.username, a.console_id, 'back_record', left(p_text, 4000), p_original_at)
  RETURNING * INTO v_log;
  PERFORM cr_emit('incident.logged', p_incident_id::text, v_room, jsonb_build_object(
    'incident_id', p_incident_id, 'log_id', v_log.id, 'kind', 'back_record', 'text', v_log.text,
    'at', v_log.at, 'original_at', v_log.original_at, 'back_record', true, 'username', v_log.username));
  RETURN to_jsonb(v_log);
END $$;

-- ---- QA sampling by data auditors ---------------------------------------------------------------
CREATE FUNCTION api.qa_sample(p_percent double precision, p_since timestamptz DEFAULT NULL,
    p_until timestamptz DEFAULT NULL, p_seed double precision DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_total bigint; v_size bigint; v_items jsonb;
BEGIN
  PERFORM cr_require('cr_auditor', 'audit.qa');
  IF p_percent IS NULL OR NOT (p_percent > 0 AND p_percent <= 100) THEN
    PERFORM cr_fail('CR400', 'Sample size must be a percentage above 0 and at most 100.', 'percent');
  END IF;
  IF p_seed IS NOT NULL AND NOT (p_seed BETWEEN -1 AND 1) THEN
    PERFORM cr_fail('CR400', 'A repeatable sample needs a seed between -1 and 1.', 'seed');
  END IF;
  SELECT count(*) INTO v_total FROM incidents
   WHERE status = 'closed' AND (p_since IS NULL OR closed_at >= p_since) AND (p_until IS NULL OR closed_at <= p_until);
  v_size := CASE WHEN v_total = 0 THEN 0 ELSE least(v_total, ceil(v_total * p_percent / 100)::bigint) END;
  IF p_seed IS NOT NULL THEN PERFORM setseed(p_seed); END IF;  -- same seed, same draw
  SELECT coalesce(jsonb_agg(x ORDER BY x.closed_at, x.id), '[]') INTO v_items FROM (
    SELECT i.id, i.urn, i.incident_type, i.grade, i.summary, i.created_at, i.closed_at, i.closing_code,
           i.room_code, (SELECT count(*) FROM qa_reviews q WHERE q.incident_id = i.id) AS reviews
      FROM incidents i
     WHERE i.status = 'closed' AND (p_since IS NULL OR i.closed_at >= p_since)
       AND (p_until IS NULL OR i.closed_at <= p_until)
     ORDER BY random() LIMIT v_size) x;
  PERFORM cr_audit('qa.sampled', 'incidents', 'ok', jsonb_build_object('percent', p_percent, 'closed', v_total,
    'seed', p_seed, 'urns', coalesce((SELECT jsonb_agg(e->'urn') FROM (SELECT e FROM jsonb_array_elements(v_items) e
                                                                      LIMIT 500) s), '[]')));
  RETURN v_items;
END $$;

CREATE FUNCTION api.qa_record_review(p_incident_id bigint, p_checklist jsonb, p_outcome text, p_findings text,
    p_sample_percent double precision DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v incidents; v_room text; v_row qa_reviews; v_out jsonb;
BEGIN
  PERFORM cr_require('cr_auditor', 'audit.qa');
  SELECT * INTO a FROM cr_actor();
  IF jsonb_typeof(p_checklist) IS DISTINCT FROM 'object' OR EXISTS (
       SELECT 1 FROM jsonb_each(p_checklist) e WHERE jsonb_typeof(e.value) <> 'boolean') THEN
    PERFORM cr_fail('CR400', 'Answer every checklist item yes or no.', 'checklist');
  END IF;
  IF p_outcome IS NULL OR p_outcome NOT IN ('compliant', 'advice', 'non_compliant') THEN
    PERFORM cr_fail('CR400', 'Outcome must be one of: Compliant, Advice given, Not compliant.', 'outcome');
  END IF;
  IF nullif(btrim(coalesce(p_findings, '')), '') IS NULL THEN
    PERFORM cr_fail('CR400', 'Findings are required.', 'findings');
  END IF;
  SELECT * INTO v FROM incidents WHERE id = p_incident_id;
  IF v.id IS NULL THEN
    PERFORM cr_fail('CR404', format('No incident with reference %s.', p_incident_id), 'id');
  END IF;
  IF v.status <> 'closed' THEN
    PERFORM cr_fail('CR400', format('Incident %s is not closed; only closed incidents are reviewed.', v.urn), 'id');
  END IF;
  INSERT INTO qa_reviews (incident_id, sample_percent, checklist, outcome, findings, by, console_id)
  VALUES (p_incident_id, p_sample_percent, p_checklist, p_outcome, p_findings, a.username, a.console_id)
  RETURNING * INTO v_row;
  SELECT room_code INTO v_room FROM areas WHERE code = v.area_code;
  v_out := to_jsonb(v_row) || jsonb_build_object('urn', v.urn);
  PERFORM cr_emit('qa.reviewed', p_incident_id::text, v_room, v_out);
  RETURN v_out;
END $$;

-- ---- presence (telemetry, not audited) ---------------------------------------------------------
CREATE FUNCTION api.console_presence(p_incident_id bigint DEFAULT NULL, p_typing boolean DEFAULT false)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v_name text;
BEGIN
  SELECT * INTO a FROM cr_actor();
  IF a.console_id IS NULL THEN
    PERFORM cr_fail('CR400', 'This session holds no console.', 'console_id');
  END IF;
  UPDATE consoles SET last_seen = now() WHERE id = a.console_id;
  SELECT display_name INTO v_name FROM users WHERE username = a.username;
  RETURN cr_emit('console.presence', a.console_id, a.room_code, jsonb_build_object(
    'console_id', a.console_id, 'username', a.username, 'display_name', coalesce(v_name, ''),
    'room', a.room_code, 'incident_id', p_incident_id,
    'typing', coalesce(p_typing, false) AND p_incident_id IS NOT NULL), false);
END $$;
"""

API = {
    "api.contact_receive(text, text, text, text, timestamptz, text)": "cr_handler",
    "api.contact_next(jsonb)": "cr_handler",
    "api.contact_answer(bigint, timestamptz)": "cr_handler",
    "api.contact_abandon(bigint, timestamptz)": "cr_handler",
    "api.contact_callback(bigint)": "cr_handler",
    "api.contact_assess(bigint, jsonb, timestamptz)": "cr_handler",
    "api.contact_resolve(bigint, text, timestamptz)": "cr_handler",
    "api.contact_to_incident(bigint, bigint)": "cr_handler",
    "api.contact_confirm_emergency(bigint)": "cr_handler",
    "api.contact_dismiss_emergency(bigint, text)": "cr_handler",
    "api.contacts_reclaim(double precision)": "cr_handler",
    "api.prompts_check()": "cr_handler",
    "api.prompt_acknowledge(bigint)": "cr_handler",
    "api.incident_victim_update(bigint, text, text, timestamptz)": "cr_handler",
    "api.incident_back_record(bigint, text, timestamptz)": "cr_handler",
    "api.qa_sample(double precision, timestamptz, timestamptz, double precision)": "cr_auditor",
    "api.qa_record_review(bigint, jsonb, text, text, double precision)": "cr_auditor",
    "api.console_presence(bigint, boolean)": "cr_console",
}
INTERNAL = ("cr_contact_move(bigint, text, text, text, text, jsonb)",)


def upgrade() -> None:
    op.execute(UPGRADE_SQL)
    out = [f"REVOKE ALL ON FUNCTION {f} FROM PUBLIC;" for f in INTERNAL]
    for f, group in API.items():
        out += [f"REVOKE ALL ON FUNCTION {f} FROM PUBLIC;", f"GRANT EXECUTE ON FUNCTION {f} TO {group};"]
    op.execute("\n".join(out))


def downgrade() -> None:
    for f in API:
        op.execute(f"DROP FUNCTION IF EXISTS {f}")
    for f in ("cr_prompt_json(incident_prompts)", *INTERNAL, "cr_contact_state_words(text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {f}")
