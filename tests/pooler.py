"""A local PgBouncer in front of a test server: per-user pools, transaction mode (issue 25).

What a force runs in front of its PostgreSQL for the consoles' service calls (docs/DEPLOYMENT.md):
every operator keeps their own identity (a pool per database+user pair, so `session_user` is the
operator), SCRAM end to end (the auth file holds the server's own SCRAM secrets, which lets
PgBouncer authenticate to the server for the client it has just verified), LISTEN connections
stay direct. PgBouncer refuses to run as root, so under root it runs as the PostgreSQL system user.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tools.replica_demo import free_port

BINARY = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)


@dataclass
class Bouncer:
    root: Path
    port: int
    proc: subprocess.Popen

    def url(self, database: str) -> str:
        """The consoles' pool URL (the operator's own name and password are added by open_session)."""
        return f"postgresql://127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def start_bouncer(superuser_url: str, *, users: list[str] | None = None, pool_size: int = 1,
                  max_db_connections: int = 0, server_idle_timeout: float = 10,
                  max_client_conn: int = 4000) -> Bouncer:
    """Start PgBouncer for the server behind `superuser_url` (the socket or host it names). The auth
    file is written from pg_authid (the operators' SCRAM secrets; `users`: only these)."""
    if BINARY is None:
        raise RuntimeError("pgbouncer is not installed (Debian package 'pgbouncer')")
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        host = conn.info.host
        pg_port = conn.info.port
        rows = conn.execute("SELECT rolname, rolpassword FROM pg_authid WHERE rolcanlogin "
                            "AND rolpassword LIKE 'SCRAM-SHA-256$%%' AND (%s::text[] IS NULL OR rolname = ANY(%s))",
                            (users, users)).fetchall()
    root = Path(tempfile.mkdtemp(prefix="cr-pgbouncer-"))
    port = free_port()
    (root / "userlist.txt").write_text("".join(f'"{u}" "{p}"\n' for u, p in rows))
    (root / "pgbouncer.ini").write_text(f"""[databases]
* = host={host} port={pg_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {root / 'userlist.txt'}
pool_mode = transaction
default_pool_size = {pool_size}
max_db_connections = {max_db_connections}
max_client_conn = {max_client_conn}
server_idle_timeout = {server_idle_timeout}
server_reset_query =
logfile = {root / 'pgbouncer.log'}
pidfile = {root / 'pgbouncer.pid'}
admin_users =
""")
    user = None
    if os.name == "posix" and os.geteuid() == 0:
        import pwd
        from tools.replica_demo import os_user
        user = os_user()
        pw = pwd.getpwnam(user)
        for p in (root, *root.iterdir()):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    proc = subprocess.Popen([BINARY, str(root / "pgbouncer.ini")], user=user,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (root / "pgbouncer.log").read_text() if (root / "pgbouncer.log").exists() else ""
            raise RuntimeError(f"pgbouncer exited ({proc.returncode}): {log[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return Bouncer(root, port, proc)
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("pgbouncer did not start listening")
