"""api: talk groups (allocate / release / move units / patch / unpatch / radio log) in the database

Revision ID: 0029
Revises: 0028

Each write is ONE SECURITY DEFINER function (issue 19), despatchers and up. Exclusivity stays the
database's: a free pool group is taken with SKIP LOCKED and `incident_id IS NULL` re-checked under
the row lock, plus the partial unique indexes of 0007. Live databases allocate from the incident
pool, training databases from the training groups — decided by the database's own mode, not by
the console. `cr_talkgroups_release_all(incident_id, reason)` frees every group of an incident
(incident close calls it in its own transaction).
"""
from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

SQL = r"""
CREATE FUNCTION cr_talkgroup_pool() RETURNS text LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT CASE WHEN cr_db_mode() = 'training' THEN 'training' ELSE 'incident' END
$$;

-- The full state of one group (the payload consoles read; same keys as group_dict()).
CREATE FUNCTION cr_talkgroup_json(p_name text) RETURNS jsonb LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object('name', t.name, 'kind', t.kind, 'incident_id', t.incident_id, 'urn', i.urn,
    'area_code', t.area_code, 'description', t.description, 'allocated_at', t.allocated_at,
    'allocated_by', al.allocated_by, 'incident_area_code', i.area_code,
    'room_code', CASE WHEN t.incident_id IS NOT NULL
                        THEN coalesce((SELECT a.room_code FROM areas a WHERE a.code = i.area_code), i.room_code)
                      WHEN t.kind = 'primary' AND t.area_code IS NOT NULL
                        THEN coalesce((SELECT a.room_code FROM areas a WHERE a.code = t.area_code), t.room_code)
                      ELSE t.room_code END,
    'units', coalesce((SELECT jsonb_agg(u.callsign ORDER BY u.callsign) FROM units u
                       WHERE u.status <> 'off_duty' AND (u.talk_group = t.name
                         OR (u.talk_group IS NULL AND t.kind = 'primary' AND u.area_code = t.area_code))),
                      '[]'::jsonb),
    'patched_with', coalesce((SELECT jsonb_agg(CASE WHEN p.incident_group = t.name THEN p.other_group
                                                    ELSE p.incident_group END ORDER BY p.id)
                              FROM talk_group_patches p WHERE p.unpatched_at IS NULL
                                AND t.name IN (p.incident_group, p.other_group)), '[]'::jsonb))
  FROM talk_groups t
  LEFT JOIN incidents i ON i.id = t.incident_id
  LEFT JOIN talk_group_allocations al ON al.talk_group = t.name AND al.released_at IS NULL
  WHERE t.name = p_name
$$;

CREATE FUNCTION cr_talkgroup_name(p_name text, p_field text DEFAULT 'name') RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE v text := upper(btrim(p_name));
BEGIN
  IF v IS NULL OR v !~ '^[A-Z0-9][A-Z0-9-]{0,39}$' THEN
    RAISE EXCEPTION '''%'' is not a talk-group name (letters, digits and dashes).', p_name
      USING ERRCODE = 'CR400', COLUMN = p_field;
  END IF;
  RETURN v;
END $$;

-- A group this console may use: it exists, and training groups only in a training database.
CREATE FUNCTION cr_talkgroup_usable(p_name text, p_field text DEFAULT 'name') RETURNS talk_groups
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE t talk_groups;
BEGIN
  SELECT * INTO t FROM talk_groups WHERE name = p_name FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No talk group called %.', p_name USING ERRCODE = 'CR404', COLUMN = p_field;
  END IF;
  IF (t.kind = 'training') <> (cr_db_mode() = 'training') THEN
    RAISE EXCEPTION '% is a % talk group; not usable from this console.', p_name,
      CASE WHEN t.kind = 'training' THEN 'training' ELSE 'live' END USING ERRCODE = 'CR400', COLUMN = p_field;
  END IF;
  RETURN t;
END $$;

-- Free one group of one incident: history, patches, units back to primary, log, event.
CREATE FUNCTION cr_talkgroup_release(p_incident_id bigint, p_name text, p_reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; i incidents; v_unpatched text[]; v_returned jsonb; v_line text; v_payload jsonb;
BEGIN
  SELECT * INTO a FROM cr_actor();
  SELECT * INTO i FROM incidents WHERE id = p_incident_id;
  UPDATE talk_groups SET incident_id = NULL, allocated_at = NULL
   WHERE name = p_name AND incident_id = p_incident_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  UPDATE talk_group_allocations SET released_at = now(), released_by = a.username, release_reason = p_reason
   WHERE talk_group = p_name AND released_at IS NULL;
  WITH x AS (UPDATE talk_group_patches SET unpatched_at = now(), unpatched_by = a.username
              WHERE incident_group = p_name AND unpatched_at IS NULL RETURNING other_group)
  SELECT coalesce(array_agg(other_group ORDER BY other_group), '{}') INTO v_unpatched FROM x;
  -- units left on a released group go back to their area's primary (NULL = primary)
  WITH r AS (UPDATE units u SET talk_group = NULL WHERE talk_group = p_name
             RETURNING u.callsign, (SELECT p.name FROM talk_groups p WHERE p.kind = 'primary'
                                    AND p.area_code = u.area_code LIMIT 1) AS "to")
  SELECT coalesce(jsonb_agg(jsonb_build_object('callsign', callsign, 'to', "to") ORDER BY callsign), '[]')
    INTO v_returned FROM r;
  v_line := 'Talk group ' || p_name || CASE WHEN p_reason = 'closed' THEN ' incident closed' ELSE ' released' END;
  IF jsonb_array_length(v_returned) > 0 THEN
    v_line := v_line || '; ' || (SELECT string_agg(e ->> 'callsign', ', ' ORDER BY e ->> 'callsign')
                                 FROM jsonb_array_elements(v_returned) e) || ' back to primary';
  END IF;
  IF cardinality(v_unpatched) > 0 THEN
    v_line := v_line || '; patch with ' || array_to_string(v_unpatched, ', ') || ' ended';
  END IF;
  PERFORM cr_log_entry(p_incident_id, 'talkgroup', v_line || '.', a.username, a.console_id);
  v_payload := cr_talkgroup_json(p_name) || jsonb_build_object(
    'released_from', jsonb_build_object('incident_id', p_incident_id, 'urn', i.urn), 'reason', p_reason,
    'unpatched', to_jsonb(v_unpatched), 'units_returned', v_returned);
  PERFORM cr_emit('talkgroup.released', p_name, cr_owner_room(i), v_payload);
  RETURN v_payload;
END $$;

CREATE FUNCTION cr_talkgroups_release_all(p_incident_id bigint, p_reason text DEFAULT 'closed') RETURNS text[]
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_name text; v_out text[] := '{}';
BEGIN
  FOR v_name IN SELECT name FROM talk_groups WHERE incident_id = p_incident_id ORDER BY name FOR UPDATE LOOP
    IF cr_talkgroup_release(p_incident_id, v_name, p_reason) IS NOT NULL THEN
      v_out := v_out || v_name;
    END IF;
  END LOOP;
  RETURN v_out;
END $$;

CREATE FUNCTION api.talkgroup_allocate(p_incident_id bigint, p_name text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; i incidents; v_pool text := cr_talkgroup_pool(); v_name text; v_got text; g record;
  v_held text; v_total int; v_n int; v_group jsonb;
BEGIN
  PERFORM cr_require('cr_despatcher', 'allocate talk groups');
  v_name := CASE WHEN p_name IS NULL THEN NULL ELSE cr_talkgroup_name(p_name) END;
  -- FOR SHARE: a concurrent close (an UPDATE of this row) waits for us or we see it closed
  SELECT * INTO i FROM incidents WHERE id = p_incident_id FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No incident with reference %.', p_incident_id USING ERRCODE = 'CR404', COLUMN = 'incident_id';
  END IF;
  IF i.status = 'closed' THEN
    RAISE EXCEPTION '% is closed; talk groups go to open incidents only.', i.urn
      USING ERRCODE = 'CR400', COLUMN = 'incident_id';
  END IF;
  IF v_name IS NULL THEN
    UPDATE talk_groups t SET incident_id = i.id, allocated_at = now()
     WHERE t.name = (SELECT name FROM talk_groups WHERE kind = v_pool AND incident_id IS NULL
                     ORDER BY name FOR UPDATE SKIP LOCKED LIMIT 1)
       AND t.incident_id IS NULL
    RETURNING t.name INTO v_got;
    IF v_got IS NULL THEN
      SELECT count(*) INTO v_total FROM talk_groups WHERE kind = v_pool;
      SELECT string_agg(x.name || ' ' || x.urn, ', ' ORDER BY x.name) FILTER (WHERE x.rn <= 6),
             count(*) INTO v_held, v_n
        FROM (SELECT tg.name, o.urn, row_number() OVER (ORDER BY tg.name) AS rn
                FROM talk_groups tg JOIN incidents o ON o.id = tg.incident_id WHERE tg.kind = v_pool) x;
      IF v_n > 6 THEN
        v_held := v_held || ', … ' || (v_n - 6) || ' more';
      END IF;
      RAISE EXCEPTION 'No % talk groups free: all % are allocated (%). Release one from a finished incident first.',
        v_pool, v_total, coalesce(v_held, '') USING ERRCODE = 'CR409';
    END IF;
  ELSE
    UPDATE talk_groups SET incident_id = i.id, allocated_at = now()
     WHERE name = v_name AND kind = v_pool AND incident_id IS NULL RETURNING name INTO v_got;
    IF v_got IS NULL THEN
      SELECT tg.kind, tg.incident_id, o.urn, al.allocated_by INTO g FROM talk_groups tg
        LEFT JOIN incidents o ON o.id = tg.incident_id
        LEFT JOIN talk_group_allocations al ON al.talk_group = tg.name AND al.released_at IS NULL
       WHERE tg.name = v_name;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'No talk group called %.', v_name USING ERRCODE = 'CR404', COLUMN = 'name';
      END IF;
      IF g.kind = 'training' AND v_pool <> 'training' THEN
        RAISE EXCEPTION '% is a training talk group; it cannot be allocated from a live console.', v_name
          USING ERRCODE = 'CR400', COLUMN = 'name';
      END IF;
      IF g.kind = 'incident' AND v_pool = 'training' THEN
        RAISE EXCEPTION '% is a live talk group; a training console may not allocate it.', v_name
          USING ERRCODE = 'CR400', COLUMN = 'name';
      END IF;
      IF g.kind <> v_pool THEN
        RAISE EXCEPTION '% is a % talk group; only % talk groups are allocated (patch partner and hailing groups instead).',
          v_name, g.kind, v_pool USING ERRCODE = 'CR400', COLUMN = 'name';
      END IF;
      RAISE EXCEPTION '% is already allocated to% % by %.', v_name,
        CASE WHEN g.incident_id = i.id THEN ' this incident' ELSE '' END, g.urn,
        coalesce(g.allocated_by, 'another console') USING ERRCODE = 'CR409';
    END IF;
  END IF;
  SELECT * INTO a FROM cr_actor();
  INSERT INTO talk_group_allocations (talk_group, incident_id, allocated_by, console_id)
  VALUES (v_got, i.id, a.username, a.console_id);
  PERFORM cr_log_entry(i.id, 'talkgroup', 'Talk group ' || v_got || ' allocated.', a.username, a.console_id);
  v_group := cr_talkgroup_json(v_got);
  PERFORM cr_emit('talkgroup.allocated', v_got, v_group ->> 'room_code', v_group || jsonb_build_object(
    'incident', jsonb_build_object('id', i.id, 'urn', i.urn, 'status', i.status, 'room_code', i.room_code,
                                   'area_code', i.area_code)));
  RETURN v_group;
END $$;

CREATE FUNCTION api.talkgroup_release(p_incident_id bigint, p_name text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE i incidents; v_name text := cr_talkgroup_name(p_name); v_out jsonb; h record;
BEGIN
  PERFORM cr_require('cr_despatcher', 'release talk groups');
  SELECT * INTO i FROM incidents WHERE id = p_incident_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No incident with reference %.', p_incident_id USING ERRCODE = 'CR404', COLUMN = 'incident_id';
  END IF;
  v_out := cr_talkgroup_release(i.id, v_name, 'released');
  IF v_out IS NULL THEN
    SELECT t.incident_id, o.urn INTO h FROM talk_groups t LEFT JOIN incidents o ON o.id = t.incident_id
     WHERE t.name = v_name;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'No talk group called %.', v_name USING ERRCODE = 'CR404', COLUMN = 'name';
    END IF;
    RAISE EXCEPTION '% is not allocated to % (it is %); nothing released.', v_name, i.urn,
      CASE WHEN h.incident_id IS NULL THEN 'free' ELSE 'allocated to ' || h.urn END
      USING ERRCODE = 'CR400', COLUMN = 'name';
  END IF;
  RETURN v_out;
END $$;

CREATE FUNCTION api.talkgroup_move_units(p_name text, p_callsigns jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; t talk_groups; v_name text := cr_talkgroup_name(p_name); v_calls text[]; v_missing text;
  v_moved jsonb; v_group jsonb;
BEGIN
  PERFORM cr_require('cr_despatcher', 'move units between talk groups');
  IF p_callsigns IS NULL OR jsonb_typeof(p_callsigns) <> 'array' THEN
    RAISE EXCEPTION 'Give the callsigns as a list.' USING ERRCODE = 'CR400', COLUMN = 'callsigns';
  END IF;
  SELECT array_agg(DISTINCT upper(btrim(x))) INTO v_calls FROM jsonb_array_elements_text(p_callsigns) x;
  IF coalesce(cardinality(v_calls), 0) = 0 THEN
    RAISE EXCEPTION 'Name at least one unit to move.' USING ERRCODE = 'CR400', COLUMN = 'callsigns';
  END IF;
  IF cardinality(v_calls) > 200 THEN
    RAISE EXCEPTION 'Too many units in one move (%; at most 200).', cardinality(v_calls)
      USING ERRCODE = 'CR400', COLUMN = 'callsigns';
  END IF;
  t := cr_talkgroup_usable(v_name);
  IF t.kind IN ('incident', 'training') AND t.incident_id IS NULL THEN
    RAISE EXCEPTION '% is not allocated to an incident; allocate it before moving units onto it.', v_name
      USING ERRCODE = 'CR400', COLUMN = 'name';
  END IF;
  SELECT string_agg(c, ', ' ORDER BY c) INTO v_missing FROM unnest(v_calls) c
   WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.callsign = c);
  IF v_missing IS NOT NULL THEN
    RAISE EXCEPTION 'Unknown callsign(s): %; nobody was moved.', v_missing USING ERRCODE = 'CR400', COLUMN = 'callsigns';
  END IF;
  WITH old AS (SELECT x.callsign, coalesce(x.talk_group, (SELECT p.name FROM talk_groups p WHERE p.kind = 'primary'
                 AND p.area_code = x.area_code LIMIT 1)) AS prev
                 FROM units x WHERE x.callsign = ANY(v_calls) ORDER BY x.callsign FOR UPDATE),
       m AS (UPDATE units u SET talk_group = v_name FROM old WHERE u.callsign = old.callsign
             RETURNING u.callsign, old.prev)
  SELECT jsonb_agg(jsonb_build_object('callsign', callsign, 'from', prev) ORDER BY callsign) INTO v_moved FROM m;
  SELECT * INTO a FROM cr_actor();
  IF t.incident_id IS NOT NULL THEN
    PERFORM cr_log_entry(t.incident_id, 'talkgroup', (SELECT string_agg(c, ', ' ORDER BY c) FROM unnest(v_calls) c)
                         || ' moved to talk group ' || v_name || '.', a.username, a.console_id);
  END IF;
  v_group := cr_talkgroup_json(v_name);
  PERFORM cr_emit('talkgroup.units_moved', v_name, v_group ->> 'room_code',
                  v_group || jsonb_build_object('moved', v_moved));
  RETURN v_group;
END $$;

CREATE FUNCTION api.talkgroup_patch(p_a text, p_b text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; ta talk_groups; tb talk_groups; v_a text := cr_talkgroup_name(p_a, 'a');
  v_b text := cr_talkgroup_name(p_b, 'b'); v_inc text; v_other text; v_incident bigint; v_id bigint;
  h record; v_group jsonb;
BEGIN
  PERFORM cr_require('cr_despatcher', 'patch talk groups');
  IF v_a = v_b THEN
    RAISE EXCEPTION 'A talk group cannot be patched to itself.' USING ERRCODE = 'CR400', COLUMN = 'b';
  END IF;
  -- both rows shared-locked in name order
  PERFORM 1 FROM talk_groups WHERE name IN (v_a, v_b) ORDER BY name FOR SHARE;
  ta := cr_talkgroup_usable(v_a, 'a');
  tb := cr_talkgroup_usable(v_b, 'b');
  IF ta.kind IN ('incident', 'training') AND tb.kind IN ('partner', 'hailing') THEN
    v_inc := v_a; v_other := v_b; v_incident := ta.incident_id;
  ELSIF tb.kind IN ('incident', 'training') AND ta.kind IN ('partner', 'hailing') THEN
    v_inc := v_b; v_other := v_a; v_incident := tb.incident_id;
  ELSE
    RAISE EXCEPTION 'A patch links one incident talk group with one partner or hailing group (% is %, % is %).',
      v_a, ta.kind, v_b, tb.kind USING ERRCODE = 'CR400', COLUMN = 'b';
  END IF;
  IF v_incident IS NULL THEN
    RAISE EXCEPTION '% is not allocated to an incident; allocate it first.', v_inc USING ERRCODE = 'CR400', COLUMN = 'a';
  END IF;
  SELECT * INTO a FROM cr_actor();
  INSERT INTO talk_group_patches (incident_group, other_group, incident_id, patched_by)
  VALUES (v_inc, v_other, v_incident, a.username)
  ON CONFLICT (other_group) WHERE unpatched_at IS NULL DO NOTHING RETURNING id INTO v_id;
  IF v_id IS NULL THEN
    SELECT p.incident_group, o.urn INTO h FROM talk_group_patches p JOIN incidents o ON o.id = p.incident_id
     WHERE p.other_group = v_other AND p.unpatched_at IS NULL;
    RAISE EXCEPTION '% is already patched to % (%); unpatch it there first.', v_other, h.incident_group, h.urn
      USING ERRCODE = 'CR409';
  END IF;
  PERFORM cr_log_entry(v_incident, 'talkgroup', 'Talk group ' || v_other || ' patched to ' || v_inc || '.',
                       a.username, a.console_id);
  v_group := cr_talkgroup_json(v_inc);
  PERFORM cr_emit('talkgroup.patched', v_inc, v_group ->> 'room_code', v_group || jsonb_build_object(
    'patched', v_other, 'linked', true, 'other', cr_talkgroup_json(v_other)));
  RETURN v_group;
END $$;

CREATE FUNCTION api.talkgroup_unpatch(p_a text, p_b text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; r record; v_a text := cr_talkgroup_name(p_a, 'a'); v_b text := cr_talkgroup_name(p_b, 'b');
  v_group jsonb;
BEGIN
  PERFORM cr_require('cr_despatcher', 'patch talk groups');
  SELECT * INTO a FROM cr_actor();
  UPDATE talk_group_patches SET unpatched_at = now(), unpatched_by = a.username
   WHERE unpatched_at IS NULL AND ((incident_group = v_a AND other_group = v_b)
                                   OR (incident_group = v_b AND other_group = v_a))
  RETURNING incident_group, other_group, incident_id INTO r;
  IF NOT FOUND THEN
    RAISE EXCEPTION '% and % are not patched together.', v_a, v_b USING ERRCODE = 'CR400', COLUMN = 'b';
  END IF;
  PERFORM cr_log_entry(r.incident_id, 'talkgroup', 'Patch of ' || r.other_group || ' to ' || r.incident_group
                       || ' ended.', a.username, a.console_id);
  v_group := cr_talkgroup_json(r.incident_group);
  PERFORM cr_emit('talkgroup.patched', r.incident_group, v_group ->> 'room_code', v_group || jsonb_build_object(
    'patched', r.other_group, 'linked', false, 'other', cr_talkgroup_json(r.other_group)));
  RETURN v_group;
END $$;

CREATE FUNCTION api.talkgroup_log(p_name text, p_text text, p_callsign text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v_name text := cr_talkgroup_name(p_name); v_text text; v_cs text; x talkgroup_transmissions;
  v_room text;
BEGIN
  PERFORM cr_require('cr_despatcher', 'write the radio log');
  v_text := cr_text_arg(p_text, 'Radio log entry', 'text', 2000, true);
  v_cs := upper(btrim(p_callsign));
  IF v_cs IS NOT NULL AND v_cs !~ '^[A-Z0-9]{1,16}$' THEN
    RAISE EXCEPTION '''%'' is not a callsign.', p_callsign USING ERRCODE = 'CR400', COLUMN = 'callsigns';
  END IF;
  SELECT * INTO a FROM cr_actor();
  INSERT INTO talkgroup_transmissions (talk_group, incident_id, username, console_id, callsign, text)
  SELECT name, incident_id, a.username, a.console_id, v_cs, v_text FROM talk_groups WHERE name = v_name
  RETURNING * INTO x;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No talk group called %.', v_name USING ERRCODE = 'CR404', COLUMN = 'name';
  END IF;
  IF x.incident_id IS NOT NULL THEN
    PERFORM cr_log_entry(x.incident_id, 'radio', '[' || v_name || '] ' || coalesce(v_cs || ': ', '') || v_text,
                         a.username, a.console_id);
    SELECT room_code INTO v_room FROM incidents WHERE id = x.incident_id;
  END IF;
  PERFORM cr_emit('talkgroup.transmission', v_name, v_room, to_jsonb(x));
  RETURN to_jsonb(x);
END $$;
"""

FUNCTIONS = ("api.talkgroup_allocate(bigint, text)", "api.talkgroup_release(bigint, text)",
             "api.talkgroup_move_units(text, jsonb)", "api.talkgroup_patch(text, text)",
             "api.talkgroup_unpatch(text, text)", "api.talkgroup_log(text, text, text)")
INTERNAL = ("cr_talkgroup_pool()", "cr_talkgroup_json(text)", "cr_talkgroup_name(text, text)",
            "cr_talkgroup_usable(text, text)", "cr_talkgroup_release(bigint, text, text)",
            "cr_talkgroups_release_all(bigint, text)")


def upgrade() -> None:
    op.execute(SQL)
    for fn in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO cr_despatcher")
    for fn in INTERNAL:
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")


def downgrade() -> None:
    for fn in (*FUNCTIONS, *INTERNAL):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
