"""Dashboards and wallboard: the feed fetches off the GUI thread and widgets update in place."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ui.kit.context import ConsoleContext
from ui.dashboards.performance import DashboardFeed, DashboardsPanel
from ui.kit.event_bridge import EventBridge
from ui.dashboards.wallboard import Wallboard


def test_dashboard_and_wallboard_show_the_live_queue(qtbot, open_as, fresh_db_url):
    s = open_as("super.north", url=fresh_db_url)
    ctx = ConsoleContext(session=s, bridge=EventBridge(s))
    feed = DashboardFeed(ctx)
    dash, wall = DashboardsPanel(ctx, feed), Wallboard(ctx, feed)
    qtbot.addWidget(dash)
    qtbot.addWidget(wall)
    qtbot.waitUntil(lambda: feed.last is not None, timeout=5000)
    curve = dash.demand_now
    now = datetime.now(timezone.utc)
    s.contacts.receive("999", from_="07700900001", at=now - timedelta(seconds=75))
    s.contacts.receive("sms", from_="07700900002", text="he has a knife")
    qtbot.waitUntil(lambda: feed.last.queue_total() == 2, timeout=5000)
    assert dash.demand_now is curve                     # the curve was updated, not recreated
    # demand is hourly: the call from 75 s ago is in the previous hour's bar in the first 75 s of an hour
    assert sum(list(curve.yData)[-2:]) >= 2
    assert list(dash.queue_bars.opts["height"])[0] == 2
    assert wall.tiles["waiting"].value.text() == "2"
    assert wall.tiles["review"].value.text() == "1"
    assert wall.tiles["longest"].value.text().startswith("1:1")
