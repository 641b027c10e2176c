"""api: replay baselines taken under the kernel's ordering lock; capture is an API action

Revision ID: 0034
Revises: 0033

cr_replay_baseline (0013) waited for in-flight events with pg_advisory_xact_lock(7261001), the
ordering lock before the security kernel. Since 0015 the order is the row lock on event_head (no
advisory lock a console can take or that orders anything): the baseline now takes that row lock,
so the document and its seq stay consistent. Capturing a baseline on demand is
api.replay_capture_baseline() (inspectors and auditors; trainers in training databases).
"""
from __future__ import annotations

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

SQL = r"""
CREATE OR REPLACE FUNCTION cr_replay_baseline(p_kind text DEFAULT 'baseline') RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE v_seq bigint;
BEGIN
  -- The ordering lock: every transaction that emitted has committed, so rows and seq agree.
  PERFORM 1 FROM event_head FOR UPDATE;
  INSERT INTO replay_snapshots (seq, kind, state)
  SELECT s.seq, p_kind, jsonb_build_object(
    'areas', (SELECT coalesce(jsonb_object_agg(code, room_code), '{}'::jsonb) FROM areas),
    'units', (SELECT coalesce(jsonb_agg(to_jsonb(u) ORDER BY u.callsign), '[]'::jsonb) FROM units u),
    'talk_groups', (SELECT coalesce(jsonb_agg(jsonb_build_object('name', t.name, 'kind', t.kind,
                      'area_code', t.area_code, 'incident_id', t.incident_id) ORDER BY t.name), '[]'::jsonb)
                    FROM talk_groups t),
    'patches', (SELECT coalesce(jsonb_agg(jsonb_build_object('incident_group', p.incident_group,
                  'other_group', p.other_group) ORDER BY p.id), '[]'::jsonb)
                FROM talk_group_patches p WHERE p.unpatched_at IS NULL),
    'incidents', (SELECT coalesce(jsonb_agg(to_jsonb(i) ORDER BY i.id), '[]'::jsonb)
                  FROM incidents i WHERE i.status <> 'closed'),
    'command_roles', (SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.id), '[]'::jsonb)
                      FROM command_roles r JOIN incidents i ON i.id = r.incident_id
                      WHERE i.status <> 'closed'))
  FROM (SELECT coalesce(max(seq), 0) AS seq FROM events) s
  RETURNING seq INTO v_seq;
  RETURN v_seq;
END $$;
REVOKE ALL ON FUNCTION cr_replay_baseline(text) FROM PUBLIC;

CREATE FUNCTION api.replay_capture_baseline() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_role text;
BEGIN
  IF cr_is_operator() THEN
    v_role := cr_job_role(session_user);
    IF NOT (v_role IN ('inspector', 'auditor') OR (v_role = 'trainer' AND cr_db_mode() = 'training')) THEN
      RAISE EXCEPTION '% may not capture replay baselines.',
        coalesce(initcap(replace(v_role, '_', ' ')) || 's', 'This login') USING ERRCODE = '42501';
    END IF;
  END IF;
  RETURN cr_replay_baseline('baseline');
END $$;
REVOKE ALL ON FUNCTION api.replay_capture_baseline() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.replay_capture_baseline() TO cr_inspector, cr_auditor;
"""


def upgrade() -> None:
    op.execute(SQL)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS api.replay_capture_baseline()")
