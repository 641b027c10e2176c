"""Database: engines, embedded PostgreSQL, Alembic migrations, the event listener."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from sqlalchemy import text

from ..kernel.errors import ControlRoomError, Unavailable
from .engine import connect, libpq_url, make_engine
from .migrate import upgrade

log = logging.getLogger(__name__)

__all__ = ["init_database", "create_database", "make_engine", "libpq_url"]


def _split_dbname(url: str) -> tuple[str, str]:
    """(server URL pointing at the 'postgres' database, the database name asked for)."""
    parts = urlsplit(libpq_url(url))
    dbname = parts.path.lstrip("/") or "postgres"
    return urlunsplit(parts._replace(path="/postgres")), dbname


def create_database(url: str) -> bool:
    """Create the URL's database if it does not exist; True if it was created."""
    server_url, dbname = _split_dbname(url)
    with connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if exists:
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        except psycopg.errors.DuplicateDatabase:
            return False
        return True


def init_database(url: str, *, demo: bool = True, training: bool = False,
                  live_url: str | None = None) -> None:
    """Create (if needed) and migrate the database, mark it live/training, seed the demo force.

    A training database copies its reference data from `live_url` when given.
    Safe to call twice and from two consoles at once (migrations and seeding hold a lock).
    """
    try:
        create_database(url)
    except Unavailable:
        raise
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            upgrade(conn)
            mode = "training" if training else "live"
            current = conn.execute(text("SELECT value FROM meta WHERE key = 'mode'")).scalar()
            if current is None:
                conn.execute(text("INSERT INTO meta (key, value) VALUES ('mode', :m)"), {"m": mode})
            elif current != mode:
                from ..kernel.errors import WrongDatabase
                raise WrongDatabase(f"This database is a {current} database; it cannot be set up as {mode}.")
            from .alert_policy import sync_alert_policy
            sync_alert_policy(conn)  # the force's alert/welfare policy, read-only for consoles
            seeded = conn.execute(text("SELECT value FROM meta WHERE key = 'seeded'")).scalar()
            if demo and not seeded and conn.execute(text("SELECT EXISTS (SELECT 1 FROM users)")).scalar():
                raise ControlRoomError("The demo force goes only into an EMPTY database; this one "
                                       "already has operators. Nothing was changed.")
            if demo and not seeded:
                if training:
                    from .training_copy import seed_training  # provided by the training-room work
                    seed_training(conn, live_url=live_url)
                else:
                    from .seed import seed_reference
                    seed_reference(conn)
                from .seed_functions import seed_functions  # issue 23: guidance, recovery rota
                seed_functions(conn)
                conn.execute(text("INSERT INTO meta (key, value) VALUES ('seeded', now()::text)"))
            from .policy import sync_policy
            sync_policy(conn)  # the policy the database enforces (armed types, statuses, grades, closing, THRIVE, prompts)
            if training:
                from .training_copy import install_training_objects
                install_training_objects(conn)  # the reset exists in training databases only
            from .roles import apply_grants, grant_database_access
            apply_grants(conn)
            grant_database_access(conn)  # CONNECT: this database's own operators only
    finally:
        engine.dispose()
