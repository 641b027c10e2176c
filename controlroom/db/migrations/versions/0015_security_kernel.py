"""security kernel: job groups, the `api` schema, identity from session_user, an ordering lock consoles cannot take

Revision ID: 0015
Revises: 0014

The database is the security boundary (DESIGN §3). This revision lays the kernel every write
action builds on:

- job groups (NOLOGIN roles; membership gives the ladder): cr_handler ⊂ cr_despatcher ⊂
  cr_supervisor ⊂ cr_inspector; cr_trainer, cr_auditor, cr_admin; every operator is in cr_console.
- `cr_actor()`: who is acting, derived from `session_user` (an operator login role) and the
  console bound to it — never from a parameter.
- `cr_emit()` / `cr_audit()`: event + hash-chained audit row. The ordering lock is the row lock
  on `event_head` (a table consoles cannot write), which also allocates seq and audit ids: no
  advisory lock or sequence a console could hold or reset.
- `cr_require(group, action)`: refuse with SQLSTATE 42501 and an operator-facing message.
- schema `api`: the only place consoles may call to change anything.

Old callers pass username/role/console to cr_emit/cr_audit; those parameters are ignored whenever
the caller is an operator (a member of cr_console): only the schema owner's own scripts (seeding,
the demand generator) can still name an actor.
"""
from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

GROUPS = ("cr_console", "cr_handler", "cr_despatcher", "cr_supervisor", "cr_inspector",
          "cr_trainer", "cr_auditor", "cr_admin")

