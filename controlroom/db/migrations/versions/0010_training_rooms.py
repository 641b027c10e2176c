"""training rooms: unit baseline for resets, the guarded reset function

Revision ID: 0010
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Where units stood when the training database was seeded: a reset puts them back there.
    op.create_table(
        "training_unit_baseline",
        sa.Column("callsign", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("area_code", sa.String(20), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("talk_group", sa.String(40), nullable=True),
        sa.Column("saved_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.PrimaryKeyConstraint("callsign", name=op.f("pk_training_unit_baseline")),
    )
    op.execute(RESET_SQL)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS cr_training_reset(text[])")
    op.drop_table("training_unit_baseline")


# The only code path that may lift the append-only triggers. It checks the database's own mode row
# (locked FOR UPDATE, so nobody can flip it mid-reset) and refuses on anything but a training
# database; trigger disabling, truncation and re-enabling happen in the caller's one transaction, so
# a failure leaves the triggers on. Tables named in p_keep (reference data) survive; every other
# table in the schema is operational and is emptied. Sequences are NOT restarted: consoles that stay
# connected keep their last-seen event seq valid and simply see the reset as new events.
# SECURITY DEFINER: consoles sign in as the least-privilege app role (no DDL, no TRUNCATE on the
# append-only tables); the function runs with its owner's rights, and its first act is the mode check.
RESET_SQL = r"""
CREATE FUNCTION cr_training_reset(p_keep text[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_mode text; v_ops text[]; v_refd text[]; v_trunc text[]; r record; t text;
  v_left text[]; v_pass int := 0;
BEGIN
  SELECT value INTO v_mode FROM meta WHERE key = 'mode' FOR UPDATE;
  IF v_mode IS DISTINCT FROM 'training' THEN
    RAISE EXCEPTION 'Only a training database can be reset; this one is %.', coalesce(v_mode, 'unmarked')
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM pg_advisory_xact_lock(7261001);  -- no event/audit append runs while we empty the tables
  SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}') INTO v_ops
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
     AND c.relname <> ALL (p_keep);
  -- Kept rows may point at operational rows (units.incident_id): cut those links first.
  FOR r IN SELECT kc.relname AS tbl, a.attname AS col
             FROM pg_constraint k
             JOIN pg_class kc ON kc.oid = k.conrelid
             JOIN pg_class rc ON rc.oid = k.confrelid
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
            WHERE k.contype = 'f' AND kc.relnamespace = rc.relnamespace
              AND kc.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
              AND kc.relname = ANY (p_keep) AND rc.relname = ANY (v_ops)
  LOOP
    EXECUTE format('UPDATE %I SET %I = NULL WHERE %I IS NOT NULL', r.tbl, r.col, r.col);
  END LOOP;
  SELECT coalesce(array_agg(DISTINCT rc.relname::text), '{}') INTO v_refd
    FROM pg_constraint k JOIN pg_class kc ON kc.oid = k.conrelid JOIN pg_class rc ON rc.oid = k.confrelid
   WHERE k.contype = 'f' AND kc.relname = ANY (p_keep) AND rc.relname = ANY (v_ops)
     AND kc.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema());
  SELECT coalesce(array_agg(x), '{}') INTO v_trunc FROM unnest(v_ops) x WHERE x <> ALL (v_refd);
  FOREACH t IN ARRAY v_ops LOOP
    EXECUTE format('ALTER TABLE %I DISABLE TRIGGER USER', t);
  END LOOP;
  IF cardinality(v_trunc) > 0 THEN
    EXECUTE 'TRUNCATE ' || (SELECT string_agg(format('%I', x), ', ') FROM unnest(v_trunc) x);
  END IF;
  -- Tables a kept table references cannot be TRUNCATEd (PostgreSQL refuses whatever the data):
  -- DELETE them, children first, retrying the ones a not-yet-emptied sibling still points at.
  v_left := v_refd;
  WHILE cardinality(v_left) > 0 AND v_pass < 10 LOOP
    v_pass := v_pass + 1;
    FOREACH t IN ARRAY v_left LOOP
      BEGIN
        EXECUTE format('DELETE FROM %I', t);
        v_left := array_remove(v_left, t);
      EXCEPTION WHEN foreign_key_violation THEN NULL;
      END;
    END LOOP;
  END LOOP;
  IF cardinality(v_left) > 0 THEN
    RAISE EXCEPTION 'Training reset could not empty: %', v_left;
  END IF;
  FOREACH t IN ARRAY v_ops LOOP
    EXECUTE format('ALTER TABLE %I ENABLE TRIGGER USER', t);
  END LOOP;
  RETURN cardinality(v_ops);
END $$;
"""
