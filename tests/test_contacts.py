"""Contact handling: one virtual queue by priority and FIFO, exclusive pickup, call-back, emergency
content flags needing a human, service levels from the records, the hourly rollup."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from controlroom.errors import Conflict, InvalidInput, NotPermitted

from .conftest import MK

T = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


@pytest.fixture
def handler(open_as, fresh_db_url):
    return open_as("handler.north", url=fresh_db_url)


def test_queue_orders_by_priority_then_oldest_first(handler):
    c = handler.contacts
    sms = c.receive("sms", from_="07700900001", text="My bike was stolen last week", at=at(0))
    p101 = c.receive("101", from_="07700900002", at=at(10))
    late999 = c.receive("999", from_="07700900003", at=at(30))
    early999 = c.receive("999", from_="07700900004", at=at(20))
    alarm = c.receive("alarm", from_="ADT Monitoring", at=at(40))
    assert [x.priority for x in (sms, p101, late999, alarm)] == [4, 3, 1, 2]
    assert [x.id for x in c.queue()] == [early999.id, late999.id, alarm.id, p101.id, sms.id]
    taken = [c.next_contact() for _ in range(5)]
    assert [t.id for t in taken] == [early999.id, late999.id, alarm.id, p101.id, sms.id]
    assert all(t.state == "taken" and t.taken_by == "handler.north" for t in taken)
    assert c.next_contact() is None


def test_skills_limit_which_contacts_an_operator_is_given(handler):
    c = handler.contacts
    c.receive("999", from_="07700900010", at=at(0))
    email = c.receive("email", from_="someone@example.org", text="Noise complaint", at=at(5))
    got = c.next_contact(skills=["email", "webchat", "sms"])
    assert got.id == email.id
    assert c.next_contact(skills=["email"]) is None


def test_two_handlers_never_get_the_same_contact_in_200_rounds(open_as, fresh_db_url):
    a = open_as("handler.north", url=fresh_db_url)
    b = open_as("handler.south", url=fresh_db_url)
    taken_ids: list[int] = []
    for rnd in range(200):
        queued = 1 + rnd % 2  # alternate: one contact for two handlers, then two for two
        for i in range(queued):
            a.contacts.receive("101", from_=f"0770090{rnd:04d}", text=f"round {rnd}.{i}")
        barrier = threading.Barrier(2)
        got: dict[str, object] = {}

        def take(name, s):
            barrier.wait()
            got[name] = s.contacts.next_contact()

        threads = [threading.Thread(target=take, args=(n, s)) for n, s in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        ids = [v.id for v in got.values() if v is not None]
        assert len(ids) == queued and len(set(ids)) == len(ids), (rnd, got)
        taken_ids += ids
    assert len(taken_ids) == len(set(taken_ids)) == 300
    with psycopg.connect(fresh_db_url) as conn:
        dup = conn.execute("SELECT entity_id FROM events WHERE kind = 'contact.taken' "
                           "GROUP BY entity_id HAVING count(*) > 1").fetchall()
    assert dup == []


def test_call_back_re_enters_the_queue_at_its_original_place(handler):
    c = handler.contacts
    first = c.receive("101", from_="07700900020", at=at(0))
    second = c.receive("101", from_="07700900021", at=at(60))
    got = c.next_contact()
    assert got.id == first.id
    answered = c.answer(first.id, at=at(90))
    back = c.request_callback(answered.id)
    assert (back.state, back.callback_count, back.taken_by) == ("callback", 1, None)
    assert back.queue_time == first.queue_time == at(0)
    third = c.receive("101", from_="07700900022", at=at(120))
    assert [x.id for x in c.queue()] == [first.id, second.id, third.id]
    assert c.next_contact().id == first.id


def test_caller_waiting_in_queue_can_opt_for_call_back_and_keep_place(handler):
    c = handler.contacts
    waiting = c.receive("101", from_="07700900030", at=at(0))
    newer = c.receive("101", from_="07700900031", at=at(30))
    cb = c.request_callback(waiting.id)
    assert cb.state == "callback"
    assert [x.id for x in c.queue()] == [waiting.id, newer.id]


def test_sms_saying_he_has_a_knife_is_raised_to_priority_1_and_waits_for_a_human(handler, open_as,
                                                                                   fresh_db_url):
    c = handler.contacts
    older = c.receive("101", from_="07700900040", at=at(0))
    sms = c.receive("sms", from_="07700900041", text="Please come, he has a knife and is shouting", at=at(60))
    assert (sms.priority, sms.flagged_emergency, sms.needs_review) == (1, True, True)
    assert "he has a knife" in sms.flag_reason
    assert c.queue()[0].id == sms.id and c.queue()[1].id == older.id
    incidents_before = len(handler.incidents.list_open())
    confirmed = c.confirm_emergency(sms.id)
    assert (confirmed.priority, confirmed.needs_review, confirmed.review_outcome) == (1, False, "confirmed")
    assert confirmed.reviewed_by == "handler.north"
    assert len(handler.incidents.list_open()) == incidents_before  # the system never grades by itself
    with pytest.raises(InvalidInput, match="no emergency flag waiting"):
        c.confirm_emergency(sms.id)
    auditor = open_as("auditor", url=fresh_db_url)
    assert auditor.audit.search(action="contact.emergency_confirmed")


def test_dismissed_emergency_flag_returns_to_channel_priority_with_reason_recorded(handler, open_as,
                                                                                  fresh_db_url):
    c = handler.contacts
    mail = c.receive("email", from_="Gardener@Example.org", text="The hedge is not breathing well, lol",
                     at=at(0))
    assert mail.flagged_emergency
    with pytest.raises(InvalidInput) as err:
        c.dismiss_emergency(mail.id, reason="  ")
    assert err.value.field == "reason"
    dismissed = c.dismiss_emergency(mail.id, reason="About a plant, not a person")
    assert (dismissed.priority, dismissed.flagged_emergency, dismissed.review_outcome) == (4, False, "dismissed")
    assert dismissed.review_reason == "About a plant, not a person"
    rows = open_as("auditor", url=fresh_db_url).audit.search(action="contact.emergency_dismissed")
    assert rows and rows[0].entity == f"contact:{mail.id}"


def test_emergency_channels_are_not_flagged_they_are_already_priority_1(handler):
    c999 = handler.contacts.receive("999", from_="07700900050", text="he has a knife")
    assert (c999.priority, c999.flagged_emergency) == (1, False)
    quiet = handler.contacts.receive("webchat", from_="chat-123", text="Lost wallet in town")
    assert (quiet.priority, quiet.flagged_emergency) == (4, False)


def test_repeat_caller_is_recognised_by_number_and_email(handler):
    c = handler.contacts
    assert c.receive("101", from_="+44 7700 900060").repeat_count == 0
    again = c.receive("999", from_="07700 900060")
    assert again.repeat_count == 1 and again.repeat_caller
    c.receive("email", from_="Jo@Example.org")
    assert c.receive("online", from_="jo@example.org").repeat_count == 1
    assert [x.id for x in c.caller_history("07700900060")][-1] < again.id + 1


def test_contact_held_by_one_handler_cannot_be_answered_by_another(open_as, fresh_db_url):
    a = open_as("handler.north", url=fresh_db_url, console_id="N-01")
    b = open_as("handler.south", url=fresh_db_url)
    c = a.contacts.receive("101", from_="07700900070")
    a.contacts.next_contact()
    with pytest.raises(Conflict, match=r"handler\.north \(console N-01\)"):
        b.contacts.answer(c.id)
    with pytest.raises(Conflict):
        b.contacts.resolve(c.id, resolution="advice")
    resolved = a.contacts.resolve(c.id, resolution="Advice given")
    assert resolved.state == "resolved" and resolved.resolved_at is not None
    with pytest.raises(InvalidInput, match="is resolved"):
        a.contacts.answer(c.id)


def test_to_incident_creates_a_prefilled_incident_and_links_the_contact(handler):
    c = handler.contacts
    call = c.receive("101", from_="07700 900080", text="Car parked across my drive again")
    c.next_contact()
    c.answer(call.id)
    done = c.to_incident(call.id, incident_type="ASB", lat=MK[0], lon=MK[1], grade="G3")
    assert done.state == "to_incident" and done.incident_id is not None
    inc = handler.incidents.get(done.incident_id)
    assert (inc.channel, inc.summary, inc.grade) == ("101", "Car parked across my drive again", "G3")
    assert inc.caller_phone.replace(" ", "") == "07700900080"
    with pytest.raises(InvalidInput, match="already an incident"):
        c.to_incident(call.id, incident_type="ASB", lat=MK[0], lon=MK[1])


def test_digital_contact_assessed_with_thrive(handler):
    c = handler.contacts
    web = c.receive("online", from_="form-991", text="Fraud report")
    c.next_contact()
    thrive = {k: "low" for k in ("threat", "harm", "risk", "investigation", "vulnerability", "engagement")}
    with pytest.raises(InvalidInput):
        c.assess(web.id, thrive={"threat": "low"})
    done = c.assess(web.id, thrive=thrive)
    assert done.state == "assessed" and done.thrive == thrive and done.assessed_at is not None


@pytest.mark.parametrize("args, field", [
    (("pigeon",), "channel"), (("101",), "from_"), (("sms",), "at"), (("sms",), "text")])
def test_bad_contact_input_is_refused_and_nothing_is_queued(handler, args, field):
    kwargs = {"from_": "07700900090"}
    if field == "from_":
        kwargs["from_"] = " "
    if field == "at":
        kwargs["at"] = datetime(2026, 1, 1, 12, 0)  # naive: ambiguous
    if field == "text":
        kwargs["text"] = "x" * 5000
    with pytest.raises(InvalidInput) as err:
        handler.contacts.receive(*args, **kwargs)
    assert err.value.field == field
    assert handler.contacts.queue() == []


def test_auditor_may_not_take_contacts(open_as, fresh_db_url):
    with pytest.raises(NotPermitted):
        open_as("auditor", url=fresh_db_url).contacts.next_contact()


def _take(c, channel, from_, received, *, answer=None, abandon=None):
    x = c.receive(channel, from_=from_, at=received)
    got = c.next_contact()
    assert got.id == x.id
    if answer is not None:
        c.answer(x.id, at=answer)
    if abandon is not None:
        c.abandon(x.id, at=abandon)
    return x


def test_service_levels_match_a_hand_computed_fixture(handler):
    c = handler.contacts
    _take(c, "999", "0700000001", at(-60), answer=at(-58))          # before the window: ignored
    _take(c, "999", "0700000002", at(0), answer=at(5))              # met
    _take(c, "999", "0700000003", at(100), answer=at(110))          # met (exactly 10 s)
    _take(c, "999", "0700000004", at(200), answer=at(211))          # missed
    _take(c, "999", "0700000005", at(300), abandon=at(320))         # abandoned: missed
    _take(c, "999", "0700000006", at(400), answer=at(403))          # met
    _take(c, "switchboard", "0700000007", at(500), answer=at(525))  # met
    _take(c, "switchboard", "0700000008", at(600), answer=at(630))  # met (exactly 30 s)
    _take(c, "switchboard", "0700000009", at(700), answer=at(731))  # missed
    # digital: assess within 4 h, resolve within 24 h
    for n, (recv, assess, resolve) in enumerate([(0, 3600, 7200), (600, 5 * 3600, 25 * 3600),
                                                 (1200, None, None), (3600, 7200, 10800),
                                                 (1800, 3 * 3600, 28 * 3600)]):
        x = _take(c, "sms", f"0711{n}", at(recv))
        thrive = {k: "low" for k in ("threat", "harm", "risk", "investigation", "vulnerability", "engagement")}
        if assess is not None:
            c.assess(x.id, thrive=thrive, at=at(assess))
            c.resolve(x.id, resolution="advice", at=at(resolve))
    c.receive("sms", from_="07119", at=at(29 * 3600))                # not yet due: not counted
    c.receive("999", from_="0700000010", at=at(3595))               # waiting 5 s: not yet due
    c.receive("999", from_="0700000011", at=at(1800))               # waiting 30 min: missed

    hour = {(s.channel, s.measure): s for s in c.service_levels(since=T, until=at(3600))}
    s999 = hour[("999", "answered")]
    assert (s999.received, s999.offered, s999.met, s999.pct, s999.meets_target) == (7, 6, 3, 50.0, False)
    sw = hour[("switchboard", "answered")]
    assert (sw.offered, sw.met, sw.pct, sw.threshold_s) == (3, 2, 66.7, 30)
    assert hour[("101", "answered")].pct is None
    day = {(s.channel, s.measure): s for s in c.service_levels(since=T, until=at(30 * 3600))}
    assert (day[("sms", "assessed")].offered, day[("sms", "assessed")].met) == (5, 3)
    assert (day[("sms", "resolved")].offered, day[("sms", "resolved")].met) == (5, 2)
    assert day[("sms", "resolved")].pct == 40.0


def test_hourly_rollup_follows_every_write(handler, fresh_db_url):
    c = handler.contacts
    _take(c, "999", "0700000001", at(0), answer=at(4))
    dropped = _take(c, "999", "0700000002", at(10), abandon=at(30))
    c.request_callback(dropped.id)
    flagged = c.receive("sms", from_="0711", text="he has a knife", at=at(40))
    c.dismiss_emergency(flagged.id, reason="test message from a school")
    assert c.next_contact().id == dropped.id  # the call-back (priority 1) before the dismissed SMS
    c.answer(dropped.id)
    c.resolve(dropped.id, resolution="called back, all fine")
    with psycopg.connect(fresh_db_url) as conn:
        rollup = conn.execute(
            "SELECT channel, received, answered, answer_wait_s, abandoned, callbacks, resolved, flagged "
            "FROM contacts_hourly ORDER BY channel").fetchall()
        truth = conn.execute(
            "SELECT channel, count(*), count(answered_at), "
            "coalesce(sum(extract(epoch FROM answered_at - received_at)), 0), count(abandoned_at), "
            "sum(callback_count), count(*) FILTER (WHERE state = 'resolved'), "
            "count(*) FILTER (WHERE flagged_emergency OR review_outcome IS NOT NULL) "
            "FROM contacts GROUP BY channel ORDER BY channel").fetchall()
    assert [tuple(float(v) if not isinstance(v, str) else v for v in r) for r in rollup] == \
        [tuple(float(v) if not isinstance(v, str) else v for v in r) for r in truth]
    assert rollup[0][5] == 1  # the call-back is counted


def test_dashboard_snapshot_reports_queue_and_demand(handler):
    c = handler.contacts
    now = datetime.now(timezone.utc)
    c.receive("999", from_="0700000001", at=now - timedelta(seconds=42))
    c.receive("101", from_="0700000002", at=now - timedelta(seconds=300))
    c.receive("sms", from_="0700000003", text="not breathing")
    d = c.dashboard()
    assert {q.priority: q.waiting for q in d.queue} == {1: 2, 3: 1}
    assert d.queue_total() == 3 and d.needs_review == 1
    assert 290 < d.longest_wait_s() < 400
    assert sum(d.demand) == 3 and len(d.hours) == 24 and sum(d.demand_last_week) == 0
    assert d.sl("999") is not None and d.units_by_area


def test_demand_generator_fills_history_with_daily_pattern_and_a_matching_rollup(fresh_db_url):
    from controlroom.db.engine import make_engine
    from controlroom.demo.demand import generate

    engine = make_engine(fresh_db_url)
    try:
        end = datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc)  # a Monday midnight
        n = generate(engine, days=14, end=end, scale=0.2, chunk_days=5)
    finally:
        engine.dispose()
    assert 14 * 6000 * 0.2 * 0.8 < n < 14 * 6000 * 0.2 * 1.2
    with psycopg.connect(fresh_db_url) as conn:
        by_hour = dict(conn.execute(
            "SELECT extract(hour FROM received_at AT TIME ZONE 'Europe/London')::int, count(*) "
            "FROM contacts GROUP BY 1").fetchall())
        mismatch = conn.execute(
            "SELECT count(*) FROM contacts_hourly h FULL JOIN (SELECT date_trunc('hour', received_at) AS hour, "
            "channel, count(*) n, count(abandoned_at) ab FROM contacts GROUP BY 1, 2) t USING (hour, channel) "
            "WHERE h.received IS DISTINCT FROM t.n OR h.abandoned IS DISTINCT FROM t.ab").fetchone()[0]
        lo, hi = conn.execute("SELECT min(received_at), max(received_at) FROM contacts").fetchone()
    assert by_hour[17] > 3 * by_hour[4]  # late afternoon far busier than before dawn
    assert mismatch == 0
    assert lo >= end - timedelta(days=14) and hi < end
