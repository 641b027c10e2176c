"""Presence: who else has an incident open (and is typing), live across consoles and processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from controlroom.db.listener import Event
from controlroom.services.rooms.presence import PresenceTracker, describe_others

from .conftest import MK


def _wait(cond, timeout: float) -> float | None:
    """Seconds until cond() held, or None after timeout (polled every 50 ms)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def _presence(seq: int, console: str, incident, typing=False, **extra) -> Event:
    return Event(seq=seq, kind="console.presence", entity_id=console, room_code="north",
                 payload={"console_id": console, "username": "despatch.north", "incident_id": incident,
                          "typing": typing, **extra})


def test_tracker_expires_consoles_that_stop_refreshing_and_drops_signed_out_ones():
    now = [100.0]
    t = PresenceTracker(own_console="N-01", clock=lambda: now[0])
    t.on_event(_presence(1, "N-07", 5, typing=True))
    t.on_event(_presence(2, "N-01", 5))            # our own console is not "someone else"
    t.on_event(_presence(3, "S-03", 5))
    assert [e.console_id for e in t.others_on(5)] == ["N-07", "S-03"]
    assert describe_others(t.others_on(5)).startswith("Also open at N-07 (despatch.north), typing…")
    t.on_event(Event(seq=4, kind="console.presence", entity_id="S-03", room_code="south",
                     payload={"changed": {}, "console_id": "S-03", "signed_out": True}))
    assert [e.console_id for e in t.others_on(5)] == ["N-07"]
    now[0] += 5.0
    t.on_event(_presence(5, "N-07", 5))            # refreshed: stays, no longer typing
    now[0] += 5.0
    assert [e.typing for e in t.others_on(5)] == [False]
    now[0] += 1.5                                  # 6.5 s without a refresh: gone
    assert t.others_on(5) == []


def test_presence_repeats_are_throttled_but_changes_go_out_at_once(open_as):
    s = open_as("despatch.north", console_id="N-21")
    inc = s.incidents.create(channel="999", incident_type="ASB", summary="throttle", lat=MK[0], lon=MK[1])
    assert s.presence.open_incident(inc.id) is True
    assert s.presence.open_incident(inc.id) is False          # same state within 2 s
    assert s.presence.open_incident(inc.id, typing=True) is True
    assert s.presence.open_incident(None) is True


def test_presence_appears_in_another_session_within_a_second(open_as):
    a = open_as("despatch.north", console_id="N-07")
    b = open_as("despatch.south", console_id="S-07")
    b.presence  # start tracking
    inc = a.incidents.create(channel="999", incident_type="ASB", summary="presence", lat=MK[0], lon=MK[1])
    a.presence.open_incident(inc.id, typing=True)
    took = _wait(lambda: b.presence.others_on(inc.id), 1.0)
    assert took is not None, "presence did not arrive within 1 s"
    [entry] = b.presence.others_on(inc.id)
    assert (entry.console_id, entry.username, entry.typing) == ("N-07", "despatch.north", True)
    a.presence.open_incident(None)
    assert _wait(lambda: not b.presence.others_on(inc.id), 1.0) is not None


CHILD = textwrap.dedent("""
    import sys, time
    from controlroom.session import open_session
    s = open_session(sys.argv[1], "despatch.south", "demo", "S-09")
    s.presence.open_incident(int(sys.argv[2]))
    print("ready", flush=True)
    time.sleep(120)
""")


def test_presence_vanishes_within_ten_seconds_of_the_console_process_being_killed(open_as, db_url):
    watcher = open_as("despatch.north", console_id="N-08")
    watcher.presence
    inc = watcher.incidents.create(channel="999", incident_type="ASB", summary="kill -9", lat=MK[0], lon=MK[1])
    child = subprocess.Popen([sys.executable, "-c", CHILD, db_url, str(inc.id)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        assert _wait(lambda: watcher.presence.others_on(inc.id), 2.0) is not None
        time.sleep(2.5)  # alive and refreshing: still shown after a refresh period
        assert [e.console_id for e in watcher.presence.others_on(inc.id)] == ["S-09"]
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=5)
        gone = _wait(lambda: not watcher.presence.others_on(inc.id), 10.0)
        assert gone is not None, "presence of a killed console still shown after 10 s"
        print(f"presence_gone_after_kill: {gone:.1f} s")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=5)


def test_presence_label_shows_who_else_has_the_incident_open_and_typing(open_as, qtbot):
    from ui.kit.context import ConsoleContext
    from ui.kit.event_bridge import EventBridge
    from ui.kit.presence_widgets import PresenceLabel

    me = open_as("despatch.north", console_id="N-41")
    other = open_as("despatch.south", console_id="S-41")
    inc = me.incidents.create(channel="999", incident_type="ASB", summary="label", lat=MK[0], lon=MK[1])
    label = PresenceLabel(ConsoleContext(session=me, bridge=EventBridge(me)))
    qtbot.addWidget(label)
    label.set_incident(inc.id)
    assert label.isHidden()
    other.presence.open_incident(inc.id, typing=True)
    qtbot.waitUntil(lambda: "S-41 (despatch.south), typing…" in label.text(), timeout=3000)
    other.presence.open_incident(None)
    qtbot.waitUntil(lambda: label.text() == "", timeout=3000)
