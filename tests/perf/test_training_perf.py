"""Training benchmarks: reset time, scenario injection rate (quiet shift through real services)."""
from __future__ import annotations

import time

import pytest

from controlroom.demo.scenario import ManualClock, ScenarioPlayer, load_scenario
from controlroom.session import open_session

from ..test_training import _fresh_training_db


@pytest.mark.perf
def test_training_reset_and_injection_rate(pg_server):
    url = _fresh_training_db(pg_server, "trn_perf")
    with open_session(url, "trainer", "demo", "T-PERF", training=True) as s:
        player = ScenarioPlayer(s, load_scenario("quiet_shift"), ManualClock(), announce=False)
        player.reset()
        t0 = time.perf_counter()
        player.jump("T+8:00:00")
        dt = time.perf_counter() - t0
        n = len(player.fired)
        assert player.summary()["failed"] == 0
        full, empty = [], []
        for i in range(3):
            if i:
                player.jump("T+8:00:00")
            t0 = time.perf_counter()
            player.reset()
            full.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            player.reset()
            empty.append(time.perf_counter() - t0)
    print(f"quiet_shift_inject: {n / dt:.0f} events/s")
    print(f"quiet_shift_full_run: {dt * 1000:.0f} ms")
    print(f"training_reset_after_full_shift: {sorted(full)[1] * 1000:.0f} ms (median of 3)")
    print(f"training_reset_empty: {sorted(empty)[1] * 1000:.0f} ms (median of 3)")
