"""Primary + synchronous standby: crash the primary, promote the standby, lose nothing acknowledged."""
from __future__ import annotations

import pytest

from controlroom.db import init_database
from tools.replica_demo import setup_pair, run_failover


@pytest.fixture
def pair():
    p = setup_pair()
    yield p
    p.cleanup()


def test_every_acknowledged_incident_survives_primary_crash_and_console_writes_again(pair):
    assert pair.sync_state() == "sync"
    init_database(pair.url(), demo=True)
    f = run_failover(pair, incidents=500, kill_after=250)
    print("\n" + "\n".join(f"failover {k}: {v}" for k, v in f.items()))
    assert f["acknowledged"] == 500 and f["present"] == 500 and f["missing"] == []
    assert f["new_primary_in_recovery"] is False          # the standby really took over
    assert f["listener_reconnects"] >= 1                     # the crash was really felt
    assert f["write_outage_s"] is not None and f["write_outage_s"] < 10  # ... and the console writes again
    assert f["listener_received"] == 500                     # the event path caught up across it
