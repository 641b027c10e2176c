"""simulator lease: one demo AVL simulator per database, whichever console holds the lease

Revision ID: 0025
Revises: 0024

Every demo console used to start its own unit-movement simulator (four consoles: four times the AVL
traffic, units jumping between four simulated paths). A simulator now runs only while its console
holds the row in `sim_leases`: it takes or renews the lease every few seconds (expiry = now() + ttl),
and another console's simulator takes over once the holder stops renewing (closed or crashed).
The database clock decides expiry, so consoles' clocks do not matter. Renewals are not events
(they would flood every console's log); a change of holder is, and is audited.
"""
from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

UPGRADE_SQL = r"""
CREATE TABLE sim_leases (
  name varchar(40) CONSTRAINT pk_sim_leases PRIMARY KEY,
  holder varchar(120) NOT NULL,
  username varchar(64) NOT NULL,
  console_id varchar(64),
  taken_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
GRANT SELECT ON sim_leases TO cr_console;

CREATE FUNCTION api.sim_lease_take(p_name text, p_holder text, p_ttl_s integer) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v_prev sim_leases; v_row sim_leases;
BEGIN
  PERFORM cr_require('cr_despatcher', 'sim.lease');
  IF p_name IS NULL OR p_name = '' OR p_holder IS NULL OR p_holder = '' THEN
    RAISE EXCEPTION 'A lease needs a name and a holder.' USING ERRCODE = 'CR400';
  END IF;
  IF p_ttl_s IS NULL OR p_ttl_s NOT BETWEEN 1 AND 600 THEN
    RAISE EXCEPTION 'A lease lasts 1 to 600 seconds.' USING ERRCODE = 'CR400';
  END IF;
  SELECT * INTO a FROM cr_actor();
  SELECT * INTO v_prev FROM sim_leases WHERE name = p_name FOR UPDATE;
  IF FOUND AND v_prev.holder <> p_holder AND v_prev.expires_at > now() THEN
    RETURN false;  -- someone else's simulator is alive
  END IF;
  INSERT INTO sim_leases AS l (name, holder, username, console_id, expires_at)
  VALUES (p_name, p_holder, a.username, a.console_id, now() + make_interval(secs => p_ttl_s))
  ON CONFLICT (name) DO UPDATE
     SET holder = EXCLUDED.holder, username = EXCLUDED.username, console_id = EXCLUDED.console_id,
         expires_at = EXCLUDED.expires_at,
         taken_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.taken_at ELSE now() END
   WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()  -- two first takers: one wins
  RETURNING * INTO v_row;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  IF v_prev.holder IS DISTINCT FROM p_holder THEN
    PERFORM cr_emit('sim.lease_taken', p_name, NULL,
                    jsonb_build_object('name', p_name, 'holder', p_holder, 'username', a.username,
                                       'console_id', a.console_id, 'previous', v_prev.holder));
  END IF;
  RETURN true;
END $$;
REVOKE ALL ON FUNCTION api.sim_lease_take(text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.sim_lease_take(text, text, integer) TO cr_despatcher;

CREATE FUNCTION api.sim_lease_release(p_name text, p_holder text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM cr_require('cr_despatcher', 'sim.lease');
  UPDATE sim_leases SET expires_at = now() WHERE name = p_name AND holder = p_holder;
  RETURN FOUND;
END $$;
REVOKE ALL ON FUNCTION api.sim_lease_release(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.sim_lease_release(text, text) TO cr_despatcher;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS api.sim_lease_release(text, text)")
    op.execute("DROP FUNCTION IF EXISTS api.sim_lease_take(text, text, integer)")
    op.execute("DROP TABLE IF EXISTS sim_leases")
