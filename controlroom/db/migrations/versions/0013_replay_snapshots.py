"""replay: baseline snapshots of the virtual room, taken by the database itself

Revision ID: 0013
Revises: 0001

The event log says how the room changed, not where it started: the units' seeded positions, the
areas' owners and the talk groups exist before the first event. `cr_replay_baseline()` writes the
whole replayable state (areas, units, talk groups, patches, open incidents, command roles) as one
JSON document at the current event seq, in ONE statement under the event-append lock, so the
document and its seq are consistent. It runs automatically when a database is first seeded (insert
of meta 'seeded'), after every training reset, and here for databases seeded before this revision.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FUNCTIONS_SQL = """
CREATE FUNCTION cr_replay_baseline(p_kind text DEFAULT 'baseline') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE v_seq bigint;
BEGIN
  -- The append lock: every transaction that emitted has committed, so rows and seq agree.
  PERFORM pg_advisory_xact_lock(7261001);
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

CREATE FUNCTION cr_replay_baseline_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM cr_replay_baseline(TG_ARGV[0]);
  RETURN NULL;
END $$;

CREATE TRIGGER replay_baseline_on_seed AFTER INSERT ON meta
  FOR EACH ROW WHEN (NEW.key = 'seeded') EXECUTE FUNCTION cr_replay_baseline_trigger('baseline');
CREATE TRIGGER replay_baseline_on_training_reset AFTER INSERT ON events
  FOR EACH ROW WHEN (NEW.kind = 'training.reset') EXECUTE FUNCTION cr_replay_baseline_trigger('reset');
"""


def upgrade() -> None:
    op.create_table(
        "replay_snapshots",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("taken_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, server_default="baseline"),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_replay_snapshots"),
    )
    op.create_index("ix_replay_snapshots_seq", "replay_snapshots", ["seq"])
    op.execute(FUNCTIONS_SQL)
    # Databases seeded before this revision: history starts at this baseline.
    op.execute("SELECT cr_replay_baseline('baseline') FROM meta WHERE key = 'seeded'")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS replay_baseline_on_training_reset ON events")
    op.execute("DROP TRIGGER IF EXISTS replay_baseline_on_seed ON meta")
    op.execute("DROP FUNCTION IF EXISTS cr_replay_baseline_trigger()")
    op.execute("DROP FUNCTION IF EXISTS cr_replay_baseline(text)")
    op.drop_index("ix_replay_snapshots_seq", table_name="replay_snapshots")
    op.drop_table("replay_snapshots")
