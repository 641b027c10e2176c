"""Incident list panel and command-line verbs (pytest-qt, real PostgreSQL)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


from controlroom.services.views import IncidentView
from controlroom.kernel import palette
from ui.cli.line import CommandLine
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.incidents.list_panel import IncidentListPanel
from ui.incidents.model import COL, IncidentTableModel

from .conftest import MK, OXFORD

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_panel(qtbot, session, clock=None) -> IncidentListPanel:
    ctx = ConsoleContext(session=session, bridge=EventBridge(session), clock=clock or Clock(T0))
    panel = IncidentListPanel(ctx)
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.loaded, timeout=5000)
    return panel


def incident(i: int, grade: str | None, *, minutes: int | None, **kw) -> IncidentView:
    base = dict(id=i, urn=f"TV-20261123-{i:05d}", channel="999", incident_type="ASSAULT", summary="Fight",
                lat=MK[0], lon=MK[1], area_code="mk", room_code="north", grade=grade, status="open",
                version=1, created_at=T0, deadline_at=None if minutes is None else T0 + timedelta(minutes=minutes))
    base.update(kw)
    return IncidentView(**base)


def test_countdown_turns_amber_at_75_percent_and_red_on_breach(qtbot):
    clock = Clock(T0)
    model = IncidentTableModel(clock)
    model.load([incident(1, "G1", minutes=15), incident(2, None, minutes=None)], {})
    assert model.countdown_colour(0) == palette.COUNTDOWN_OK.lower()
    clock.now = T0 + timedelta(minutes=11, seconds=14)             # 74.9 % used
    assert model.countdown_colour(0) == palette.COUNTDOWN_OK.lower()
    clock.now = T0 + timedelta(minutes=11, seconds=15)             # 75 %
    assert model.countdown_colour(0) == palette.COUNTDOWN_WARN.lower()
    assert model.data(model.index(0, COL["Countdown"])) == "03:45"
    clock.now = T0 + timedelta(minutes=15)
    assert model.countdown_colour(0) == palette.COUNTDOWN_BREACH.lower()
    clock.now = T0 + timedelta(minutes=17, seconds=5)
    assert model.data(model.index(0, COL["Countdown"])) == "BREACH +02:05"
    # the ungraded one is late being graded (its own countdown), not a grade breach to record
    assert model.countdown_colour(1) == palette.COUNTDOWN_BREACH.lower() and model.breached_ids(clock.now) == [1]
    model.upsert(incident(1, "G1", minutes=15, version=2, arrived_at=T0 + timedelta(minutes=9)))
    assert model.countdown_colour(0) is None and model.data(model.index(0, COL["Countdown"])) == "met"


def test_grade_cell_uses_palette_colour_with_text(qtbot):
    from PySide6.QtCore import Qt
    model = IncidentTableModel(Clock(T0))
    model.load([incident(1, "G1", minutes=15), incident(2, "G3", minutes=2880)], {})
    assert model.data(model.index(0, COL["Grade"]), Qt.BackgroundRole).name() == palette.GRADE_COLOURS["G1"].lower()
    assert model.data(model.index(1, COL["Grade"])) == "G3"


def test_incident_from_second_console_appears_within_a_second_without_reset(qtbot, open_as):
    panel = make_panel(qtbot, open_as("despatch.north"))
    model = panel.model
    resets, inserted, changed = [], [], []
    model.modelReset.connect(lambda: resets.append(1))
    model.rowsInserted.connect(lambda _p, a, b: inserted.append((a, b)))
    model.dataChanged.connect(lambda tl, br, *_: changed.append((tl.row(), br.row(), tl.column(), br.column())))
    other = open_as("handler.south")
    inc = other.incidents.create(channel="999", incident_type="ROBBERY", summary="Shop robbed", lat=OXFORD[0],
                                 lon=OXFORD[1], grade="G2")
    qtbot.waitUntil(lambda: model.row_of(inc.id) is not None, timeout=1000)
    assert inserted == [(model.row_of(inc.id), model.row_of(inc.id))]
    other.incidents.grade(inc.id, "G1", rationale="Weapon seen")
    r = model.row_of(inc.id)
    qtbot.waitUntil(lambda: model.incident_at(r).grade == "G1", timeout=1000)
    assert (r, r, 0, len(COL) - 1) in changed
    d = open_as("despatch.south")
    d.incidents.thrive(inc.id, **{k: "Assessed" for k in ("threat", "harm", "risk", "investigation",
                                                          "vulnerability", "engagement")})  # G1 closes with THRIVE (issue 14)
    d.incidents.close(inc.id, closing_code="NFA", result="Gone on arrival")
    qtbot.waitUntil(lambda: model.row_of(inc.id) is None, timeout=1000)
    assert resets == []


def test_filters_by_room_grade_and_free_text(qtbot, open_as):
    s = open_as("handler.north")
    a = s.incidents.create(channel="999", incident_type="BURGLARY", summary="Break-in at the bakery",
                           lat=MK[0], lon=MK[1], grade="G2", address="1 Midsummer Blvd")
    b = s.incidents.create(channel="101", incident_type="ASB", summary="Youths on bikes", lat=OXFORD[0],
                           lon=OXFORD[1], grade="G3")
    panel = make_panel(qtbot, s)
    ids = lambda: {panel.proxy.data(panel.proxy.index(r, 0), Qt.UserRole + 2) for r in range(panel.proxy.rowCount())}
    from PySide6.QtCore import Qt
    panel.find.setText("bakery")
    assert ids() == {a.id}
    panel.find.setText("")
    panel.room_box.setCurrentIndex(panel.room_box.findData("north"))
    assert a.id in ids() and b.id not in ids()
    panel.room_box.setCurrentIndex(0)
    panel.grade_box.setCurrentIndex(panel.grade_box.findData("G3"))
    assert b.id in ids() and a.id not in ids()


def test_command_line_creates_and_grades_an_incident(qtbot, open_as):
    s = open_as("handler.north")
    ctx = ConsoleContext(session=s, bridge=EventBridge(s))
    line = CommandLine(ctx)
    qtbot.addWidget(line)
    with qtbot.waitSignal(line.executed, timeout=5000) as sig:
        line.run("N ASSAULT G2 Aylesbry / Fight outside the Kings Head")
    assert sig.args[1].startswith("Created TV-") and "Aylesbury" in sig.args[1]
    urn = sig.args[1].split()[1]
    inc = s.incidents.get_by_urn(urn)
    assert (inc.grade, inc.area_code, inc.address) == ("G2", "bucks", "Aylesbury")
    with qtbot.waitSignal(line.executed, timeout=5000) as sig:
        line.run(f"G1 {urn} Caller now says a knife was produced")
    assert "now G1" in sig.args[1] and s.incidents.get(inc.id).grade == "G1"
    with qtbot.waitSignal(line.executed, timeout=5000) as sig:
        line.run(f"L {int(urn[-5:])} Ambulance requested")
    assert s.incidents.log(inc.id)[-1].text == "Ambulance requested"
    with qtbot.waitSignal(line.executed, timeout=5000) as sig:
        line.run(f"C {urn} NOPE")
    assert "not recognised" in sig.args[1]


def test_shared_scope_filters_to_my_room_and_follows_an_area_transfer(qtbot, open_as):
    from PySide6.QtCore import Qt

    from ui.kit.room_banner import MINE, VIRTUAL, ScopeToggle, scope
    s = open_as("handler.north")
    mk = s.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight outside the club",
                            lat=MK[0], lon=MK[1], grade="G1")
    ox = s.incidents.create(channel="101", incident_type="THEFT", summary="Bike stolen from rack",
                            lat=OXFORD[0], lon=OXFORD[1], grade="G3")
    d = open_as("despatch.north")
    panel = make_panel(qtbot, d)
    toggle = ScopeToggle(panel.ctx)  # e.g. the units board's toggle on the same console
    qtbot.addWidget(toggle)
    ids = lambda: {panel.proxy.data(panel.proxy.index(r, 0), Qt.UserRole + 2) for r in range(panel.proxy.rowCount())}
    assert {mk.id, ox.id} <= ids()
    toggle.buttons[MINE].click()  # toggling anywhere on the console filters this list
    assert scope(panel.ctx).value == MINE and panel.room_box.currentData() == "north"
    assert mk.id in ids() and ox.id not in ids()
    sup = open_as("super.north")
    sup.rooms.transfer_area("oxon", "north", reason="South room evacuated for a fire alarm")
    try:
        qtbot.waitUntil(lambda: ox.id in ids(), timeout=5000)  # the moved incident is now my room's
        panel.room_box.setCurrentIndex(0)  # and the list's own combo moves the shared scope back
        assert scope(panel.ctx).value == VIRTUAL and toggle.buttons[VIRTUAL].isChecked()
    finally:
        sup.rooms.transfer_area("oxon", "south", reason="South room back in service")
