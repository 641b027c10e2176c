"""operators are PostgreSQL login roles: no password hashes or lockout in tables, console sign-in and operator administration through api functions, no training reset in a live database

Revision ID: 0038
Revises: 0037

Issue 19, identity:
- `users` is only the directory (display name, home room). Passwords live in PostgreSQL (SCRAM,
  or the force's directory through pg_hba); job role is membership of a job group
  (cr_job_role). The application-level lockout is gone (anyone could lock the duty inspector
  out): `auth_delay` slows guessing instead.
- Operators are recognised by INHERITED membership of cr_console ('USAGE'): the schema owner
  holds ADMIN OPTION on the groups (to hand them out) and must not count as an operator.
- `api.console_sign_in(console_id)`: binds a console id to the signed-in operator, with the
  server-observed client address; one live session per console id (a console held by another
  operator who is still connected cannot be taken over).
- `api.admin_operator_*` (cr_admin): add, disable (NOLOGIN + end their sessions), enable,
  reset password, change job role; each audited. Passwords arrive as SCRAM verifiers computed
  by the client, never in clear.
- `cr_training_reset` is dropped: training-only objects are created in training databases only
  (controlroom.db.training_copy.install_training_objects), never in live.
- Policy consoles read but cannot write: meta 'policy.idle_lock_minutes'.
(The fallback switch and exercise announcements are api.room_fallback / api.training_announce.)
"""
from __future__ import annotations

from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
ALTER TABLE users DROP COLUMN IF EXISTS password_hash;
ALTER TABLE users DROP COLUMN IF EXISTS failed_attempts;
ALTER TABLE users DROP COLUMN IF EXISTS locked;
ALTER TABLE users DROP COLUMN IF EXISTS role;
ALTER TABLE consoles ADD COLUMN IF NOT EXISTS client_addr inet;
DROP FUNCTION IF EXISTS cr_training_reset(text[]);
INSERT INTO meta (key, value) VALUES ('policy.idle_lock_minutes', '10') ON CONFLICT (key) DO NOTHING;

CREATE OR REPLACE FUNCTION cr_is_operator() RETURNS boolean LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT pg_has_role(session_user, 'cr_console', 'USAGE')
         AND NOT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = session_user)
$$;

CREATE OR REPLACE FUNCTION cr_job_role(p_user name) RETURNS text LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT CASE
    WHEN pg_has_role(p_user, 'cr_trainer', 'USAGE') THEN 'trainer'
    WHEN pg_has_role(p_user, 'cr_auditor', 'USAGE') THEN 'auditor'
    WHEN pg_has_role(p_user, 'cr_inspector', 'USAGE') THEN 'inspector'
    WHEN pg_has_role(p_user, 'cr_supervisor', 'USAGE') THEN 'supervisor'
    WHEN pg_has_role(p_user, 'cr_despatcher', 'USAGE') THEN 'despatcher'
    WHEN pg_has_role(p_user, 'cr_handler', 'USAGE') THEN 'call_handler'
    WHEN pg_has_role(p_user, 'cr_admin', 'USAGE') THEN 'admin'
  END
$$;

CREATE OR REPLACE FUNCTION cr_require(p_group text, p_action text, p_entity text DEFAULT NULL) RETURNS void
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
  IF NOT pg_has_role(session_user, p_group, 'USAGE') THEN
    RAISE EXCEPTION '% may not %.', coalesce(initcap(replace(v_role, '_', ' ')) || 's', 'This login'),
      replace(p_action, '.', ' ')
      USING ERRCODE = '42501';
  END IF;
END $$;

