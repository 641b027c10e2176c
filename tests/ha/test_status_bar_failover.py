"""What the operator sees in a failover (issue 25): the status bar names the member it is
connected to, turns red with "failing over" while there is no primary, and then names the new
leader — with a real primary/standby pair behind a multi-host URL, the primary crashed."""
from __future__ import annotations

import pytest

from controlroom.db import init_database
from controlroom.session import open_session
from tools.replica_demo import setup_pair
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.shell.status_bar import ConsoleStatusBar


@pytest.fixture
def pair():
    p = setup_pair()
    yield p
    p.cleanup()


def test_status_bar_says_failing_over_then_names_the_new_leader(qtbot, pair):
    init_database(pair.url(), demo=True)
    s = open_session(pair.url(), "despatch.north", "demo", "C-FAILOVER-BAR")
    try:
        ctx = ConsoleContext(session=s, bridge=EventBridge(s))
        bar = ConsoleStatusBar(ctx)
        qtbot.addWidget(bar)
        bar.show()
        seen: list[str] = []
        ctx.bridge.connectionChanged.connect(lambda _ok: seen.append(bar.db.text()))
        qtbot.waitUntil(lambda: f":{pair.primary_port}" in bar.db.text(), timeout=10_000)
        assert bar.db.text().startswith("● live DB connected")
        pair.kill_primary()
        qtbot.waitUntil(lambda: any("failing over" in t for t in seen), timeout=15_000)
        assert bar.db.property("state") == "down" or f":{pair.standby_port}" in bar.db.text()
        pair.promote()
        qtbot.waitUntil(lambda: f":{pair.standby_port}" in bar.db.text(), timeout=30_000)
        assert bar.db.property("state") == "ok"
        assert "failing over" not in bar.db.text()
        # and the console writes again, on the new leader
        inc = s.incidents.create(channel="999", incident_type="ASB", summary="after the failover",
                                 lat=52.0406, lon=-0.7594, grade="G3")
        assert inc.id
    finally:
        s.close()
