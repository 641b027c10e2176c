"""Helpers shared by the load/scale/soak benchmarks and `python -m tools.bench` (no Qt here)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from controlroom.db.engine import libpq_url
from controlroom.geo import AreaIndex, load_shipped_areas

CHECKOUT = Path(__file__).resolve().parents[2]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def add_units(url: str, callsigns: list[str], *, near: tuple[float, float] = (52.0406, -0.7594)) -> None:
    """Available IRVs at a known place, for benchmark consoles to send (not part of the demo force)."""
    areas = AreaIndex.from_geojson(load_shipped_areas())
    area = areas.locate(*near)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO units (callsign, capabilities, home_area_code, area_code, lat, lon, status, "
                        "position_at, status_at) VALUES (%s, ARRAY['IRV'], %s, %s, %s, %s, 'available', now(), now()) "
                        "ON CONFLICT (callsign) DO NOTHING",
                        [(cs, area, area, near[0], near[1]) for cs in callsigns])


@dataclass
class Proc:
    """A child process whose stdout/stderr go to files (a full pipe would stall it)."""

    name: str
    popen: subprocess.Popen
    out: Path
    err: Path

    def ready(self) -> bool:
        return self.out.exists() and "ready" in self.out.read_text(errors="replace")

    def go(self) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(b"go\n")
        self.popen.stdin.flush()

    def result(self) -> dict[str, Any]:
        """The last JSON line the child printed (raises with its stderr tail if none)."""
        for line in reversed(self.out.read_text(errors="replace").splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"{self.name} printed no result; stderr tail:\n{self.stderr_tail()}")

    def stderr_tail(self, n: int = 25) -> str:
        return "\n".join(self.err.read_text(errors="replace").splitlines()[-n:]) if self.err.exists() else ""


@dataclass
class Fleet:
    """Start many `python -m <module>` children, wait until all say ready, start them together."""

    procs: list[Proc] = field(default_factory=list)
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cr-bench-")))

    def spawn(self, name: str, module: str, *args: str) -> Proc:
        out, err = self.tmp / f"{name}.out", self.tmp / f"{name}.err"
        # `-m tools.bench.worker` resolves from the checkout whatever the caller's working directory
        path = os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
        popen = subprocess.Popen([sys.executable, "-m", module, *args], stdin=subprocess.PIPE,
                                 stdout=out.open("wb"), stderr=err.open("wb"), env=env)
        p = Proc(name, popen, out, err)
        self.procs.append(p)
        return p

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not all(p.ready() for p in self.procs):
            dead = [p for p in self.procs if p.popen.poll() is not None and not p.ready()]
            if dead:
                raise RuntimeError(f"{dead[0].name} exited before ready:\n{dead[0].stderr_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError("benchmark consoles did not all sign in in time")
            time.sleep(0.1)

    def go(self) -> None:
        for p in self.procs:
            p.go()

    def running(self) -> bool:
        return any(p.popen.poll() is None for p in self.procs)

    def results(self) -> list[dict[str, Any]]:
        return [p.result() for p in self.procs]

    def kill(self) -> None:
        for p in self.procs:
            if p.popen.poll() is None:
                p.popen.kill()
                p.popen.wait(timeout=5)


def max_seq(url: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]


def count_events(url: str, after: int) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT count(*) FROM events WHERE seq > %s", (after,)).fetchone()[0]