-- Sign-in: bind this console id to the operator this session authenticated as.
CREATE FUNCTION api.console_sign_in(p_console_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_user users; v_holder text; v_role text; v_room rooms; v_seq bigint;
BEGIN
  IF NOT cr_is_operator() THEN
    RAISE EXCEPTION 'This login is not a control-room operator.' USING ERRCODE = 'CR403';
  END IF;
  IF p_console_id IS NULL OR p_console_id !~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,39}$' THEN
    RAISE EXCEPTION 'A console id is 1-40 letters, digits, dots, dashes or colons.' USING ERRCODE = 'CR400';
  END IF;
  SELECT * INTO v_user FROM users WHERE username = session_user;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'You are not in this control room''s directory of operators.' USING ERRCODE = 'CR403';
  END IF;
  v_role := cr_job_role(session_user);
  -- one live session per console: another operator still connected keeps it
  SELECT c.username INTO v_holder FROM consoles c WHERE c.id = p_console_id FOR UPDATE;
  IF v_holder IS NOT NULL AND v_holder <> session_user AND EXISTS (
      SELECT 1 FROM pg_stat_activity s WHERE s.usename = v_holder AND s.datname = current_database()
         AND s.pid <> pg_backend_pid()) THEN
    -- (the console records the refusal in a transaction of its own: this one rolls back)
    RAISE EXCEPTION 'Console % is in use by %. They must sign out first.', p_console_id, v_holder
      USING ERRCODE = 'CR409';
  END IF;
  INSERT INTO consoles (id, room_code, username, client_addr, started_at, last_seen)
  VALUES (p_console_id, v_user.home_room_code, session_user, inet_client_addr(), now(), now())
  ON CONFLICT (id) DO UPDATE SET room_code = EXCLUDED.room_code, username = EXCLUDED.username,
      client_addr = EXCLUDED.client_addr, started_at = now(), last_seen = now();
  PERFORM set_config('controlroom.console_id', p_console_id, false);
  SELECT * INTO v_room FROM rooms WHERE code = v_user.home_room_code;
  v_seq := cr_emit('console.signed_in', p_console_id, v_user.home_room_code,
                   jsonb_build_object('console_id', p_console_id, 'username', session_user::text,
                                      'role', v_role, 'room', v_user.home_room_code,
                                      'client_addr', host(inet_client_addr())));
  RETURN jsonb_build_object('username', session_user::text, 'role', v_role,
                            'display_name', v_user.display_name, 'home_room', v_user.home_room_code,
                            'room', CASE WHEN v_room.code IS NULL THEN NULL ELSE to_jsonb(v_room) END,
                            'seq', v_seq, 'mode', cr_db_mode(),
                            'client_addr', host(inet_client_addr()));
END $$;

-- The idle lock was lifted by re-entering the password (checked by a fresh SCRAM sign-in).
CREATE FUNCTION api.console_unlocked() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record;
BEGIN
  SELECT * INTO a FROM cr_actor();
  RETURN cr_emit('console.unlocked', a.console_id, a.room_code,
                 jsonb_build_object('console_id', a.console_id, 'username', a.username));
END $$;

