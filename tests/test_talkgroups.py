"""Talk groups: exclusive allocation by the database, release on close, patches, radio log."""
from __future__ import annotations

import threading

import psycopg
import pytest
from sqlalchemy import text

from controlroom.errors import Conflict, InvalidInput, NotPermitted

from .conftest import MK, OXFORD
from .helpers import sql, wait_for

POOL = [f"TV-INC-{i:02d}" for i in range(1, 17)]



def new_incident(s, where=MK, **kw):
    return s.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight in the street",
                              lat=where[0], lon=where[1], grade="G1", **kw)


def rows(session, sql, **params):
    with session.engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def free_all(session):
    """Give every pool group back (tests in this module share one database)."""
    for g in session.talkgroups.list():
        if g.incident_id is not None:
            session.talkgroups.release(g.incident_id, g.name)


@pytest.fixture
def north(open_as):
    s = open_as("despatch.north")
    yield s
    free_all(s)


def test_allocate_takes_a_free_pool_group_and_records_who(north):
    inc = new_incident(north)
    tg = north.talkgroups.allocate(inc.id)
    assert tg.kind == "incident" and tg.incident_id == inc.id and tg.name in POOL
    assert tg.urn == inc.urn and tg.state == "allocated" and tg.room_code == "north"
    assert tg.allocated_by == "despatch.north" and tg.allocated_at is not None
    assert [g.name for g in north.talkgroups.for_incident(inc.id)] == [tg.name]
    assert any(e.kind == "talkgroup" and tg.name in e.text for e in north.incidents.log(inc.id))


def test_named_allocation_of_a_taken_group_is_a_conflict_naming_the_holder(north, open_as):
    a, b = new_incident(north), new_incident(north)
    north.talkgroups.allocate(a.id, name="tv-inc-07")
    south = open_as("despatch.south")
    with pytest.raises(Conflict, match=f"TV-INC-07 is already allocated to {a.urn} by despatch.north"):
        south.talkgroups.allocate(b.id, name="TV-INC-07")


@pytest.mark.parametrize("name, message", [
    ("TV-MK-PRI", "primary talk group"),
    ("PART-HIGHWAYS", "partner talk group"),
    ("TRN-01", "training talk group; it cannot be allocated from a live console"),
    ("NOPE-99", "No talk group called NOPE-99"),
    ("bad name!", "not a talk-group name"),
])
def test_only_live_pool_groups_can_be_allocated_on_a_live_console(north, name, message):
    inc = new_incident(north)
    with pytest.raises(InvalidInput, match=message):
        north.talkgroups.allocate(inc.id, name=name)
    assert north.talkgroups.for_incident(inc.id) == []


def test_database_refuses_allocating_a_primary_group_even_bypassing_the_service(north, db_url):
    inc = new_incident(north)
    with pytest.raises(Exception, match="permission denied for table talk_groups"):
        with north.engine.begin() as conn:  # a console cannot write the table at all (issue 19)
            conn.execute(text("UPDATE talk_groups SET incident_id = :i WHERE name = 'TV-MK-PRI'"), {"i": inc.id})
    with pytest.raises(Exception, match="ck_talk_groups_allocatable"):  # nor can the owner's own code
        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE talk_groups SET incident_id = %s WHERE name = 'TV-MK-PRI'", (inc.id,))


def test_database_refuses_a_second_open_allocation_row_for_one_group(north, db_url):
    inc = new_incident(north)
    tg = north.talkgroups.allocate(inc.id)
    with pytest.raises(Exception, match="uq_talk_group_allocations_open"):
        with psycopg.connect(db_url) as conn:  # the owner (consoles cannot write the table at all)
            conn.execute("INSERT INTO talk_group_allocations (talk_group, incident_id, allocated_by) "
                         "VALUES (%s, %s, 'x')", (tg.name, inc.id))


def test_call_handler_may_not_allocate_and_the_refusal_is_audited(north, open_as):
    inc = new_incident(north)
    handler = open_as("handler.north")
    with pytest.raises(NotPermitted, match="Call handlers may not allocate talk groups"):
        handler.talkgroups.allocate(inc.id)
    assert north.talkgroups.for_incident(inc.id) == []
    refused = open_as("auditor").audit.search(action="talkgroup.allocate")
    assert refused and refused[0].outcome == "refused" and refused[0].username == "handler.north"


def test_releasing_a_group_not_allocated_to_that_incident_is_invalid_input(north):
    a, b = new_incident(north), new_incident(north)
    tg = north.talkgroups.allocate(a.id)
    with pytest.raises(InvalidInput, match=f"{tg.name} is not allocated to {b.urn} \\(it is allocated to {a.urn}\\)"):
        north.talkgroups.release(b.id, tg.name)
    with pytest.raises(InvalidInput, match="is free"):
        north.talkgroups.release(b.id, next(n for n in POOL if n != tg.name and
                                            north.talkgroups.get(n).incident_id is None))
    assert north.talkgroups.get(tg.name).incident_id == a.id