UPGRADE_SQL = r"""
DO $$
DECLARE g text;
BEGIN
  FOREACH g IN ARRAY ARRAY['cr_console','cr_handler','cr_despatcher','cr_supervisor','cr_inspector',
                           'cr_trainer','cr_auditor','cr_admin'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = g) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', g);
    END IF;
  END LOOP;
END $$;
-- memberships give the ladder (granted once per cluster: roles are cluster-wide); a trainer runs
-- exercises with an inspector's rights, in training databases only (cr_require)
DO $$
DECLARE m text[];
BEGIN
  FOREACH m SLICE 1 IN ARRAY ARRAY[['cr_handler','cr_console'], ['cr_trainer','cr_console'],
      ['cr_auditor','cr_console'], ['cr_admin','cr_console'], ['cr_despatcher','cr_handler'],
      ['cr_supervisor','cr_despatcher'], ['cr_inspector','cr_supervisor'],
      ['cr_trainer','cr_inspector']] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid
                   JOIN pg_roles u ON u.oid = am.member WHERE u.rolname = m[1] AND r.rolname = m[2]) THEN
      EXECUTE format('GRANT %I TO %I', m[2], m[1]);
    END IF;
  END LOOP;
END $$;

CREATE SCHEMA IF NOT EXISTS api;
REVOKE ALL ON SCHEMA api FROM PUBLIC;
GRANT USAGE ON SCHEMA api TO cr_console;

-- The one serial point: seq and audit id allocation under this row's lock (held to COMMIT).
CREATE TABLE event_head (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  seq bigint NOT NULL,
  audit_id bigint NOT NULL,
  audit_hash text NOT NULL
);
INSERT INTO event_head (seq, audit_id, audit_hash)
SELECT greatest((SELECT coalesce(max(seq), 0) FROM events),
                (SELECT last_value FROM events_seq WHERE is_called)),
       greatest((SELECT coalesce(max(id), 0) FROM audit_log),
                (SELECT last_value FROM audit_log_id_seq WHERE is_called)),
       coalesce((SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), repeat('0', 64));
REVOKE ALL ON event_head FROM PUBLIC;

-- Who is acting: the operator this database session authenticated as.
-- (superusers count as members of every role, so they are excluded: a DBA is not an operator)
CREATE FUNCTION cr_is_operator() RETURNS boolean LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT pg_has_role(session_user, 'cr_console', 'MEMBER')
         AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
$$;

CREATE FUNCTION cr_job_role(p_user name) RETURNS text LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT CASE
    WHEN pg_has_role(p_user, 'cr_trainer', 'MEMBER') THEN 'trainer'
    WHEN pg_has_role(p_user, 'cr_auditor', 'MEMBER') THEN 'auditor'
    WHEN pg_has_role(p_user, 'cr_inspector', 'MEMBER') THEN 'inspector'
    WHEN pg_has_role(p_user, 'cr_supervisor', 'MEMBER') THEN 'supervisor'
    WHEN pg_has_role(p_user, 'cr_despatcher', 'MEMBER') THEN 'despatcher'
    WHEN pg_has_role(p_user, 'cr_handler', 'MEMBER') THEN 'call_handler'
    WHEN pg_has_role(p_user, 'cr_admin', 'MEMBER') THEN 'admin'
  END
$$;

CREATE FUNCTION cr_db_mode() RETURNS text LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT value FROM meta WHERE key = 'mode'
$$;

CREATE FUNCTION cr_actor(OUT username text, OUT role text, OUT console_id text, OUT room_code text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_console text := nullif(current_setting('controlroom.console_id', true), '');
BEGIN
  IF NOT cr_is_operator() THEN
    -- not an operator: the schema owner's own tools (seeding, generators) and, until every
    -- console signs in as its operator, the legacy shared login. They name the actor themselves.
    username := coalesce(nullif(current_setting('controlroom.user', true), ''), session_user);
    role := nullif(current_setting('controlroom.role', true), '');
    console_id := v_console;
    SELECT u.home_room_code INTO room_code FROM users u WHERE u.username = cr_actor.username;
    RETURN;
  END IF;
  username := session_user;
  role := cr_job_role(session_user);
  SELECT u.home_room_code INTO room_code FROM users u WHERE u.username = session_user;
  -- the console counts only while this operator holds it (bound at sign-in)
  SELECT c.id INTO console_id FROM consoles c WHERE c.id = v_console AND c.username = session_user;
END $$;

CREATE OR REPLACE FUNCTION cr_audit_row(p_username text, p_role text, p_console text, p_room text,
    p_action text, p_entity text, p_outcome text, p_details jsonb) RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_id bigint; v_prev text; v_hash text; v_at timestamptz := now();
BEGIN
  UPDATE event_head SET audit_id = audit_id + 1 RETURNING audit_id, audit_hash INTO v_id, v_prev;
  v_hash := encode(sha256(convert_to(cr_audit_text(v_id, v_at, p_username, p_role, p_console,
                 p_room, p_action, p_entity, p_outcome, coalesce(p_details, '{}'::jsonb), v_prev),
                 'UTF8')), 'hex');
  INSERT INTO audit_log (id, at, username, role, console_id, room_code, action, entity, outcome,
                         details, prev_hash, hash)
  VALUES (v_id, v_at, p_username, p_role, p_console, p_room, p_action, p_entity, p_outcome,
          coalesce(p_details, '{}'::jsonb), v_prev, v_hash);
  UPDATE event_head SET audit_hash = v_hash;
  RETURN v_id;
END $$;

CREATE FUNCTION cr_event_row(p_kind text, p_entity_id text, p_room text, p_payload jsonb,
    p_username text, p_role text, p_console text, p_audit boolean, p_details jsonb) RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  v_seq bigint;
BEGIN
  UPDATE event_head SET seq = seq + 1 RETURNING seq INTO v_seq;  -- the ordering lock, to COMMIT
  INSERT INTO events (seq, at, kind, entity_id, room_code, console_id, username, payload)
  VALUES (v_seq, now(), p_kind, p_entity_id, p_room, p_console, p_username,
          coalesce(p_payload, '{}'::jsonb));
  IF p_audit THEN
    PERFORM cr_audit_row(p_username, p_role, p_console, p_room, p_kind,
                         split_part(p_kind, '.', 1) || ':' || coalesce(p_entity_id, ''), 'ok',
                         coalesce(p_details, p_payload));
  END IF;
  -- a wake-up only: listeners read the rows (the content of a NOTIFY is never trusted)
  PERFORM pg_notify('controlroom', json_build_object('seq', v_seq)::text);
  RETURN v_seq;
END $$;

-- The API functions' way to append an event: identity from cr_actor().
CREATE FUNCTION cr_emit(p_kind text, p_entity_id text, p_room text, p_payload jsonb,
    p_audit boolean DEFAULT true, p_details jsonb DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record;
BEGIN
  SELECT * INTO a FROM cr_actor();
  RETURN cr_event_row(p_kind, p_entity_id, p_room, p_payload, a.username, a.role, a.console_id,
                      p_audit, p_details);
END $$;

CREATE FUNCTION cr_audit(p_action text, p_entity text, p_outcome text, p_details jsonb)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record;
BEGIN
  SELECT * INTO a FROM cr_actor();
  RETURN cr_audit_row(a.username, a.role, a.console_id, a.room_code, p_action, p_entity,
                      p_outcome, p_details);
END $$;

-- Legacy forms (callers still naming the actor): an operator's claim is ignored.
DROP FUNCTION cr_emit(text, text, text, jsonb, text, text, text, boolean, jsonb);
CREATE FUNCTION cr_emit(p_kind text, p_entity_id text, p_room text, p_payload jsonb,
    p_username text, p_role text, p_console text, p_audit boolean DEFAULT true,
    p_details jsonb DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record;
BEGIN
  IF cr_is_operator() THEN
    SELECT * INTO a FROM cr_actor();
    RETURN cr_event_row(p_kind, p_entity_id, p_room, p_payload, a.username, a.role,
                        a.console_id, p_audit, p_details);
  END IF;
  RETURN cr_event_row(p_kind, p_entity_id, p_room, p_payload, p_username, p_role, p_console,
                      p_audit, p_details);
END $$;

DROP FUNCTION cr_audit(text, text, text, text, text, text, text, jsonb);
CREATE FUNCTION cr_audit(p_username text, p_role text, p_console text, p_room text,
    p_action text, p_entity text, p_outcome text, p_details jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record;
BEGIN
  IF cr_is_operator() THEN
    SELECT * INTO a FROM cr_actor();
    RETURN cr_audit_row(a.username, a.role, a.console_id, a.room_code, p_action, p_entity,
                        p_outcome, p_details);
  END IF;
  RETURN cr_audit_row(p_username, p_role, p_console, p_room, p_action, p_entity, p_outcome,
                      p_details);
END $$;

-- Refuse unless the caller is in the job group (and trainers only in training databases).
CREATE FUNCTION cr_require(p_group text, p_action text, p_entity text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_role text;
BEGIN
  IF NOT cr_is_operator() THEN
    RETURN;  -- only the schema owner's own scripts (seeding, tools) reach here: EXECUTE is per group
  END IF;
  v_role := cr_job_role(session_user);
  IF v_role = 'trainer' AND cr_db_mode() IS DISTINCT FROM 'training' THEN
    RAISE EXCEPTION 'Trainers work in training rooms only; this is the live system.'
      USING ERRCODE = '42501';
  END IF;
  IF NOT pg_has_role(session_user, p_group, 'MEMBER') THEN
    RAISE EXCEPTION '% may not %.', coalesce(initcap(replace(v_role, '_', ' ')) || 's', 'This login'),
      replace(p_action, '.', ' ')
      USING ERRCODE = '42501';
  END IF;
END $$;

-- A refusal must be recorded even though the refused action rolled back: the console records
-- it in a transaction of its own, in its own name (it cannot name anyone else).
CREATE FUNCTION api.record_refusal(p_action text, p_entity text, p_details jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  RETURN cr_audit(left(p_action, 64), left(p_entity, 64), 'refused', p_details);
END $$;

-- The first API action (the pattern every write follows): append to an incident's log.
CREATE FUNCTION api.incident_add_log(p_incident_id bigint, p_text text, p_kind text DEFAULT 'note')
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v_entry incident_log; v_room text;
BEGIN
  PERFORM cr_require('cr_handler', 'incident.log');
  SELECT * INTO a FROM cr_actor();
  SELECT ar.room_code INTO v_room FROM incidents i JOIN areas ar ON ar.code = i.area_code
   WHERE i.id = p_incident_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No incident with reference %.', p_incident_id USING ERRCODE = 'CR404';
  END IF;
  INSERT INTO incident_log (incident_id, username, console_id, kind, text)
  VALUES (p_incident_id, a.username, a.console_id, coalesce(p_kind, 'note'), p_text)
  RETURNING * INTO v_entry;
  PERFORM cr_emit('incident.logged', p_incident_id::text, v_room,
                  jsonb_build_object('incident_id', p_incident_id, 'log_id', v_entry.id,
                                     'kind', v_entry.kind, 'text', v_entry.text, 'at', v_entry.at,
                                     'username', v_entry.username));
  RETURN to_jsonb(v_entry);
END $$;
REVOKE ALL ON FUNCTION api.incident_add_log(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.incident_add_log(bigint, text, text) TO cr_handler;

REVOKE ALL ON FUNCTION cr_event_row(text, text, text, jsonb, text, text, text, boolean, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION cr_audit_row(text, text, text, text, text, text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION cr_emit(text, text, text, jsonb, boolean, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION cr_audit(text, text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION cr_actor() FROM PUBLIC;
REVOKE ALL ON FUNCTION cr_require(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.record_refusal(text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cr_actor() TO cr_console;
GRANT EXECUTE ON FUNCTION api.record_refusal(text, text, jsonb) TO cr_console;
"""

DOWNGRADE_SQL = r"""
DROP FUNCTION IF EXISTS api.record_refusal(text, text, jsonb);
DROP FUNCTION IF EXISTS cr_require(text, text, text);
DROP FUNCTION IF EXISTS cr_audit(text, text, text, jsonb);
DROP FUNCTION IF EXISTS cr_emit(text, text, text, jsonb, boolean, jsonb);
DROP FUNCTION IF EXISTS cr_actor();
DROP FUNCTION IF EXISTS cr_db_mode();
DROP FUNCTION IF EXISTS cr_job_role(name);
DROP FUNCTION IF EXISTS cr_is_operator();
SELECT setval('events_seq', (SELECT seq FROM event_head), true);
SELECT setval('audit_log_id_seq', (SELECT audit_id FROM event_head), true);
DROP TABLE IF EXISTS event_head;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    # The legacy cr_emit/cr_audit keep their names and signatures; only their bodies changed.
    op.execute(DOWNGRADE_SQL)
    op.execute("DROP SCHEMA IF EXISTS api CASCADE")