-- ---- operator administration (cr_admin) ------------------------------------------------------
CREATE FUNCTION cr_job_group(p_job_role text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_job_role WHEN 'call_handler' THEN 'cr_handler' WHEN 'despatcher' THEN 'cr_despatcher'
    WHEN 'supervisor' THEN 'cr_supervisor' WHEN 'inspector' THEN 'cr_inspector'
    WHEN 'trainer' THEN 'cr_trainer' WHEN 'auditor' THEN 'cr_auditor' WHEN 'admin' THEN 'cr_admin' END
$$;

-- The role an admin action may touch: an operator login, never the owner, a group or a superuser.
CREATE FUNCTION cr_admin_target(p_username text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE r pg_roles;
BEGIN
  SELECT * INTO r FROM pg_roles WHERE rolname = p_username;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'No operator called %.', p_username USING ERRCODE = 'CR404';
  END IF;
  IF r.rolsuper OR r.rolcreaterole OR p_username LIKE 'cr\_%' OR p_username = current_user
     OR NOT pg_has_role(p_username, 'cr_console', 'USAGE') THEN
    RAISE EXCEPTION '% is not an operator account.', p_username USING ERRCODE = 'CR403';
  END IF;
END $$;

CREATE FUNCTION cr_check_verifier(p_verifier text) RETURNS void LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF p_verifier IS NULL OR p_verifier !~ '^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$' THEN
    RAISE EXCEPTION 'The password must be sent as a SCRAM-SHA-256 verifier.' USING ERRCODE = 'CR400';
  END IF;
END $$;

CREATE FUNCTION api.admin_operator_add(p_username text, p_display_name text, p_job_role text,
    p_home_room text DEFAULT NULL, p_verifier text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_group text := cr_job_group(p_job_role); v_created boolean := false;
BEGIN
  PERFORM cr_require('cr_admin', 'operator.add');
  IF p_username IS NULL OR p_username !~ '^[a-z0-9][a-z0-9._-]{1,62}$' OR p_username LIKE 'cr\_%'
     OR p_username LIKE 'pg\_%' OR p_username IN ('controlroom_owner', 'postgres', 'public') THEN
    RAISE EXCEPTION 'An operator name is 2-63 lower-case letters, digits, dots or dashes.' USING ERRCODE = 'CR400';
  END IF;
  IF v_group IS NULL THEN
    RAISE EXCEPTION 'Unknown job role %.', p_job_role USING ERRCODE = 'CR400';
  END IF;
  IF coalesce(btrim(p_display_name), '') = '' OR length(p_display_name) > 200 THEN
    RAISE EXCEPTION 'A display name is required (at most 200 characters).' USING ERRCODE = 'CR400';
  END IF;
  IF p_home_room IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rooms WHERE code = p_home_room) THEN
    RAISE EXCEPTION 'No room %.', p_home_room USING ERRCODE = 'CR404';
  END IF;
  IF EXISTS (SELECT 1 FROM users WHERE username = p_username) THEN
    RAISE EXCEPTION 'An operator called % is already in this directory.', p_username USING ERRCODE = 'CR409';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_username) THEN
    PERFORM cr_check_verifier(p_verifier);
    EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L IN ROLE %I',
                   p_username, p_verifier, v_group);
    v_created := true;
  ELSE  -- known on this server (another database): list them here, same login
    PERFORM cr_admin_target(p_username);
  END IF;
  INSERT INTO users (username, display_name, home_room_code) VALUES (p_username, p_display_name, p_home_room);
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), p_username);
  PERFORM cr_emit('operator.added', p_username, p_home_room,
                  jsonb_build_object('username', p_username, 'job_role', cr_job_role(p_username::name),
                                     'display_name', p_display_name, 'home_room', p_home_room,
                                     'new_login', v_created));
  RETURN jsonb_build_object('username', p_username, 'job_role', cr_job_role(p_username::name),
                            'created', v_created);
END $$;

