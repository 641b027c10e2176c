"""Raw PostgreSQL baselines measured in the same run as each benchmark: bare INSERT, bare NOTIFY."""
from __future__ import annotations

import statistics
import threading
import time

import psycopg


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def report(name: str, values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    out = {"p50": pct(ms, 50), "p95": pct(ms, 95), "p99": pct(ms, 99), "mean": statistics.fmean(ms)}
    print(f"{name} p50: {out['p50']:.3f} ms")
    print(f"{name} p95: {out['p95']:.3f} ms")
    print(f"{name} p99: {out['p99']:.3f} ms")
    return out


def bare_insert(url: str, n: int = 500) -> list[float]:
    """One autocommit INSERT per round trip (the floor for a write action)."""
    with psycopg.connect(url, autocommit=True) as conn:
        # A logged table: a temp table skips the WAL flush at commit and flatters the floor.
        conn.execute("DROP TABLE IF EXISTS bench_insert")
        conn.execute("CREATE TABLE bench_insert (id bigserial PRIMARY KEY, t text, at timestamptz DEFAULT now())")
        times = []
        for i in range(n + 50):
            t0 = time.perf_counter()
            conn.execute("INSERT INTO bench_insert (t) VALUES (%s)", (f"row {i}",))
            if i >= 50:
                times.append(time.perf_counter() - t0)
        conn.execute("DROP TABLE bench_insert")
        return times


def bare_notify(url: str, n: int = 300) -> list[float]:
    """NOTIFY from one connection until another connection's LISTEN loop has it."""
    got: dict[str, float] = {}
    ready = threading.Event()
    done = threading.Event()

    def listen() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("LISTEN bench_notify")
            ready.set()
            for note in conn.notifies(timeout=30):
                got[note.payload] = time.perf_counter()
                if note.payload == "stop":
                    break
        done.set()

    th = threading.Thread(target=listen, daemon=True)
    th.start()
    ready.wait(10)
    sent: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(n + 20):
            key = str(i)
            sent[key] = time.perf_counter()
            conn.execute("SELECT pg_notify('bench_notify', %s)", (key,))
            deadline = time.perf_counter() + 2
            while key not in got and time.perf_counter() < deadline:
                time.sleep(0)
        conn.execute("NOTIFY bench_notify, 'stop'")
    done.wait(10)
    return [got[str(i)] - sent[str(i)] for i in range(20, n + 20) if str(i) in got]
