"""Not a test: makes docs/screenshots/13-replay.png (run explicitly: pytest tests/_shot_replay.py)."""
from __future__ import annotations

import time

from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.replay.window import ReplayWindow


def _place(h, name):
    p = h.incidents.suggest_places(name, limit=1)[0]
    return p.lat, p.lon, p.name


def test_shot(qtbot, open_as):
    h, d, insp = open_as("handler.north", console_id="N-03"), open_as("despatch.north", console_id="N-07"), \
        open_as("inspector.north", console_id="N-10")
    hs, ds = open_as("handler.south", console_id="S-02"), open_as("despatch.south", console_id="S-07")
    made = []
    for s, kind, grade, place, summary in [
        (h, "FIREARMS", "G1", "Bletchley", "Male seen with handgun outside station"),
        (h, "DOMESTIC", "G1", "Aylesbury", "Screaming heard, female says partner has knife"),
        (hs, "RTC", "G2", "Witney", "Two vehicles, lane 2 blocked, no injuries"),
        (hs, "BURGLARY", "G2", "Reading", "Insecure rear door, property disturbed"),
        (h, "ASB", "G3", "Milton Keynes", "Youths throwing stones at buses"),
    ]:
        lat, lon, addr = _place(h, place)
        made.append(s.incidents.create(channel="999", incident_type=kind, summary=summary, lat=lat, lon=lon,
                                       grade=grade, address=addr))
    fa, dom, rtc, burg, asb = made
    d.despatch.assign(dom.id, d.despatch.recommend(dom.id, limit=1)[0].callsign)
    ds.despatch.assign(rtc.id, ds.despatch.recommend(rtc.id, limit=1)[0].callsign)
    h.command.declare_firearms(fa.id)
    insp.command.authorise_armed_deployment(fa.id, threat_assessment="Credible sighting of a handgun",
                                            working_strategy="Locate, contain, protect the public",
                                            rationale="Threat to life")
    for rec in d.despatch.recommend(fa.id, limit=2):
        d.despatch.assign(fa.id, rec.callsign)
    d.talkgroups.allocate(fa.id)
    insp.command.assign_role(fa.id, "TFC", holder="Insp R. Kaur", accredited=True)
    u = d.units.list(status="en_route")
    for x in u:
        if x.lat is not None:
            d.units.update_position(x.callsign, x.lat + (fa.lat - x.lat) * 0.6, x.lon + (fa.lon - x.lon) * 0.6)
    mid = _head(d)
    for x in d.units.list(status="en_route"):
        d.despatch.arrived(x.incident_id, x.callsign)
    ds.despatch.clear(rtc.id, [x.callsign for x in ds.units.list() if x.incident_id == rtc.id][0], result="Road clear")
    try:
        ds.incidents.close(rtc.id, closing_code="NFA", result="Vehicles recovered")
    except Exception:
        pass  # other rules (THRIVE before closing) may apply

    aud = open_as("inspector.south", console_id="S-10")
    ctx = ConsoleContext(session=aud, bridge=EventBridge(aud))
    win = ReplayWindow(ctx, with_map=True)
    qtbot.addWidget(win)
    win.resize(1400, 820)
    win.show()
    qtbot.waitUntil(lambda: win.ready, timeout=20000)
    win.speed.setCurrentIndex(win.speed.findData(10))
    win.seek(mid)
    win.select(fa.id)
    if win.map is not None:
        qtbot.waitUntil(lambda: win.map.is_loaded, timeout=30000)
        win.map.flush()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3:
            qtbot.wait(100)
    win.grab().save("/tmp/13-replay.png")


def _head(s):
    from sqlalchemy import text
    with s.ctx.read() as c:
        return c.execute(text("SELECT max(seq) FROM events")).scalar_one()