CREATE FUNCTION api.admin_operator_disable(p_username text, p_reason text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_ended int := 0; v_pid int;
BEGIN
  PERFORM cr_require('cr_admin', 'operator.disable');
  PERFORM cr_admin_target(p_username);
  IF p_username = session_user THEN
    RAISE EXCEPTION 'You cannot disable your own account.' USING ERRCODE = 'CR409';
  END IF;
  EXECUTE format('ALTER ROLE %I NOLOGIN', p_username);
  -- their open sessions end now (every database: the login is cluster-wide). One pid at a time:
  -- never a WHERE the planner could evaluate pg_terminate_backend() in before the name test.
  FOR v_pid IN SELECT s.pid FROM pg_stat_activity s WHERE s.usename = p_username LOOP
    IF pg_terminate_backend(v_pid) THEN
      v_ended := v_ended + 1;
    END IF;
  END LOOP;
  PERFORM cr_emit('operator.disabled', p_username, NULL,
                  jsonb_build_object('username', p_username, 'reason', left(p_reason, 500),
                                     'sessions_ended', v_ended));
  RETURN jsonb_build_object('username', p_username, 'sessions_ended', v_ended);
END $$;

CREATE FUNCTION api.admin_operator_enable(p_username text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM cr_require('cr_admin', 'operator.enable');
  PERFORM cr_admin_target(p_username);
  EXECUTE format('ALTER ROLE %I LOGIN', p_username);
  PERFORM cr_emit('operator.enabled', p_username, NULL, jsonb_build_object('username', p_username));
  RETURN jsonb_build_object('username', p_username);
END $$;

CREATE FUNCTION api.admin_operator_reset(p_username text, p_verifier text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM cr_require('cr_admin', 'operator.reset');
  PERFORM cr_admin_target(p_username);
  PERFORM cr_check_verifier(p_verifier);
  EXECUTE format('ALTER ROLE %I PASSWORD %L', p_username, p_verifier);
  PERFORM cr_emit('operator.password_reset', p_username, NULL, jsonb_build_object('username', p_username));
  RETURN jsonb_build_object('username', p_username);
END $$;

CREATE FUNCTION api.admin_operator_role(p_username text, p_job_role text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_group text := cr_job_group(p_job_role); v_old text; g text;
BEGIN
  PERFORM cr_require('cr_admin', 'operator.role');
  PERFORM cr_admin_target(p_username);
  IF v_group IS NULL THEN
    RAISE EXCEPTION 'Unknown job role %.', p_job_role USING ERRCODE = 'CR400';
  END IF;
  IF p_username = session_user THEN
    RAISE EXCEPTION 'You cannot change your own job role.' USING ERRCODE = 'CR409';
  END IF;
  v_old := cr_job_role(p_username::name);
  FOREACH g IN ARRAY ARRAY['cr_handler','cr_despatcher','cr_supervisor','cr_inspector','cr_trainer',
                           'cr_auditor','cr_admin'] LOOP
    IF EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.roleid = g::regrole
                  AND m.member = p_username::regrole) THEN
      EXECUTE format('REVOKE %I FROM %I', g, p_username);
    END IF;
  END LOOP;
  EXECUTE format('GRANT %I TO %I', v_group, p_username);
  PERFORM cr_emit('operator.role_changed', p_username, NULL,
                  jsonb_build_object('username', p_username, 'from', v_old, 'to', p_job_role));
  RETURN jsonb_build_object('username', p_username, 'from', v_old, 'to', p_job_role);
END $$;

-- An audit export is itself audited.
CREATE FUNCTION api.audit_exported(p_rows integer, p_filters jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM cr_require('cr_auditor', 'audit.export');
  RETURN cr_audit('audit.exported', 'audit_log', 'ok',
                  jsonb_build_object('rows', p_rows, 'filters', p_filters));
END $$;

REVOKE ALL ON FUNCTION api.console_sign_in(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.console_unlocked() FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_operator_add(text, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_operator_disable(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_operator_enable(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_operator_reset(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.admin_operator_role(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.audit_exported(integer, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION cr_admin_target(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cr_require(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.console_sign_in(text) TO cr_console;
GRANT EXECUTE ON FUNCTION api.console_unlocked() TO cr_console;
GRANT EXECUTE ON FUNCTION api.admin_operator_add(text, text, text, text, text) TO cr_admin;
GRANT EXECUTE ON FUNCTION api.admin_operator_disable(text, text) TO cr_admin;
GRANT EXECUTE ON FUNCTION api.admin_operator_enable(text) TO cr_admin;
GRANT EXECUTE ON FUNCTION api.admin_operator_reset(text, text) TO cr_admin;
GRANT EXECUTE ON FUNCTION api.admin_operator_role(text, text) TO cr_admin;
GRANT EXECUTE ON FUNCTION api.audit_exported(integer, jsonb) TO cr_auditor;
"""

DOWNGRADE_SQL = r"""
DROP FUNCTION IF EXISTS api.audit_exported(integer, jsonb);
DROP FUNCTION IF EXISTS api.admin_operator_role(text, text);
DROP FUNCTION IF EXISTS api.admin_operator_reset(text, text);
DROP FUNCTION IF EXISTS api.admin_operator_enable(text);
DROP FUNCTION IF EXISTS api.admin_operator_disable(text, text);
DROP FUNCTION IF EXISTS api.admin_operator_add(text, text, text, text, text);
DROP FUNCTION IF EXISTS cr_check_verifier(text);
DROP FUNCTION IF EXISTS cr_admin_target(text);
DROP FUNCTION IF EXISTS cr_job_group(text);
DROP FUNCTION IF EXISTS api.console_unlocked();
DROP FUNCTION IF EXISTS api.console_sign_in(text);
ALTER TABLE consoles DROP COLUMN IF EXISTS client_addr;
DELETE FROM meta WHERE key = 'policy.idle_lock_minutes';
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    # Password hashes are not restored: operators keep authenticating as PostgreSQL roles.
    op.execute(DOWNGRADE_SQL)
