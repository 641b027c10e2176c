"""The training database: seeded with the live reference data, reset to a scenario's start.

Training-only objects (the reset) exist ONLY in training databases: `install_training_objects`
creates them once the database's own mode row (which consoles cannot write) says 'training';
a live database has no reset function at all (issue 19: the live evidence cannot be wiped).

Reset strategy (why not drop + recreate from a template): trainees' consoles stay signed in
during an exercise; dropping the database would cut every connection, lose their listeners'
place in the event stream and need CREATEDB rights. Instead one transaction calls the
database function `cr_training_reset` (migration 0010), which refuses unless the database's own
`meta.mode` row says 'training', lifts the append-only triggers as the table owner, empties every
operational table and re-arms the triggers before commit. Sequences keep counting, so connected
consoles just receive the `training.reset` event that follows and reload.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, text

from ..kernel.errors import WrongDatabase
from ..kernel.config import to_json
from .engine import connect

log = logging.getLogger(__name__)

# Reference data a reset keeps. Tables that already hold rows when the training database is
# seeded (e.g. the gazetteer loaded by a migration) are kept too (meta 'training_reference_tables');
# every other table is operational and is emptied by a reset.
KEEP_TABLES = frozenset({
    "alembic_version", "meta", "event_head", "rooms", "areas", "area_rings", "users", "units", "talk_groups", "consoles",
    "room_presence", "gazetteer", "training_unit_baseline",
    # the force's geography (issue 22): imported into a training database with the same CLI
    "addresses", "postcodes", "geo_config", "road_nodes", "road_edges",
})
# Copied from the live database, parents first. Operational columns are cleared on the way in.
COPY_TABLES = ("rooms", "areas", "users", "units", "talk_groups")
CLEARED = {"units": ("incident_id",), "talk_groups": ("incident_id", "allocated_at")}


def seed_training(conn: Connection, *, live_url: str | None = None) -> None:
    """Reference data for a new training database: copied from `live_url`, else the demo force."""
    if live_url:
        copy_reference_from_live(conn, live_url)
    else:
        from .seed import seed_reference
        seed_reference(conn)  # same rng seed as live: the same units in the same places
    conn.execute(text("UPDATE areas SET room_code = home_room_code"))
    save_baseline(conn)
    tables = [t for t in _schema_tables(conn) if _has_rows(conn, t)]
    conn.execute(text("INSERT INTO meta (key, value) VALUES ('training_reference_tables', :v) "
                      "ON CONFLICT (key) DO UPDATE SET value = :v"), {"v": ",".join(sorted(tables))})


def copy_reference_from_live(conn: Connection, live_url: str) -> dict[str, int]:
    """Copy rooms, areas, users, units and talk groups from the live database (never incidents)."""
    counts: dict[str, int] = {}
    with connect(live_url) as live:
        mode = live.execute("SELECT value FROM meta WHERE key = 'mode'").fetchone()
        if not mode or mode[0] != "live":
            raise WrongDatabase("The database to copy from is not a live controlroom database.")
        for table in COPY_TABLES:
            cur = live.execute(f'SELECT * FROM "{table}"')  # table names are our own constants
            cols = [d.name for d in cur.description or ()]
            types = _column_types(conn, table)
            cols = [c for c in cols if c in types]
            rows = [dict(zip([d.name for d in cur.description or ()], r)) for r in cur.fetchall()]
            for c in CLEARED.get(table, ()):
                for r in rows:
                    r[c] = None
            if rows:
                jsonb = {c for c in cols if types[c] == "jsonb"}
                placeholders = ", ".join(f"CAST(:{c} AS jsonb)" if c in jsonb else f":{c}" for c in cols)
                conn.execute(text(f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({placeholders})'),
                             [{c: to_json(r[c]) if c in jsonb else r[c] for c in cols} for r in rows])
            counts[table] = len(rows)
        # users.id is an identity/serial column: move its sequence past the copied ids
        conn.execute(text("SELECT setval(pg_get_serial_sequence('users', 'id'), "
                          "coalesce((SELECT max(id) FROM users), 1))"))
    log.info("training database seeded from live: %s", counts)
    return counts


def save_baseline(conn: Connection) -> None:
    """Remember where every unit stands now: `reset` puts them back here."""
    conn.execute(text("DELETE FROM training_unit_baseline"))
    conn.execute(text("INSERT INTO training_unit_baseline (callsign, status, area_code, lat, lon, talk_group) "
                      "SELECT callsign, CASE WHEN status IN ('en_route','at_scene','transporting','committed') "
                      "THEN 'available' ELSE status END, area_code, lat, lon, talk_group FROM units"))


def reset_training(conn: Connection, *, units: dict[str, dict[str, Any]] | None = None,
                   scenario: str | None = None) -> dict[str, Any]:
    """Empty the operational tables and put reference data back to the baseline (one transaction).

    `units` overrides the baseline per callsign ({"ARV11": {"status": ..., "lat": ..., "lon": ...}}).
    A live database has no reset function: refused there by the database itself.
    """
    exists = conn.execute(text("SELECT to_regprocedure('api.training_reset(text,jsonb)') IS NOT NULL")).scalar()
    if not exists:
        raise WrongDatabase("Only a training database can be reset; this one has no reset function.")
    return conn.execute(text("SELECT api.training_reset(:scenario, CAST(:units AS jsonb))"),
                        {"scenario": scenario, "units": to_json(units or {})}).scalar_one()


def install_training_objects(conn: Connection) -> None:
    """Create the reset functions — in a training database only (run as the schema owner)."""
    mode = conn.execute(text("SELECT value FROM meta WHERE key = 'mode'")).scalar()
    if mode != "training":
        raise WrongDatabase("Training objects go into a training database only.")
    from .roles import _raw
    raw = _raw(conn)  # no parameters: the SQL goes as written (its '%' are PL/pgSQL's)
    raw.execute(_reset_sql())
    raw.execute(TRAINING_RESET_API_SQL.replace("%KEEP%", ",".join(sorted(KEEP_TABLES))))


def _reset_sql() -> str:
    """Migration 0010's reset body (no longer created by migrations), ordered by the event_head
    row lock instead of the old advisory lock (which any login could hold)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).parent / "migrations" / "versions" / "0010_training_rooms.py"
    spec = importlib.util.spec_from_file_location("_cr_0010", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load the training-reset migration {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    body: str = mod.RESET_SQL.replace("CREATE FUNCTION cr_training_reset", "CREATE OR REPLACE FUNCTION cr_training_reset")
    body = body.replace("PERFORM pg_advisory_xact_lock(7261001);",
                        "PERFORM 1 FROM event_head FOR UPDATE;")
    return body + "\nREVOKE ALL ON FUNCTION cr_training_reset(text[]) FROM PUBLIC;\n"


TRAINING_RESET_API_SQL = r"""
CREATE OR REPLACE FUNCTION api.training_reset(p_scenario text, p_units jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_keep text[]; v_emptied int; k text; v jsonb; col text; v_seq bigint;
BEGIN
  PERFORM cr_require('cr_trainer', 'training.run');
  IF cr_db_mode() IS DISTINCT FROM 'training' THEN
    RAISE EXCEPTION 'Only a training database can be reset.' USING ERRCODE = 'CR403';
  END IF;
  v_keep := string_to_array('%KEEP%', ',') || coalesce(string_to_array(
      (SELECT value FROM meta WHERE key = 'training_reference_tables'), ','), '{}');
  v_emptied := cr_training_reset(v_keep);
  UPDATE event_head SET audit_hash = repeat('0', 64);  -- the emptied trail starts a new chain
  UPDATE units u SET status = b.status, area_code = b.area_code, lat = b.lat, lon = b.lon,
         talk_group = b.talk_group, incident_id = NULL, position_at = now(), status_at = now()
    FROM training_unit_baseline b WHERE b.callsign = u.callsign;
  UPDATE talk_groups SET incident_id = NULL, allocated_at = NULL;
  UPDATE areas SET room_code = home_room_code WHERE room_code <> home_room_code;
  FOR k, v IN SELECT * FROM jsonb_each(coalesce(p_units, '{}'::jsonb)) LOOP
    FOREACH col IN ARRAY ARRAY['status', 'lat', 'lon', 'area_code', 'talk_group'] LOOP
      IF v ? col THEN
        EXECUTE format('UPDATE units SET %I = %L WHERE callsign = %L', col, v ->> col, k);
      END IF;
    END LOOP;
  END LOOP;
  v_seq := cr_emit('training.reset', coalesce(p_scenario, ''), NULL,
                   jsonb_build_object('scenario', p_scenario, 'tables_emptied', v_emptied,
                                      'units_overridden', (SELECT coalesce(jsonb_agg(x ORDER BY x), '[]')
                                                           FROM jsonb_object_keys(coalesce(p_units, '{}')) x)));
  RETURN jsonb_build_object('seq', v_seq, 'tables_emptied', v_emptied);
END $$;
REVOKE ALL ON FUNCTION api.training_reset(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.training_reset(text, jsonb) TO cr_trainer;
"""


def _schema_tables(conn: Connection) -> list[str]:
    return list(conn.execute(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r','p') ORDER BY 1")).scalars())


def _has_rows(conn: Connection, table: str) -> bool:
    return bool(conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{table}")')).scalar())


def _column_types(conn: Connection, table: str) -> dict[str, str]:
    rows = conn.execute(text("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_schema = current_schema() AND table_name = :t"), {"t": table})
    return {r[0]: r[1] for r in rows}
