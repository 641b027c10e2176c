"""The training database: seeded with the live reference data, reset to a scenario's start.

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

from ..errors import WrongDatabase
from ..services.base import to_json
from .engine import connect

log = logging.getLogger(__name__)

# Reference data a reset keeps. Tables that already hold rows when the training database is
# seeded (e.g. the gazetteer loaded by a migration) are kept too (meta 'training_reference_tables');
# every other table is operational and is emptied by a reset.
KEEP_TABLES = frozenset({
    "alembic_version", "meta", "rooms", "areas", "users", "units", "talk_groups", "consoles",
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
        from ..seed import seed_reference
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


def reset_training(conn: Connection, *, units: dict[str, dict[str, Any]] | None = None) -> int:
    """Empty the operational tables and put reference data back to the baseline (one transaction).

    `units` overrides the baseline per callsign ({"ARV11": {"status": ..., "lat": ..., "lon": ...}}).
    Refused by the database itself unless this is a training database.
    """
    keep = set(KEEP_TABLES)
    extra = conn.execute(text("SELECT value FROM meta WHERE key = 'training_reference_tables'")).scalar()
    keep.update(t for t in (extra or "").split(",") if t)
    emptied = conn.execute(text("SELECT cr_training_reset(:keep)"), {"keep": sorted(keep)}).scalar_one()
    conn.execute(text("UPDATE units u SET status = b.status, area_code = b.area_code, lat = b.lat, "
                      "lon = b.lon, talk_group = b.talk_group, incident_id = NULL, position_at = now(), "
                      "status_at = now() FROM training_unit_baseline b WHERE b.callsign = u.callsign"))
    conn.execute(text("UPDATE talk_groups SET incident_id = NULL, allocated_at = NULL"))
    conn.execute(text("UPDATE areas SET room_code = home_room_code WHERE room_code <> home_room_code"))
    conn.execute(text("UPDATE users SET failed_attempts = 0, locked = false"))
    for callsign, fields in (units or {}).items():
        _override_unit(conn, callsign, fields)
    return int(emptied)


def _override_unit(conn: Connection, callsign: str, fields: dict[str, Any]) -> None:
    allowed = {"status", "lat", "lon", "area_code", "talk_group"}
    sets = {k: v for k, v in fields.items() if k in allowed}
    if not sets:
        return
    assignments = ", ".join(f"{k} = :{k}" for k in sets)
    conn.execute(text(f"UPDATE units SET {assignments} WHERE callsign = :cs"), {**sets, "cs": callsign})


def _schema_tables(conn: Connection) -> list[str]:
    return list(conn.execute(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r','p') ORDER BY 1")).scalars())


def _has_rows(conn: Connection, table: str) -> bool:
    return bool(conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{table}")')).scalar())


def _column_types(conn: Connection, table: str) -> dict[str, str]:
    rows = conn.execute(text("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_schema = current_schema() AND table_name = :t"), {"t": table})
    return {name: dtype for name, dtype in rows}
