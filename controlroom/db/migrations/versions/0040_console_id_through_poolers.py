"""The console a call comes from survives a transaction pooler (issue 25).

Consoles name their console once per connection (`controlroom.console_id`, set at connect). Behind
PgBouncer in transaction mode a console's statements run on whichever server connection of its
operator's pool is free, where a session setting made by another client connection may or may
not be present. PgBouncer does carry `application_name` per client (it is one of the parameters
it tracks and re-sets on the server connection for each transaction), so consoles also connect
with `application_name = 'controlroom:<console id>'`, and cr_actor() takes the console from there
first. As before, the claim counts only while the console is bound to this same operator
(api.console_sign_in): an operator can never act as another operator's console.
"""
from __future__ import annotations

from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

ACTOR = r"""
CREATE OR REPLACE FUNCTION cr_actor(OUT username text, OUT role text, OUT console_id text, OUT room_code text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_console text := coalesce(
  substring(current_setting('application_name', true) FROM '^controlroom:([A-Za-z0-9][A-Za-z0-9._:-]{0,39})$'),
  nullif(current_setting('controlroom.console_id', true), ''));
BEGIN
  IF NOT cr_is_operator() THEN
    -- not an operator: the schema owner's own tools (seeding, generators). They name the actor themselves.
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
"""

OLD_ACTOR = r"""
CREATE OR REPLACE FUNCTION cr_actor(OUT username text, OUT role text, OUT console_id text, OUT room_code text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_console text := nullif(current_setting('controlroom.console_id', true), '');
BEGIN
  IF NOT cr_is_operator() THEN
    username := coalesce(nullif(current_setting('controlroom.user', true), ''), session_user);
    role := nullif(current_setting('controlroom.role', true), '');
    console_id := v_console;
    SELECT u.home_room_code INTO room_code FROM users u WHERE u.username = cr_actor.username;
    RETURN;
  END IF;
  username := session_user;
  role := cr_job_role(session_user);
  SELECT u.home_room_code INTO room_code FROM users u WHERE u.username = session_user;
  SELECT c.id INTO console_id FROM consoles c WHERE c.id = v_console AND c.username = session_user;
END $$;
"""


def upgrade() -> None:
    op.execute(ACTOR)


def downgrade() -> None:
    op.execute(OLD_ACTOR)
