"""in-doubt writes: every API call records its request id and result in the same transaction

Revision ID: 0033
Revises: 0032

A console whose connection dies while an action is being committed (a failover, a restart) cannot
tell from the error whether it committed. Each API call therefore carries a random request id;
the statement records (request id, result) in the same transaction as the action, so after
reconnecting — to the new leader — the console asks `api.request_outcome(id)`: committed (and
here is what it returned) or not. Never both a failure and a saved action (issue 25).
"""
from __future__ import annotations

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
CREATE TABLE cr_requests (
  request_id uuid PRIMARY KEY,
  username name NOT NULL DEFAULT session_user,
  at timestamptz NOT NULL DEFAULT now(),
  result jsonb
);
REVOKE ALL ON cr_requests FROM PUBLIC;

CREATE FUNCTION cr_request_done(p_request uuid, p_result jsonb) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO cr_requests (request_id, username, result) VALUES (p_request, session_user, p_result)
  ON CONFLICT (request_id) DO NOTHING;
  IF random() < 0.0005 THEN  -- housekeeping: outcomes are needed for seconds, kept for a day
    DELETE FROM cr_requests WHERE ctid = ANY (ARRAY(
      SELECT ctid FROM cr_requests WHERE at < now() - interval '1 day' LIMIT 5000));
  END IF;
  RETURN true;
END $$;

CREATE FUNCTION api.request_outcome(p_request uuid) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT jsonb_build_object('committed', r.request_id IS NOT NULL, 'result', r.result)
  FROM (SELECT 1) one LEFT JOIN cr_requests r ON r.request_id = p_request AND r.username = session_user
$$;
REVOKE ALL ON FUNCTION cr_request_done(uuid, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION api.request_outcome(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cr_request_done(uuid, jsonb) TO cr_console, cr_gateway;
GRANT EXECUTE ON FUNCTION api.request_outcome(uuid) TO cr_console, cr_gateway;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS api.request_outcome(uuid); "
               "DROP FUNCTION IF EXISTS cr_request_done(uuid, jsonb); DROP TABLE IF EXISTS cr_requests")
