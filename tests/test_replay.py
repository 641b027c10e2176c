"""Replay: the room rebuilt from the event log equals the live room at the same moments."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import text

from controlroom.db.listener import Event
from controlroom.errors import ControlRoomError, InvalidInput
from controlroom.replay.store import Replayer, live_structured
from controlroom.replay.state import VirtualRoomState

from .conftest import MK, OXFORD, READING

ACTIONS = 520
CAPTURES = 10


def _head(session) -> int:
    with session.ctx.read() as conn:
        return conn.execute(text("SELECT coalesce(max(seq), 0) FROM events")).scalar_one()


class Script:
    """Random but reproducible control-room work from several consoles at once."""

    def __init__(self, open_as, rng: random.Random) -> None:
        self.rng = rng
        self.h = [open_as("handler.north", console_id="N-01"), open_as("handler.south", console_id="S-01")]
        self.d = [open_as("despatch.north", console_id="N-07"), open_as("despatch.south", console_id="S-07")]
        self.sup = open_as("super.north", console_id="N-02")
        self.insp = open_as("inspector.north", console_id="N-10")
        self.insp_s = open_as("inspector.south", console_id="S-10")
        self.callsigns = [u.callsign for u in self.d[0].units.list() if u.status == "available"
                          and "ARV" not in u.capabilities][:60]
        self.arvs = [u.callsign for u in self.d[0].units.list(capability="ARV")]
        self.incidents: list[int] = []
        self.done = 0

    def pick(self, seq):
        return self.rng.choice(seq)

    def step(self) -> None:
        r = self.rng.random()
        actions = [(0.16, self.create), (0.08, self.grade), (0.18, self.assign), (0.1, self.arrive),
                   (0.1, self.clear), (0.07, self.close), (0.09, self.unit_status), (0.1, self.position),
                   (0.05, self.talk_group), (0.03, self.firearms), (0.02, self.transfer),
                   (0.02, self.update)]
        for weight, fn in actions:
            if r < weight:
                break
            r -= weight
        try:
            fn()
            self.done += 1
        except (ControlRoomError, IndexError):
            pass  # a refused action (busy unit, empty pool ...) is part of real work too

    def open_ids(self) -> list[int]:
        return [i.id for i in self.d[0].incidents.list_open()]

    def create(self) -> None:
        lat, lon = self.pick([MK, OXFORD, READING])
        inc = self.pick(self.h).incidents.create(
            channel=self.pick(["999", "101", "online"]), incident_type=self.pick(["ASB", "BURGLARY", "RTC"]),
            summary=f"Scripted incident {self.done}", lat=lat + self.rng.uniform(-0.01, 0.01),
            lon=lon + self.rng.uniform(-0.01, 0.01), grade=self.pick([None, "G1", "G2", "G3"]))
        self.incidents.append(inc.id)

    def grade(self) -> None:
        self.sup.incidents.grade(self.pick(self.open_ids()), self.pick(["G1", "G2", "G3", "G4"]),
                                 rationale="scripted regrade")

    def assign(self) -> None:
        self.pick(self.d).despatch.assign(self.pick(self.open_ids()), self.pick(self.callsigns + self.arvs))

    def _on_incident(self, status: str):
        units = [u for u in self.d[0].units.list() if u.incident_id and u.status == status]
        return self.pick(units)

    def arrive(self) -> None:
        u = self._on_incident("en_route")
        self.pick(self.d).despatch.arrived(u.incident_id, u.callsign)

    def clear(self) -> None:
        u = self._on_incident(self.pick(["en_route", "at_scene"]))
        self.pick(self.d).despatch.clear(u.incident_id, u.callsign, result="Words of advice given")

    def close(self) -> None:
        busy = {u.incident_id for u in self.d[0].units.list() if u.incident_id}
        free = [i for i in self.open_ids() if i not in busy]
        self.pick(self.d).incidents.close(self.pick(free), closing_code="NFA", result="Scripted close")

    def unit_status(self) -> None:
        self.pick(self.d).units.set_status(self.pick(self.callsigns),
                                           self.pick(["available", "refreshments", "at_station"]))

    def position(self) -> None:
        lat, lon = self.pick([MK, OXFORD, READING])
        self.pick(self.d).units.update_position(self.pick(self.callsigns + self.arvs),
                                                lat + self.rng.uniform(-0.02, 0.02),
                                                lon + self.rng.uniform(-0.02, 0.02))

    def talk_group(self) -> None:
        d = self.pick(self.d)
        held = [g for g in d.talkgroups.list() if g.kind == "incident" and g.incident_id]
        if held and self.rng.random() < 0.4:
            g = self.pick(held)
            d.talkgroups.release(g.incident_id, g.name)
        elif held and self.rng.random() < 0.5:
            g = self.pick(held)
            d.talkgroups.move_units(g.name, self.rng.sample(self.callsigns, 2))
        else:
            d.talkgroups.allocate(self.pick(self.open_ids()))

    def firearms(self) -> None:
        ids = self.open_ids()
        armed = [i for i in ids if self.d[0].incidents.get(i).firearms]
        if not armed or self.rng.random() < 0.4:
            self.pick(self.h).command.declare_firearms(self.pick(ids))
        elif self.rng.random() < 0.5:
            self.insp.command.authorise_armed_deployment(
                self.pick(armed), threat_assessment="Report of a handgun", working_strategy="Contain",
                rationale="Credible threat to life")
        elif self.rng.random() < 0.5:
            self.insp.command.assign_role(self.pick(armed), "TFC", holder=self.pick(["Insp Kaur", "Insp Lee"]))
        else:
            self.insp_s.command.declare_major(self.pick(ids), kind=self.pick(["major", "critical"]))

    def transfer(self) -> None:
        areas = {a.code: a for a in self.sup.rooms.areas()}
        moved = [a for a in areas.values() if a.transferred]
        if moved and self.rng.random() < 0.5:
            self.insp.rooms.hand_back(reason="scripted hand back")
        else:
            code = self.pick(sorted(areas))
            to = "south" if areas[code].room_code == "north" else "north"
            self.sup.rooms.transfer_area(code, to, reason="scripted transfer")

    def update(self) -> None:
        inc = self.d[0].incidents.get(self.pick(self.open_ids()))
        self.pick(self.h).incidents.update(inc.id, expected_version=inc.version,
                                           summary=inc.summary + " (updated)")


def test_replayed_room_equals_live_room_at_ten_random_moments(open_as):
    rng = random.Random(1313)
    script = Script(open_as, rng)
    for _ in range(12):          # some incidents first so the other actions have work
        script.create()
    capture_after = sorted(rng.sample(range(40, ACTIONS), CAPTURES))
    captures: list[tuple[int, dict]] = []
    steps = 0
    while script.done < ACTIONS and steps < ACTIONS * 4:
        steps += 1
        script.step()
        if capture_after and script.done >= capture_after[0]:
            capture_after.pop(0)
            captures.append((_head(script.insp), live_structured(script.insp)))
    assert script.done >= ACTIONS and len(captures) == CAPTURES

    replayer = Replayer(script.insp.url, snapshot_every=200).build()
    try:
        for seq, live in captures:
            replayed = replayer.state_at(seq).structured()
            for part in ("areas", "talk_groups", "units", "incidents"):
                assert replayed[part] == live[part], f"{part} differ at event #{seq}"
        assert any(live["incidents"] for _, live in captures)
        assert any(live["talk_groups"] for _, live in captures)
        assert any(inc["command"] for _, live in captures for inc in live["incidents"].values())
        assert any(a != b for a, b in zip(captures, captures[1:]))  # moments really differ
        # And by time: the state at the time of a capture's last event is that capture.
        seq, live = captures[-1]
        at = replayer.time_of(seq)
        assert replayer.seq_at(at) >= seq
        assert replayer.state_at(seq).structured()["incidents"] == live["incidents"]
    finally:
        replayer.close()


def test_state_before_the_baseline_is_refused_and_unknown_kinds_are_counted(open_as):
    s = open_as("inspector.north")
    replayer = Replayer(s.url).build()
    try:
        assert replayer.first_seq >= 0
        if replayer.first_seq > 0:
            with pytest.raises(InvalidInput):
                replayer.state_at(replayer.first_seq - 1)
        state = replayer.state_at()
        state.apply(Event(seq=state.seq + 1, kind="martian.landed", entity_id=None, room_code=None,
                          payload={}, at=None))
        assert state.ignored["martian.landed"] == 1 and state.seq == replayer.head_seq + 1
    finally:
        replayer.close()


def test_snapshot_is_independent_of_later_events():
    base = VirtualRoomState.from_baseline(0, {"areas": {"mk": "north"}, "units": [
        {"callsign": "MK11", "capabilities": ["IRV"], "home_area_code": "mk", "status": "available"}]})
    snap = base.copy()
    base.apply(Event(seq=1, kind="unit.status", entity_id="MK11", room_code="north",
                     payload={"callsign": "MK11", "status": "refreshments"}, at=None))
    base.apply(Event(seq=2, kind="room.area_transferred", entity_id="mk", room_code="south",
                     payload={"area_rooms": {"mk": "south"}}, at=None))
    assert snap.units["MK11"]["status"] == "available" and snap.areas["mk"] == "north"
    assert base.units["MK11"]["status"] == "refreshments" and base.areas["mk"] == "south"


def test_jump_by_time_lands_on_the_last_event_recorded_by_then(open_as):
    s = open_as("handler.north")
    inc = s.incidents.create(channel="999", incident_type="ASB", summary="time jump", lat=MK[0], lon=MK[1])
    replayer = Replayer(s.url).build()
    try:
        seq = replayer.seq_at(inc.created_at + timedelta(milliseconds=1))
        assert inc.id in replayer.state_at(seq).incidents
        assert inc.id not in replayer.state_at(at=inc.created_at - timedelta(seconds=60)).incidents \
            or replayer.seq_at(inc.created_at - timedelta(seconds=60)) == replayer.first_seq
    finally:
        replayer.close()


def test_replay_window_shows_the_past_marked_replay_filters_by_console_and_exports(open_as, qtbot, tmp_path):
    from ui.kit.context import ConsoleContext
    from ui.kit.event_bridge import EventBridge
    from ui.replay.window import ReplayWindow, may_replay

    handler = open_as("handler.north", console_id="N-31")
    south = open_as("handler.south", console_id="S-31")
    a = handler.incidents.create(channel="999", incident_type="ASB", summary="Replay north", lat=MK[0], lon=MK[1],
                                 grade="G1")
    b = south.incidents.create(channel="999", incident_type="ASB", summary="Replay south", lat=OXFORD[0],
                               lon=OXFORD[1], grade="G2")
    auditor = open_as("auditor", console_id="A-01")
    assert may_replay("auditor") and may_replay("trainer") and not may_replay("despatcher")
    ctx = ConsoleContext(session=auditor, bridge=EventBridge(auditor))
    win = ReplayWindow(ctx, with_map=False)
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.ready, timeout=10000)
    assert win.band.text().startswith("REPLAY")
    r = win.replayer
    seq_a = r.incident_creations()[a.id][0]
    win.seek(seq_a - 1)
    assert win.model.row_of(a.id) == -1
    win.jump.setCurrentIndex(win.jump.findText(a.urn))
    win._jump_chosen(win.jump.currentIndex())
    assert win.state.seq == seq_a and win.model.row_of(a.id) >= 0 and win.selected == a.id
    assert "Command chain" in win.chain.toPlainText()
    win.mark()
    win.seek(r.head_seq)
    assert win.model.row_of(b.id) >= 0
    win.console.setCurrentIndex(win.console.findData("N-31"))
    win._render()
    assert win.viewing_room() == "north" and win.model.row_of(b.id) == -1 and win.model.row_of(a.id) >= 0
    html = win.export_segment(tmp_path / "seg.html").read_text()
    text = win.export_segment(tmp_path / "seg.txt").read_text()
    assert "REPLAY" in html and b.urn not in text.split("Events in the segment")[0]
    assert "incident.created" in text and b.urn in text
    win.play_button.setChecked(True)
    assert win.timer.isActive()
    win.play_button.setChecked(False)
