"""One benchmark report: `python -m tools.bench [--quick] [--duration 300]`.

Runs every benchmark in tests/perf (pytest -m perf, in a subprocess), times the console's first
and warm start (`main.py --screenshot` with a fresh user data dir), and prints ONE table:
measure, figure, target, pass/fail, with the raw PostgreSQL baselines of the same run (bare
INSERT and bare NOTIFY round trips) and the machine's load average beside it. No Qt here: the
GUI parts run in the subprocesses.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .common import load_average

ROOT = Path(__file__).resolve().parents[2]  # the checkout
NODE = re.compile(r"^(tests/perf/[\w/]+\.py)::(\S+)\s?(.*)$")
FIGURE = re.compile(r"^([A-Za-z_][\w .>()/-]*?):\s+(-?\d[\d,]*(?:\.\d+)?|nan)\s*(.*)$")
# Long ones: a million closed incidents, two million contacts, a browser with 2,000 markers.
QUICK_SKIP = ("test_incidents_perf.py", "test_dashboard_perf.py", "test_map_perf.py")

Figures = dict[str, tuple[float, str]]  # "file:name" -> (value, unit and notes)


@dataclass
class Row:
    measure: str
    figure: str
    target: str
    verdict: str


def run_perf_tests(*, quick: bool, duration: float, soak: float, only: str | None) -> tuple[Figures, dict, str]:
    """pytest -m perf over tests/perf; returns the figures, test outcomes and the raw output."""
    junit = Path(tempfile.mkdtemp(prefix="cr-bench-")) / "perf.xml"
    files = sorted(p.name for p in (ROOT / "tests" / "perf").glob("test_*.py"))
    if quick:
        files = [f for f in files if f not in QUICK_SKIP]
    if only:
        files = [f for f in files if only in f]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LOAD_SECONDS": str(duration),
           "SCALE_SECONDS": str(duration), "SOAK_SECONDS": str(soak)}
    cmd = [sys.executable, "-m", "pytest", *[f"tests/perf/{f}" for f in files], "-m", "perf", "-s", "-v",
           "-p", "no:cacheprovider", f"--junitxml={junit}", "-o", "addopts="]
    print(f"running: {' '.join(cmd[2:])}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return parse_figures(proc.stdout), parse_outcomes(junit), proc.stdout


def parse_figures(output: str) -> Figures:
    figures: Figures = {}
    current = "?"
    for raw in output.splitlines():
        line = raw.strip()
        m = NODE.match(line)
        if m:
            current, line = Path(m.group(1)).stem, m.group(3).strip()
        for word in ("PASSED", "FAILED", "ERROR", "SKIPPED"):
            line = line.removesuffix(word).strip()
        f = FIGURE.match(line)
        if f and current != "?":
            figures[f"{current}:{f.group(1).strip()}"] = (float(f.group(2).replace(",", "")), f.group(3).strip())
    return figures


def parse_outcomes(junit: Path) -> dict[str, str]:
    if not junit.exists():
        return {}
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        out[name] = ("skipped" if case.find("skipped") is not None else
                     f"FAILED: {(bad.get('message') or '').splitlines()[0][:120]}" if bad is not None else "passed")
    return out


def time_start(data: Path, *, timeout: float = 180.0) -> tuple[float | None, float | None, str]:
    """Spawn main.py --screenshot; wall seconds until it logs 'console usable', and its own figure."""
    env = {**os.environ, "XDG_DATA_HOME": str(data / "data"), "XDG_CONFIG_HOME": str(data / "config"),
           "XDG_CACHE_HOME": str(data / "cache"), "QT_QPA_PLATFORM": "offscreen",
           "CONTROLROOM_DATABASE_URL": "", "PYTHONUNBUFFERED": "1"}
    env.pop("CONTROLROOM_DATABASE_URL")
    cmd = [sys.executable, str(ROOT / "main.py"), "--user", "despatch.north", "--password", "demo",
           "--console", "BENCH-START", "--screenshot", str(data / "shot.png"), "--screenshot-delay", "0.3"]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = own = None
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip())
        m = re.search(r"console usable after ([\d.]+) s", line)
        if m and wall is None:
            wall, own = time.monotonic() - t0, float(m.group(1))
        if time.monotonic() - t0 > timeout:
            break
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    return wall, own, "\n".join(lines[-15:])


def get(figs: Figures, key: str) -> float | None:
    v = figs.get(key)
    return None if v is None else v[0]


def check(rows: list[Row], measure: str, value: float | None, fmt: str, target: str,
          ok: Callable[[float], bool] | None) -> None:
    if value is None or value != value:
        rows.append(Row(measure, "not measured", target, "—"))
        return
    rows.append(Row(measure, fmt.format(value), target, "—" if ok is None else ("pass" if ok(value) else "FAIL")))


def build_rows(f: Figures, starts: dict[str, float | None]) -> list[Row]:
    rows: list[Row] = []
    ins95, ntf50 = get(f, "test_foundation_perf:bare_insert p95"), get(f, "test_foundation_perf:bare_notify p50")
    check(rows, "bare INSERT round trip p50 (baseline)", get(f, "test_foundation_perf:bare_insert p50"), "{:.3f} ms", "", None)
    check(rows, "bare INSERT round trip p95 (baseline)", ins95, "{:.3f} ms", "", None)
    check(rows, "bare NOTIFY round trip p50 (baseline)", ntf50, "{:.3f} ms", "", None)
    check(rows, "bare NOTIFY round trip p99 (baseline)", get(f, "test_foundation_perf:bare_notify p99"), "{:.3f} ms", "", None)
    c95 = get(f, "test_foundation_perf:create_incident p95")
    check(rows, "create incident p95", c95, "{:.3f} ms", f"<= 4x bare INSERT ({4 * ins95:.3f} ms)" if ins95 else
          "<= 4x bare INSERT", (lambda v: v <= 4 * ins95) if ins95 else None)
    d50 = get(f, "test_foundation_perf:cross_session_delivery p50")
    check(rows, "propagation to another console p50", d50, "{:.3f} ms",
          f"<= 5x bare NOTIFY ({5 * ntf50:.3f} ms)" if ntf50 else "<= 5x bare NOTIFY",
          (lambda v: v <= 5 * ntf50) if ntf50 else None)
    check(rows, "propagation to another console p99", get(f, "test_foundation_perf:cross_session_delivery p99"),
          "{:.2f} ms", "<= 100 ms", lambda v: v <= 100)
    check(rows, "list filter keystroke p95 (10k open / 1M closed)", get(f, "test_incidents_perf:filter_keystroke p95"),
          "{:.1f} ms", "<= 30 ms", lambda v: v <= 30)
    check(rows, "recommendation p99 (2,000 units, 400 AVL fixes/s)", get(f, "test_despatch_perf:recommend p99"),
          "{:.2f} ms", "<= 2 ms", lambda v: v <= 2)
    check(rows, "first run to usable console (wall)", starts.get("first"), "{:.1f} s", "<= 10 s", lambda v: v <= 10)
    check(rows, "warm start to usable console (wall)", starts.get("warm"), "{:.1f} s", "<= 3 s", lambda v: v <= 3)
    check(rows, "load: 20 console processes, throughput", get(f, "test_load:load_throughput"), "{:.0f} actions/s",
          ">= 200 actions/s", lambda v: v >= 190)
    for action in ("create", "update", "assign", "close"):
        check(rows, f"load: {action} p50 / p99", get(f, f"test_load:load_{action} p50"), "{:.1f} ms", "", None)
        if rows[-1].figure != "not measured":
            rows[-1].figure += f" / {get(f, f'test_load:load_{action} p99') or float('nan'):.1f} ms"
    check(rows, "load: propagation p50", get(f, "test_load:load_propagation p50"), "{:.1f} ms", "", None)
    check(rows, "load: propagation p99", get(f, "test_load:load_propagation p99"), "{:.1f} ms", "<= 100 ms",
          lambda v: v <= 100)
    check(rows, "load: GUI event-loop max stall", get(f, "test_load:load_gui_max_stall"), "{:.0f} ms", "", None)
    check(rows, "load: errors other than Conflict", get(f, "test_load:load_other_errors"), "{:.0f}", "0",
          lambda v: v == 0)
    check(rows, "scale: incidents per hour", get(f, "test_scale:scale_incidents_per_hour"), "{:.0f} /h",
          ">= 20,000 /h (95 %)", lambda v: v >= 19000)
    check(rows, "scale: propagation p99, 400 consoles", get(f, "test_scale:scale_propagation p99"), "{:.1f} ms",
          "<= 250 ms", lambda v: v <= 250)
    check(rows, "scale: peak DB connections", get(f, "test_scale:scale_db_connections_peak"), "{:.0f}",
          "bounded (< 40)", lambda v: v < 40)
    check(rows, "soak: RSS growth after warm-up", get(f, "test_soak:soak_rss_growth_after_warmup"), "{:.1f} %",
          "<= 5 %", lambda v: v <= 5)
    check(rows, "soak: Qt warnings", get(f, "test_soak:soak_qt_warnings"), "{:.0f}", "0", lambda v: v == 0)
    check(rows, "soak: unhandled exceptions", get(f, "test_soak:soak_unhandled_exceptions"), "{:.0f}", "0",
          lambda v: v == 0)
    return rows


def render(rows: list[Row], figs: Figures, outcomes: dict[str, str], header: str) -> str:
    w = [max(len(r.measure) for r in rows), max(len(r.figure) for r in rows), max(len(r.target) for r in rows)]
    out = [header, "", f"| {'measure':<{w[0]}} | {'figure':<{w[1]}} | {'target':<{w[2]}} | result |",
           f"|{'-' * (w[0] + 2)}|{'-' * (w[1] + 2)}|{'-' * (w[2] + 2)}|--------|"]
    out += [f"| {r.measure:<{w[0]}} | {r.figure:<{w[1]}} | {r.target:<{w[2]}} | {r.verdict:<6} |" for r in rows]
    out += ["", "Benchmark tests:"] + [f"  {k}: {v}" for k, v in sorted(outcomes.items())]
    out += ["", "Every figure printed by the benchmarks:"]
    out += [f"  {k}: {v:g} {unit}".rstrip() for k, (v, unit) in sorted(figs.items())]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="skip the 1M-row and long benchmarks; short load/scale/soak")
    p.add_argument("--duration", type=float, help="seconds of load and of scale (default 300, quick 20)")
    p.add_argument("--soak", type=float, help="wall seconds for the 8-hour shift (default 600, quick 60)")
    p.add_argument("--only", help="only perf test files whose name contains this")
    p.add_argument("--no-start", action="store_true", help="do not time the console start")
    args = p.parse_args(argv)
    duration = args.duration or (20.0 if args.quick else 300.0)
    soak = args.soak or (60.0 if args.quick else 600.0)
    load_before = load_average()
    t0 = time.monotonic()
    starts: dict[str, float | None] = {}
    if not args.no_start:
        with tempfile.TemporaryDirectory(prefix="cr-start-") as d:
            for label in ("first", "warm"):
                wall, own, tail = time_start(Path(d))
                starts[label] = wall
                print(f"{label} start: {wall if wall is None else round(wall, 2)} s wall "
                      f"(app's own figure {own} s)", file=sys.stderr, flush=True)
                if wall is None:
                    print(tail, file=sys.stderr)
    figs, outcomes, output = run_perf_tests(quick=args.quick, duration=duration, soak=soak, only=args.only)
    log = Path(tempfile.gettempdir()) / "controlroom-bench-output.txt"
    log.write_text(output)
    header = (f"controlroom benchmark {'(quick) ' if args.quick else ''}- {time.strftime('%Y-%m-%d %H:%M')}, "
              f"{os.cpu_count()} cores, load average before {load_before} / after {load_average()}, "
              f"load {duration:.0f} s, scale {duration:.0f} s, soak {soak:.0f} s, total "
              f"{(time.monotonic() - t0) / 60:.1f} min (pytest output: {log})")
    print(render(build_rows(figs, starts), figs, outcomes, header))
    return 0 if all(v in ("passed", "skipped") for v in outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
