"""workforce plans: a supervisor publishes the week's forecast and staffing gap to the rooms

Revision ID: 0028
Revises: 0027
"""
from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
CREATE TABLE workforce_plans (
  id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT pk_workforce_plans PRIMARY KEY,
  line varchar(32) NOT NULL,
  horizon varchar(12) NOT NULL,
  week_start date NOT NULL,
  origin date NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now(),
  published_by varchar(64) NOT NULL,
  -- totals and the per-interval staff required / rostered, as the publisher saw them
  summary jsonb NOT NULL,
  CONSTRAINT ck_workforce_plans_horizon CHECK (horizon IN ('long', 'medium', 'short', 'real_time')),
  CONSTRAINT ck_workforce_plans_summary CHECK (jsonb_typeof(summary) = 'object' AND octet_length(summary::text) < 200000)
);
CREATE INDEX ix_workforce_plans_week_start ON workforce_plans (week_start, line);

CREATE FUNCTION api.workforce_publish(p_line text, p_horizon text, p_week_start date, p_origin date,
    p_summary jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_me record; v_row workforce_plans; v_brief jsonb;
BEGIN
  PERFORM cr_require('cr_supervisor', 'workforce.publish');
  SELECT * INTO v_me FROM cr_actor();
  IF coalesce(btrim(p_line), '') = '' OR p_week_start IS NULL OR p_origin IS NULL OR p_summary IS NULL THEN
    RAISE EXCEPTION 'A published plan needs its line, week, forecast origin and figures.' USING ERRCODE = 'CR400';
  END IF;
  IF p_horizon IS NULL OR p_horizon NOT IN ('long', 'medium', 'short', 'real_time') THEN
    RAISE EXCEPTION 'Unknown forecast horizon.' USING ERRCODE = 'CR400';
  END IF;
  INSERT INTO workforce_plans (line, horizon, week_start, origin, published_by, summary)
  VALUES (btrim(p_line), p_horizon, p_week_start, p_origin, v_me.username, p_summary)
  RETURNING * INTO v_row;
  v_brief := (to_jsonb(v_row) - 'summary') || (p_summary - 'required' - 'rostered');
  PERFORM cr_emit('workforce.published', v_row.id::text, NULL, v_brief);
  RETURN v_brief;
END $$;
REVOKE ALL ON FUNCTION api.workforce_publish(text, text, date, date, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.workforce_publish(text, text, date, date, jsonb) TO cr_supervisor;
GRANT SELECT ON workforce_plans TO cr_console;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS api.workforce_publish(text, text, date, date, jsonb)")
    op.execute("DROP TABLE IF EXISTS workforce_plans")