def test_empty_pool_is_a_conflict_saying_so(north):
    incs = [new_incident(north) for _ in range(len(POOL))]
    for inc in incs:
        north.talkgroups.allocate(inc.id)
    assert north.talkgroups.pool_status().free == 0
    assert any("pool low" in w for w in north.talkgroups.warnings())
    extra = new_incident(north)
    with pytest.raises(Conflict, match="No incident talk groups free: all 16 are allocated"):
        north.talkgroups.allocate(extra.id)


def test_two_consoles_racing_for_the_last_free_group_never_both_get_it(open_as):
    north, south = open_as("despatch.north"), open_as("despatch.south")
    holders = [new_incident(north) for _ in range(len(POOL) - 1)]
    for inc in holders:
        north.talkgroups.allocate(inc.id)
    mine, theirs = new_incident(north), new_incident(south, where=OXFORD)
    wins = 0
    for _ in range(200):
        barrier = threading.Barrier(2)
        results: dict[str, object] = {}

        def go(who, s, inc):
            barrier.wait()
            try:
                results[who] = s.talkgroups.allocate(inc.id)
            except Conflict as exc:
                results[who] = exc

        threads = [threading.Thread(target=go, args=("n", north, mine)),
                   threading.Thread(target=go, args=("s", south, theirs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        won = [r for r in results.values() if not isinstance(r, Conflict)]
        assert len(results) == 2 and len(won) == 1, results
        assert "No incident talk groups free" in str(next(r for r in results.values() if isinstance(r, Conflict)))
        wins += 1
        north.talkgroups.release(won[0].incident_id, won[0].name)
    assert wins == 200
    assert rows(north, "SELECT count(*) FROM talk_group_allocations WHERE incident_id IN (:a, :b)",
                a=mine.id, b=theirs.id)[0][0] == 200
    free_all(north)


def test_despatcher_in_the_other_room_sees_the_allocation_live(north, open_as):
    south = open_as("despatch.south")
    seen = []
    south.events.subscribe(lambda ev: seen.append(ev) if ev.kind == "talkgroup.allocated" else None)
    inc = new_incident(north)
    tg = north.talkgroups.allocate(inc.id)
    assert wait_for(lambda: any(ev.entity_id == tg.name for ev in seen))
    ev = next(ev for ev in seen if ev.entity_id == tg.name)
    assert ev.payload["incident_id"] == inc.id and ev.payload["urn"] == inc.urn
    assert ev.payload["incident"]["urn"] == inc.urn and ev.room_code == "north"
    assert ev.username == "despatch.north"


def test_release_on_close_frees_groups_logs_and_audits(north, open_as):
    # G3: closing a G1/G2 needs THRIVE first, which is not what is tested here. The close goes
    # through the service (consoles cannot write incidents directly since issue 19): the
    # database's close releases the incident's groups in the same call.
    inc = north.incidents.create(channel="101", incident_type="ASB", summary="Youths gathering",
                                 lat=MK[0], lon=MK[1], grade="G3")
    a = north.talkgroups.allocate(inc.id)
    b = north.talkgroups.allocate(inc.id)
    north.talkgroups.move_units(a.name, ["MK11", "ARV11"])
    north.talkgroups.patch(a.name, "PART-HIGHWAYS")
    north.incidents.close(inc.id, closing_code="NFA", result="Words of advice given")
    assert north.talkgroups.for_incident(inc.id) == []
    assert north.talkgroups.get(a.name).state == "free"
    assert north.talkgroups.get("PART-HIGHWAYS").patched_with == ()
    assert {"MK11", "ARV11"} <= set(north.talkgroups.get("TV-MK-PRI").units)
    log = [e.text for e in north.incidents.log(inc.id) if e.kind == "talkgroup"]
    assert any(f"Talk group {a.name} incident closed" in t and "ARV11, MK11 back to primary" in t for t in log)
    assert any(f"Talk group {b.name} incident closed" in t for t in log)
    audit = open_as("auditor").audit.search(action="talkgroup.released")
    ours = {e.entity for e in audit if e.details["released_from"]["incident_id"] == inc.id}
    assert ours == {f"talkgroup:{a.name}", f"talkgroup:{b.name}"}
    assert all(e.outcome == "ok" and e.username == "despatch.north" for e in audit)
    returned = next(e for e in audit if e.entity == f"talkgroup:{a.name}"
                    and e.details["released_from"]["incident_id"] == inc.id).details["units_returned"]
    assert returned == [{"callsign": "ARV11", "to": "TV-MK-PRI"}, {"callsign": "MK11", "to": "TV-MK-PRI"}]
    with pytest.raises(InvalidInput, match="is closed"):
        north.talkgroups.allocate(inc.id)


def test_move_units_records_membership_and_refuses_unknown_callsigns(north):
    inc = new_incident(north)
    tg = north.talkgroups.allocate(inc.id)
    moved = north.talkgroups.move_units(tg.name, ["mk12", "DOG61"])
    assert set(moved.units) >= {"MK12", "DOG61"}
    assert "MK12" not in north.talkgroups.get("TV-MK-PRI").units
    with pytest.raises(InvalidInput, match="Unknown callsign"):
        north.talkgroups.move_units(tg.name, ["MK13", "ZZ999"])
    assert "MK13" not in north.talkgroups.get(tg.name).units
    free = next(g.name for g in north.talkgroups.list() if g.kind == "incident" and g.state == "free")
    with pytest.raises(InvalidInput, match="allocate it before moving"):
        north.talkgroups.move_units(free, ["MK13"])
    back = north.talkgroups.move_units("TV-MK-PRI", ["MK12"])
    assert "MK12" in back.units


def test_patch_links_one_partner_group_to_one_incident_group(north, open_as):
    a, b = new_incident(north), new_incident(north)
    ga, gb = north.talkgroups.allocate(a.id), north.talkgroups.allocate(b.id)
    tg = north.talkgroups.patch("PART-IMMIGRATION", ga.name)
    assert tg.patched_with == ("PART-IMMIGRATION",) and tg.state == "patched"
    south = open_as("despatch.south")
    with pytest.raises(Conflict, match=f"PART-IMMIGRATION is already patched to {ga.name}"):
        south.talkgroups.patch(gb.name, "PART-IMMIGRATION")
    with pytest.raises(InvalidInput, match="one incident talk group with one partner"):
        north.talkgroups.patch(ga.name, gb.name)
    north.talkgroups.unpatch(ga.name, "PART-IMMIGRATION")
    assert north.talkgroups.get(ga.name).state == "allocated"
    assert south.talkgroups.patch(gb.name, "PART-IMMIGRATION").patched_with == ("PART-IMMIGRATION",)
    with pytest.raises(InvalidInput, match="not patched together"):
        north.talkgroups.unpatch(ga.name, "PART-IMMIGRATION")


def test_radio_log_is_attached_to_the_incident(north):
    inc = new_incident(north)
    tg = north.talkgroups.allocate(inc.id)
    entry = north.talkgroups.log_transmission(tg.name, "Suspect detained, one in custody", callsign="ARV11")
    assert entry.incident_id == inc.id and entry.callsign == "ARV11"
    assert [t.text for t in north.talkgroups.transmissions(incident_id=inc.id)] == [
        "Suspect detained, one in custody"]
    radio = [e.text for e in north.incidents.log(inc.id) if e.kind == "radio"]
    assert radio == [f"[{tg.name}] ARV11: Suspect detained, one in custody"]
    primary = north.talkgroups.log_transmission("TV-MK-PRI", "Radio check all units")
    assert primary.incident_id is None
    with pytest.raises(InvalidInput, match="Radio log entry is required"):
        north.talkgroups.log_transmission(tg.name, "   ")


def test_armed_unit_on_incident_without_dedicated_group_is_warned(north, db_url):
    inc = new_incident(north, firearms=True)
    with psycopg.connect(db_url) as conn:  # issue 6's despatch does this; set it directly (owner) here
        conn.execute("UPDATE units SET incident_id = %s WHERE callsign = 'ARV11'", (inc.id,))
    try:
        assert any(inc.urn in w and "ARV11" in w for w in north.talkgroups.warnings())
        north.talkgroups.allocate(inc.id)
        assert not any(inc.urn in w for w in north.talkgroups.warnings())
    finally:
        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE units SET incident_id = NULL WHERE callsign = 'ARV11'")


def test_training_console_allocates_only_training_groups(fresh_db_url, open_as):
    live = open_as("despatch.north", url=fresh_db_url)
    inc = new_incident(live)
    live.ctx.training = True  # the console claiming training changes nothing: the database decides
    assert live.talkgroups.allocate(inc.id).kind == "incident"
    # a training database has the same catalogue: make this one a training database
    sql(fresh_db_url, "UPDATE meta SET value = 'training' WHERE key = 'mode'")
    tg = live.talkgroups.allocate(inc.id)
    assert tg.kind == "training" and tg.name.startswith("TRN-")
    with pytest.raises(InvalidInput, match="live talk group; a training console may not"):
        live.talkgroups.allocate(inc.id, name="TV-INC-02")


def test_closing_an_incident_releases_its_groups_end_to_end(north, open_as):
    # G3: issue 4 asks for a THRIVE assessment before a G1/G2 closes; not what is tested here.
    inc = north.incidents.create(channel="101", incident_type="ASB", summary="Youths gathering",
                                 lat=MK[0], lon=MK[1], grade="G3")
    tg = north.talkgroups.allocate(inc.id)
    south = open_as("despatch.south")
    released = []
    south.events.subscribe(lambda ev: released.append(ev) if ev.kind == "talkgroup.released" else None)
    north.incidents.close(inc.id, closing_code="NFA", result="Words of advice given")
    assert north.talkgroups.get(tg.name).state == "free"
    assert wait_for(lambda: any(ev.payload["released_from"]["incident_id"] == inc.id for ev in released))
    assert any(e.kind == "talkgroup" and f"{tg.name} incident closed" in e.text for e in north.incidents.log(inc.id))
