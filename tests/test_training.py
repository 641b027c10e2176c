"""Training rooms: own database, isolation from live, reset, scenario player, debrief, fallback switch."""
from __future__ import annotations

import itertools
import logging
import threading
import time

import psycopg
import pytest
from psycopg import sql

from controlroom.db import init_database
from controlroom.db.training_copy import reset_training
from controlroom.demo.debrief import WATERMARK, build_debrief
from controlroom.errors import InvalidInput, NotPermitted, WrongDatabase
from controlroom.demo.scenario import ManualClock, ScenarioPlayer, list_scenarios, load_scenario
from controlroom.session import open_session
from controlroom.db.engine import make_engine

from .conftest import MK, server_url

_n = itertools.count(1)
REFERENCE = ("rooms", "areas", "users", "units", "talk_groups")


def _fresh_training_db(pg_server, name: str, **kw) -> str:
    url = server_url(pg_server, name)
    with psycopg.connect(server_url(pg_server, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    init_database(url, training=True, **kw)
    return url


@pytest.fixture(scope="module")
def trn_url(pg_server) -> str:
    return _fresh_training_db(pg_server, "trn_test_training")


@pytest.fixture
def open_trn(trn_url):
    opened = []

    def _open(username: str, *, console_id: str | None = None):
        s = open_session(trn_url, username, "demo", console_id or f"T-{next(_n):03d}", training=True)
        opened.append(s)
        return s

    yield _open
    for s in opened:
        s.close()


def count_all_tables(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")]
        return {t: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()[0]
                for t in tables}


def tiny(events, **extra) -> object:
    return load_scenario({"name": "tiny", "duration": extra.pop("duration", 600), "events": events, **extra})


def mk_incident(at, ref, summary="Test call", **kw):
    return {"at": at, "do": "incident", "ref": ref, "args": {
        "channel": "999", "incident_type": "ASSAULT", "summary": summary, "lat": MK[0], "lon": MK[1],
        "grade": "G1", **kw}}


def test_training_database_mirrors_live_reference_data_without_incidents(trn_url, db_url, open_as):
    open_as("handler.north").incidents.create(channel="999", incident_type="RTC", summary="Live call",
                                              lat=MK[0], lon=MK[1])
    live, trn = count_all_tables(db_url), count_all_tables(trn_url)
    for t in REFERENCE:
        assert trn[t] == live[t] > 0, t
    assert live["incidents"] >= 1
    with psycopg.connect(trn_url) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'mode'").fetchone()[0] == "training"


def test_training_copy_from_live_url_takes_live_users_and_units_but_no_incidents(pg_server, db_url, open_as):
    live_s = open_as("handler.north")
    live_inc = live_s.incidents.create(channel="999", incident_type="RTC", summary="Live only",
                                       lat=MK[0], lon=MK[1])
    with psycopg.connect(db_url, autocommit=True) as conn:  # a live-only change the copy must carry
        conn.execute("UPDATE users SET display_name = 'Renamed in live' WHERE username = 'handler.south'")
    url = _fresh_training_db(pg_server, "trn_from_live", live_url=db_url)
    with psycopg.connect(url) as trn, psycopg.connect(db_url) as live:
        q = "SELECT username, display_name, home_room_code FROM users ORDER BY username"
        assert trn.execute(q).fetchall() == live.execute(q).fetchall()
        q = "SELECT callsign, capabilities, home_area_code FROM units ORDER BY callsign"
        assert trn.execute(q).fetchall() == live.execute(q).fetchall()
        assert trn.execute("SELECT count(*) FROM incidents").fetchone()[0] == 0
        assert trn.execute("SELECT count(*) FROM units WHERE incident_id IS NOT NULL").fetchone()[0] == 0
    s = open_session(url, "handler.south", "demo", "T-COPY", training=True)
    try:  # the copied users sign in with their own name and password
        assert s.user.display_name == "Renamed in live"
        with pytest.raises(InvalidInput):
            s.incidents.get_by_urn(live_inc.urn)
    finally:
        s.close()


def test_copy_refuses_a_source_that_is_not_live(pg_server, trn_url):
    with pytest.raises(WrongDatabase):
        _fresh_training_db(pg_server, "trn_from_trn", live_url=trn_url)


def test_consoles_are_refused_on_the_wrong_kind_of_database(trn_url, db_url):
    with pytest.raises(WrongDatabase, match="LIVE"):
        open_session(db_url, "trainer", "demo", "T-X", training=True)
    with pytest.raises(WrongDatabase, match="TRAINING"):
        open_session(trn_url, "despatch.north", "demo", "L-X", training=False)


def test_training_incidents_carry_trn_prefix(open_trn):
    inc = open_trn("handler.north").incidents.create(channel="999", incident_type="ASSAULT",
                                                     summary="Exercise call", lat=MK[0], lon=MK[1])
    assert inc.urn.startswith("TRN-")


def test_reset_is_refused_on_live_by_roles_and_by_the_database(db_url, open_as):
    with pytest.raises(NotPermitted, match="training rooms only"):
        open_as("trainer").exercise.reset()
    with pytest.raises(NotPermitted):
        open_as("inspector.north").exercise.reset()
    before = count_all_tables(db_url)
    engine = make_engine(db_url)
    try:  # even code that skips the service is stopped by the database's own mode check
        with pytest.raises(Exception, match="Only a training database can be reset"):
            with engine.begin() as conn:
                reset_training(conn)
    finally:
        engine.dispose()
    assert count_all_tables(db_url) == before


def test_scenario_run_in_training_never_reaches_live(db_url, open_trn, open_as):
    open_as("auditor")  # make sure the live DB has its sign-in rows before we count
    before = count_all_tables(db_url)
    player = ScenarioPlayer(open_trn("trainer"), load_scenario("quiet_shift"), ManualClock())
    player.reset()
    player.set_speed(16)
    player.start()
    player.jump("T+8:00:00")
    assert player.summary() == {"ok": len(player.scenario.events), "skipped": 0, "failed": 0}
    assert count_all_tables(db_url) == before


def test_reset_restores_the_scenario_start(trn_url, open_trn):
    trainer = open_trn("trainer")
    scenario = load_scenario("firearms_major")
    player = ScenarioPlayer(trainer, scenario, ManualClock())
    start_seq = player.reset()
    baseline = count_all_tables(trn_url)
    with psycopg.connect(trn_url) as conn:
        units0 = conn.execute("SELECT callsign, status, lat, lon FROM units ORDER BY 1").fetchall()
    assert dict((u[0], u[1]) for u in units0)["OX13"] == "available"
    player.start()
    player.jump("T+30:00")
    assert player.summary()["ok"] >= 10
    with psycopg.connect(trn_url, autocommit=True) as conn:
        conn.execute("UPDATE units SET status = 'committed', lat = 51.0 WHERE callsign = 'ARV41'")
    assert count_all_tables(trn_url)["incidents"] > 0
    t0 = time.monotonic()
    seq = player.reset()
    assert time.monotonic() - t0 < 5  # "in seconds"
    after = count_all_tables(trn_url)
    assert after["incidents"] == after["incident_log"] == 0
    assert after["events"] == 1 and seq > start_seq  # only the reset itself; seq keeps counting
    assert after["audit_log"] == 1
    with psycopg.connect(trn_url) as conn:
        assert conn.execute("SELECT callsign, status, lat, lon FROM units ORDER BY 1").fetchall() == units0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # append-only is armed again
            conn.execute("DELETE FROM events")
    assert {t: n for t, n in after.items() if t not in ("events", "audit_log", "consoles")} == \
        {t: n for t, n in baseline.items() if t not in ("events", "audit_log", "consoles")}
    assert player.state == "ready" and player.position == 0 and player.fired == []


def test_second_training_console_receives_injected_events_live(open_trn):
    trainee = open_trn("handler.north")
    got: list = []
    arrived = threading.Event()

    def on_event(ev):
        if ev.kind == "incident.created":
            got.append(ev)
            arrived.set()

    trainee.events.subscribe(on_event)
    player = ScenarioPlayer(open_trn("trainer"), tiny([mk_incident(5, "a", "Injected fight")]), ManualClock())
    player.start()
    assert player.tick() == []
    player.clock.advance(5)
    assert [f.outcome for f in player.tick()] == ["ok"]
    assert arrived.wait(5)
    assert got[0].payload["summary"] == "Injected fight" and got[0].payload["urn"].startswith("TRN-")
    assert got[0].username == "trainer"


def test_pause_and_speed_follow_the_controllable_clock(open_trn):
    clock = ManualClock(1000.0)
    events = [mk_incident(10, "a"), mk_incident(60, "b"), mk_incident(120, "c"), mk_incident(400, "d")]
    player = ScenarioPlayer(open_trn("trainer"), tiny(events), clock, announce=False)
    player.start()
    clock.advance(9)
    assert player.tick() == [] and player.position == 9
    clock.advance(1)
    assert len(player.tick()) == 1
    player.pause()
    clock.advance(500)  # paused: time stands still
    assert player.tick() == [] and player.position == 10
    player.start()
    player.set_speed(4)
    clock.advance(12.5)  # 50 scenario seconds at x4
    assert player.position == 60 and [f.index for f in player.tick()] == [1]
    player.set_speed(16)
    clock.advance(3.75)  # 60 more at x16
    assert player.position == 120 and [f.index for f in player.tick()] == [2]
    with pytest.raises(InvalidInput):
        player.set_speed(3)
    clock.advance(100)
    assert [f.index for f in player.tick()] == [3]
    assert player.state == "finished" and player.position == 600


def test_jump_forward_fires_the_gap_and_backward_replays_from_reset(open_trn):
    trainer = open_trn("trainer")
    player = ScenarioPlayer(trainer, tiny([mk_incident(10, "a"), mk_incident(100, "b"),
                                           mk_incident(200, "c")]), ManualClock(), announce=False)
    player.reset()
    player.jump("T+3:30")
    assert [f.index for f in player.fired] == [0, 1, 2] and player.state == "ready"
    player.jump(50)  # backwards: the database goes back to the start, then replays up to T+0:50
    assert [f.index for f in player.fired] == [0]
    assert len(trainer.incidents.list_open()) == 1
    with pytest.raises(InvalidInput):
        player.jump("T+99:00")


def test_missing_service_or_bad_event_is_skipped_with_a_warning_and_play_goes_on(open_trn, caplog):
    player = ScenarioPlayer(open_trn("trainer"), tiny([
        {"at": 1, "do": "call", "call": "nosuch.method", "args": {"x": 1}},
        {"at": 2, "do": "log", "args": {"incident": "@never", "text": "x"}},
        mk_incident(3, "ok")]), ManualClock(), announce=False)
    with caplog.at_level(logging.WARNING):
        player.jump(5)
    assert [f.outcome for f in player.fired] == ["skipped", "failed", "ok"]
    assert "nosuch.method" in caplog.text


def test_scenario_files_are_valid_and_quiet_shift_is_big_enough():
    assert {"quiet_shift", "firearms_major"} <= set(list_scenarios())
    quiet = load_scenario("quiet_shift")
    assert len(quiet.events) >= 200 and quiet.duration == 8 * 3600
    assert quiet.events[-1].at <= quiet.duration
    fm = load_scenario("firearms_major")
    kinds = {e.kind for e in fm.events}
    assert {"incident", "firearms", "major_incident", "unit_status", "avl", "contact"} <= kinds
    with pytest.raises(InvalidInput, match="unknown kind"):
        load_scenario({"events": [{"at": 1, "do": "teleport"}]})
    with pytest.raises(InvalidInput, match="T\\+mm:ss"):
        load_scenario({"events": [{"at": "soon", "do": "incident"}]})


def test_debrief_compares_trainee_actions_with_expected_timings(open_trn):
    trainer, trainee = open_trn("trainer"), open_trn("handler.north", console_id="T-HN")
    scenario = tiny([mk_incident(1, "a", "Expect a log"), mk_incident(2, "b", "Nobody logs this")],
                    expect=[{"after": "a", "kind": "incident.logged", "within": "1:00", "label": "log it"},
                            {"after": "b", "kind": "incident.logged", "within": "1:00", "label": "missed"}])
    player = ScenarioPlayer(trainer, scenario, ManualClock(), announce=False)
    player.reset()
    player.jump(5)
    trainee.incidents.add_log(player.refs["a"].id, "Trainee logged the call")
    report = build_debrief(scenario, trainer.exercise.timeline(since_seq=player.start_seq),
                           trainer="trainer", ref_seq=player.ref_seq)
    assert [(r.label, r.outcome, r.by) for r in report.results] == [
        ("log it", "met", "handler.north"), ("missed", "missed", None)]
    assert report.per_user == {"handler.north": 1}
    text = report.to_text()
    assert text.startswith(WATERMARK) and "Trainee logged the call" in text
    assert WATERMARK in report.to_html()


def test_only_an_inspector_switches_a_live_room_to_fallback(open_as, open_trn):
    with pytest.raises(NotPermitted):
        open_as("super.north").exercise.set_fallback(on=True, reason="North room evacuated")
    insp = open_as("inspector.north")
    with pytest.raises(InvalidInput):
        insp.exercise.set_fallback(on=True)  # a reason is required to switch on
    state = insp.exercise.set_fallback(on=True, reason="North room evacuated")
    assert state.on and insp.exercise.fallback().on and insp.exercise.fallback().by == "inspector.north"
    assert not insp.exercise.fallback("south").on
    insp.exercise.set_fallback(on=False)
    assert not insp.exercise.fallback().on
    with pytest.raises(NotPermitted):  # a training database is never a live fallback
        open_trn("trainer").exercise.set_fallback(on=True, reason="x")
