"""api: areas changing hands (transfer / take over / hand back), the live fallback switch and the
trainer's scenario announcements, in the database

Revision ID: 0032
Revises: 0031

Area ownership changes only through these functions (issue 19): a supervisor transfers one area,
an inspector takes every area over to their own room (cr_actor's room, never a parameter) or hands
them all back. One go moves the areas, their open incidents, writes area_transfers, the incidents'
log lines and the room.* event whose "area_rooms" every console applies.
The fallback switch (meta, which consoles cannot write) is an inspector's, on live databases only;
scenario announcements are a trainer's, on training databases only — both decided by the
database's own mode.
"""
from __future__ import annotations

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

SQL = r"""
CREATE FUNCTION cr_move_areas(p_kind text, p_codes text[], p_froms text[], p_tos text[], p_reason text,
    p_to_room text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE a record; v_ids bigint[]; v_per jsonb; v_names jsonb; v_area_rooms jsonb; v_moved jsonb;
  v_payload jsonb; v_seq bigint;
BEGIN
  SELECT * INTO a FROM cr_actor();
  UPDATE areas ar SET room_code = m.to_room FROM unnest(p_codes, p_tos) AS m(code, to_room) WHERE ar.code = m.code;
  -- open incidents follow their area; closed ones keep the room that handled them
  WITH inc AS (UPDATE incidents i SET room_code = ar.room_code FROM areas ar
                WHERE ar.code = i.area_code AND i.area_code = ANY(p_codes) AND i.status <> 'closed'
                  AND i.room_code <> ar.room_code RETURNING i.id, i.area_code)
  SELECT coalesce(array_agg(id ORDER BY id), '{}'),
         coalesce((SELECT jsonb_object_agg(area_code, n) FROM (SELECT area_code, count(*) AS n FROM inc
                                                                GROUP BY area_code) c), '{}')
    INTO v_ids, v_per FROM inc;
  INSERT INTO area_transfers (kind, area_code, from_room, to_room, reason, username, console_id, incidents_moved)
  SELECT p_kind, m.code, m.f, m.t, p_reason, a.username, a.console_id, coalesce((v_per ->> m.code)::int, 0)
    FROM unnest(p_codes, p_froms, p_tos) AS m(code, f, t);
  IF cardinality(v_ids) > 0 THEN  -- the incident's own log says who handled it when
    INSERT INTO incident_log (incident_id, username, console_id, kind, text)
    SELECT i.id, a.username, a.console_id, 'room', 'Now handled by the ' || r.name || ' ('
           || replace(p_kind, '_', ' ') || ' of area ' || i.area_code || ')' || coalesce(': ' || p_reason, '.')
      FROM incidents i JOIN rooms r ON r.code = i.room_code WHERE i.id = ANY(v_ids);
  END IF;
  SELECT jsonb_object_agg(code, name) INTO v_names FROM rooms;
  SELECT jsonb_object_agg(code, room_code) INTO v_area_rooms FROM areas;
  SELECT jsonb_object_agg(m.code, jsonb_build_object('from', m.f, 'to', m.t,
                                                     'incidents', coalesce((v_per ->> m.code)::int, 0)))
    INTO v_moved FROM unnest(p_codes, p_froms, p_tos) AS m(code, f, t);
  v_payload := jsonb_build_object('kind', p_kind, 'to_room', p_to_room, 'reason', p_reason, 'by', a.username,
    'by_name', coalesce((SELECT display_name FROM users WHERE username = a.username), ''),
    'by_room', a.room_code, 'moved', v_moved, 'room_names', v_names, 'incident_ids', to_jsonb(v_ids),
    'area_rooms', v_area_rooms);
  IF p_kind = 'transfer' THEN
    v_payload := v_payload || jsonb_build_object('area_code', p_codes[1], 'from_room', p_froms[1]);
  END IF;
  v_seq := cr_emit(CASE p_kind WHEN 'transfer' THEN 'room.area_transferred' WHEN 'take_over' THEN 'room.take_over'
                   ELSE 'room.hand_back' END,
                   CASE WHEN p_kind = 'transfer' THEN p_codes[1] ELSE 'all' END,
                   coalesce(p_to_room, a.room_code), v_payload);
  RETURN v_payload || jsonb_build_object('seq', v_seq);
END $$;

CREATE FUNCTION api.room_transfer_area(p_area_code text, p_to_room text, p_reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_reason text; v_current text;
BEGIN
  PERFORM cr_require('cr_supervisor', 'transfer areas between rooms');
  IF NOT EXISTS (SELECT 1 FROM areas WHERE code = p_area_code) THEN
    RAISE EXCEPTION 'Area ''%'' is not recognised. Areas are: %.', p_area_code,
      (SELECT string_agg(code, ', ' ORDER BY code) FROM areas) USING ERRCODE = 'CR400', COLUMN = 'area_code';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM rooms WHERE code = p_to_room) THEN
    RAISE EXCEPTION 'Room ''%'' is not recognised. Rooms are: %.', p_to_room,
      (SELECT string_agg(code, ', ' ORDER BY code) FROM rooms) USING ERRCODE = 'CR400', COLUMN = 'to_room';
  END IF;
  v_reason := cr_text_arg(p_reason, 'Reason', 'reason', 500, true);
  SELECT room_code INTO v_current FROM areas WHERE code = p_area_code FOR UPDATE;
  IF v_current = p_to_room THEN
    RAISE EXCEPTION '% is already handled by the %.', p_area_code, (SELECT name FROM rooms WHERE code = p_to_room)
      USING ERRCODE = 'CR400', COLUMN = 'to_room';
  END IF;
  RETURN cr_move_areas('transfer', ARRAY[p_area_code], ARRAY[v_current], ARRAY[p_to_room], v_reason, p_to_room);
END $$;

CREATE FUNCTION api.room_take_over(p_reason text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v_reason text; v_codes text[]; v_froms text[];
BEGIN
  PERFORM cr_require('cr_inspector', 'take over all areas');
  SELECT * INTO a FROM cr_actor();
  IF a.room_code IS NULL THEN
    RAISE EXCEPTION 'You have no home room, so there is no room to take the areas over to.' USING ERRCODE = 'CR400';
  END IF;
  v_reason := cr_text_arg(p_reason, 'Reason', 'reason', 500, true);
  SELECT array_agg(code ORDER BY code), array_agg(room_code ORDER BY code) INTO v_codes, v_froms
    FROM (SELECT code, room_code FROM areas WHERE room_code <> a.room_code ORDER BY code FOR UPDATE) x;
  IF v_codes IS NULL THEN
    RAISE EXCEPTION 'The % already handles every area.', (SELECT name FROM rooms WHERE code = a.room_code)
      USING ERRCODE = 'CR400';
  END IF;
  RETURN cr_move_areas('take_over', v_codes, v_froms, array_fill(a.room_code::text, ARRAY[cardinality(v_codes)]),
                       v_reason, a.room_code);
END $$;

CREATE FUNCTION api.room_hand_back(p_reason text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_reason text; v_codes text[]; v_froms text[]; v_tos text[];
BEGIN
  PERFORM cr_require('cr_inspector', 'hand areas back to their rooms');
  v_reason := cr_text_arg(p_reason, 'Reason', 'reason', 500, false);
  SELECT array_agg(code ORDER BY code), array_agg(room_code ORDER BY code), array_agg(home_room_code ORDER BY code)
    INTO v_codes, v_froms, v_tos
    FROM (SELECT code, room_code, home_room_code FROM areas WHERE room_code <> home_room_code ORDER BY code
          FOR UPDATE) x;
  IF v_codes IS NULL THEN
    RAISE EXCEPTION 'Every area is already with its normal room; nothing to hand back.' USING ERRCODE = 'CR400';
  END IF;
  RETURN cr_move_areas('hand_back', v_codes, v_froms, v_tos, v_reason, NULL);
END $$;

-- This room's training suite works as a live fallback room (inspector; live databases only).
CREATE FUNCTION api.room_fallback(p_on boolean, p_reason text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE a record; v_reason text; v_state jsonb;
BEGIN
  PERFORM cr_require('cr_inspector', 'switch consoles to fallback mode');
  IF cr_db_mode() = 'training' THEN
    RAISE EXCEPTION 'Fallback mode is a live-system switch; a training database cannot be one.' USING ERRCODE = 'CR403';
  END IF;
  IF p_on IS NULL THEN
    RAISE EXCEPTION 'Fallback must be on or off.' USING ERRCODE = 'CR400', COLUMN = 'on';
  END IF;
  v_reason := cr_text_arg(p_reason, 'Reason', 'reason', 500, p_on);
  SELECT * INTO a FROM cr_actor();
  v_state := jsonb_build_object('on', p_on, 'room_code', a.room_code, 'by', a.username, 'reason', v_reason,
                                'at', now()::text);
  INSERT INTO meta (key, value) VALUES ('fallback.' || coalesce(a.room_code, 'none'), v_state::text)
  ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
  PERFORM cr_emit('room.fallback', a.room_code, a.room_code, v_state);
  RETURN v_state;
END $$;

-- The scenario clock, announced to every training console (trainer; training databases only).
CREATE FUNCTION api.training_announce(p_what text, p_scenario text, p_position double precision,
    p_speed double precision, p_state text, p_extra jsonb DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM cr_require('cr_trainer', 'run scenarios');
  IF cr_db_mode() IS DISTINCT FROM 'training' THEN
    RAISE EXCEPTION 'Training controls work on a training database only.' USING ERRCODE = 'CR403';
  END IF;
  IF p_what IS NULL OR p_what NOT IN ('loaded', 'started', 'paused', 'speed', 'jumped', 'finished') THEN
    RAISE EXCEPTION 'Unknown announcement ''%''.', p_what USING ERRCODE = 'CR400', COLUMN = 'what';
  END IF;
  IF p_extra IS NOT NULL AND jsonb_typeof(p_extra) <> 'object' THEN
    RAISE EXCEPTION 'Announcement details must be an object.' USING ERRCODE = 'CR400', COLUMN = 'extra';
  END IF;
  RETURN cr_emit('training.' || p_what, p_scenario, NULL,
                 jsonb_build_object('scenario', p_scenario, 'position', round(p_position::numeric, 1),
                                    'speed', p_speed, 'state', p_state) || coalesce(p_extra, '{}'),
                 p_what IN ('loaded', 'started', 'jumped'));
END $$;
"""

FUNCTIONS = {
    "api.room_transfer_area(text, text, text)": "cr_supervisor",
    "api.room_take_over(text)": "cr_inspector",
    "api.room_hand_back(text)": "cr_inspector",
    "api.room_fallback(boolean, text)": "cr_inspector",
    "api.training_announce(text, text, double precision, double precision, text, jsonb)": "cr_trainer",
}
INTERNAL = ("cr_move_areas(text, text[], text[], text[], text, text)",)


def upgrade() -> None:
    op.execute(SQL)
    for fn, group in FUNCTIONS.items():
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO {group}")
    for fn in INTERNAL:
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")


def downgrade() -> None:
    for fn in (*FUNCTIONS, *INTERNAL):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
