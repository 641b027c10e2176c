"""The last direct writes go behind the database's API (issue 19).

- `api.console_heartbeat(signing_out)`: the presence beat — stamps the caller's own bound console
  (from cr_actor(), never a parameter), recomputes which rooms are staffed and announces a change
  once (`console.presence`, not audited: telemetry). How long a console counts as live is force
  policy, meta 'policy.presence_ttl_s' (read-only for consoles), so no console can declare the
  other room unstaffed by claiming a short time-to-live.
- `api.audit_disclosure(action, entity, details)`: an export, printed report or analysts' CSV is
  audited in the caller's own name (data protection); only the disclosure actions are accepted.
- With these, consoles write no table directly: `controlroom.db.roles.LEGACY_DIRECT_WRITES` is
  empty, so apply_grants revokes the last INSERT/UPDATE/DELETE and sequence grants and the legacy
  cr_emit/cr_audit (which took a claimed identity) from every job group.
"""
from __future__ import annotations

from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
INSERT INTO meta (key, value) VALUES ('policy.presence_ttl_s', '15') ON CONFLICT (key) DO NOTHING;

-- How long a console not heard from still staffs its room (force policy; invoker: consoles read meta).
CREATE FUNCTION cr_presence_ttl() RETURNS interval LANGUAGE sql STABLE
SET search_path = public, pg_temp AS $$
  SELECT make_interval(secs => greatest(0.2, least(3600,
           coalesce((SELECT value::float8 FROM meta WHERE key = 'policy.presence_ttl_s'), 15))))
$$;

CREATE FUNCTION api.console_heartbeat(p_signing_out boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v_changed jsonb;
BEGIN
  SELECT * INTO a FROM cr_actor();
  IF a.console_id IS NULL THEN
    RAISE EXCEPTION 'This console is not signed in (or another operator has taken it over): sign in again.'
      USING ERRCODE = 'CR403';
  END IF;
  UPDATE consoles SET last_seen = CASE WHEN p_signing_out THEN last_seen ELSE now() END,
                      signed_out_at = CASE WHEN p_signing_out THEN now() ELSE NULL END
   WHERE id = a.console_id;
  -- ON CONFLICT ... WHERE re-checks the row it locked: when many consoles beat at once exactly
  -- one of them sees (and announces) each change.
  WITH live AS (
    SELECT r.code,
           EXISTS (SELECT 1 FROM consoles c WHERE c.room_code = r.code AND c.signed_out_at IS NULL
                     AND c.last_seen > now() - cr_presence_ttl()) AS staffed
      FROM rooms r),
  flipped AS (
    INSERT INTO room_presence AS p (room_code, staffed, changed_at)
    SELECT code, staffed, now() FROM live
    ON CONFLICT (room_code) DO UPDATE SET staffed = EXCLUDED.staffed, changed_at = now()
      WHERE p.staffed IS DISTINCT FROM EXCLUDED.staffed
    RETURNING p.room_code, p.staffed)
  SELECT coalesce(jsonb_object_agg(room_code, staffed), '{}'::jsonb) INTO v_changed FROM flipped;
  IF v_changed <> '{}'::jsonb THEN  -- presence is telemetry, not a record: no audit row
    PERFORM cr_emit('console.presence', a.console_id, a.room_code,
                    jsonb_build_object('changed', v_changed, 'console_id', a.console_id,
                                       'room', a.room_code, 'signed_out', p_signing_out), false);
  END IF;
  RETURN v_changed;
END $$;

CREATE FUNCTION api.audit_disclosure(p_action text, p_entity text, p_details jsonb DEFAULT '{}')
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF p_action IS NULL OR p_action NOT IN ('incident.exported', 'incident.report', 'incident.csv_exported') THEN
    RAISE EXCEPTION 'Only exports, printed reports and incident lists are recorded this way.'
      USING ERRCODE = 'CR400';
  END IF;
  IF NOT pg_has_role(session_user, 'cr_auditor', 'MEMBER') THEN
    PERFORM cr_require('cr_handler', p_action);  -- everyone who works incidents may export them
  END IF;
  RETURN cr_audit(p_action, left(p_entity, 64), 'ok', coalesce(p_details, '{}'::jsonb));
END $$;

REVOKE ALL ON FUNCTION api.console_heartbeat(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.audit_disclosure(text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.console_heartbeat(boolean) TO cr_console;
GRANT EXECUTE ON FUNCTION api.audit_disclosure(text, text, jsonb) TO cr_console;
"""

DOWNGRADE_SQL = r"""
DROP FUNCTION IF EXISTS api.audit_disclosure(text, text, jsonb);
DROP FUNCTION IF EXISTS api.console_heartbeat(boolean);
DROP FUNCTION IF EXISTS cr_presence_ttl();
DELETE FROM meta WHERE key = 'policy.presence_ttl_s';
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
