"""Command escalation: firearms command, armed authorisation, handovers, NDM decision log, METHANE."""
from __future__ import annotations

import threading

import psycopg
import pytest

from controlroom.db.engine import libpq_url
from controlroom.errors import Conflict, InvalidInput, NotPermitted

from .conftest import MK, OXFORD
from .helpers import wait_for



def new_incident(session, where=MK, **kw):
    args = dict(channel="999", incident_type="ASSAULT", summary="Man with a handgun outside the shop",
                lat=where[0], lon=where[1], grade="G1")
    args.update(kw)
    return session.incidents.create(**args)


def authorise(inspector, incident_id):
    return inspector.command.authorise_armed_deployment(
        incident_id, threat_assessment="Male armed with handgun, threats to staff",
        working_strategy="Contain and negotiate; protect the public",
        rationale="Credible threat to life; ARVs required")


@pytest.fixture
def firearms_incident(open_as):
    handler = open_as("handler.north")
    inc = new_incident(handler)
    handler.command.declare_firearms(inc.id)
    return inc


def test_any_operator_declares_firearms_and_incident_is_flagged(open_as):
    handler = open_as("handler.north")
    inc = new_incident(handler)
    flagged = handler.command.declare_firearms(inc.id)
    assert flagged.firearms and flagged.version == inc.version + 1
    cmd = handler.command.current_command(inc.id)
    assert cmd.firearms and cmd.firearms_declared_at is not None and not cmd.armed_authorised
    assert "FIREARMS INCIDENT DECLARED" in handler.incidents.log(inc.id)[-1].text
    with pytest.raises(Conflict, match="already declared"):
        handler.command.declare_firearms(inc.id)


def test_declaration_reaches_inspector_of_the_other_room(open_as):
    seen = []
    south = open_as("inspector.south")
    south.events.subscribe(lambda ev: seen.append(ev) if ev.kind == "command.firearms_declared" else None)
    handler = open_as("handler.north")
    inc = new_incident(handler)
    handler.command.declare_firearms(inc.id)
    assert wait_for(lambda: any(e.entity_id == str(inc.id) for e in seen))
    ev = [e for e in seen if e.entity_id == str(inc.id)][0]
    assert ev.payload["urn"] == inc.urn and ev.payload["firearms"] is True
    assert ev.payload["declared_by"] == "handler.north" and ev.room_code == "north"


def test_owning_room_inspector_becomes_itfc(open_as, firearms_incident):
    insp = open_as("inspector.north")
    role = insp.command.accept_firearms_command(firearms_incident.id)
    assert (role.role, role.holder, role.from_holder) == ("ITFC", "inspector.north", None)
    chain = insp.command.current_command(firearms_incident.id)
    assert chain["ITFC"].holder == "inspector.north" and chain.in_command.role == "ITFC"
    with pytest.raises(Conflict, match="already holds ITFC"):
        insp.command.accept_firearms_command(firearms_incident.id)


def test_other_rooms_inspector_cannot_accept_and_is_audited(open_as, firearms_incident):
    south = open_as("inspector.south")
    with pytest.raises(NotPermitted, match="north room"):
        south.command.accept_firearms_command(firearms_incident.id)
    assert "ITFC" not in south.command.current_command(firearms_incident.id)
    refused = open_as("auditor").audit.search(action="command.accept_firearms", username="inspector.south")
    assert refused and refused[0].outcome == "refused"


def test_despatcher_cannot_authorise_armed_deployment_and_attempt_is_audited(open_as, firearms_incident):
    desp = open_as("despatch.north")
    with pytest.raises(NotPermitted, match="authorise armed deployment"):
        authorise(desp, firearms_incident.id)
    assert not desp.command.current_command(firearms_incident.id).armed_authorised
    rows = open_as("auditor").audit.search(action="command.authorise_armed", username="despatch.north")
    assert rows and rows[0].outcome == "refused" and rows[0].entity == f"incident:{firearms_incident.id}"


def test_authorisation_is_recorded_in_incident_log_and_audit(open_as, firearms_incident):
    insp = open_as("inspector.north")
    auth = authorise(insp, firearms_incident.id)
    cmd = insp.command.current_command(firearms_incident.id)
    assert cmd.armed_authorised and cmd.armed_authorised_by == "inspector.north"
    assert cmd.armed_authorised_at == auth.at
    assert cmd["ITFC"].holder == "inspector.north"  # authorising without accepting takes command
    log = insp.incidents.log(firearms_incident.id)[-1].text
    assert "ARMED DEPLOYMENT AUTHORISED by inspector.north" in log and "Contain and negotiate" in log
    audit = open_as("auditor").audit.search(action="command.armed_authorised")
    assert audit[0].details["authorisation"]["rationale"] == "Credible threat to life; ARVs required"
    with pytest.raises(Conflict, match="already authorised by inspector.north"):
        authorise(insp, firearms_incident.id)


def test_authorisation_needs_all_three_texts_and_a_firearms_incident(open_as):
    insp = open_as("inspector.north")
    inc = new_incident(insp)
    with pytest.raises(InvalidInput, match="not a firearms incident"):
        authorise(insp, inc.id)
    insp.command.declare_firearms(inc.id)
    with pytest.raises(InvalidInput) as err:
        insp.command.authorise_armed_deployment(inc.id, threat_assessment="x", working_strategy="  ",
                                                rationale="y")
    assert err.value.field == "working_strategy"
    assert insp.command.authorisation(inc.id) is None


def test_handover_chain_itfc_to_tfc_is_recorded_in_order(open_as, firearms_incident):
    insp = open_as("inspector.north")
    insp.command.accept_firearms_command(firearms_incident.id)
    tfc = insp.command.assign_role(firearms_incident.id, "TFC", holder="Ch Insp Priya Shah",
                                   accredited=True, reason="accredited TFC on call")
    assert (tfc.from_holder, tfc.accredited) == ("inspector.north", True)
    insp.command.assign_role(firearms_incident.id, "SFC", holder="Supt Alan Reed", accredited=True)
    insp.command.assign_role(firearms_incident.id, "TFC", holder="Ch Insp Tom Blake", accredited=True,
                             reason="shift change")
    history = [(h.role, h.from_holder, h.holder) for h in insp.command.handovers(firearms_incident.id)]
    assert history == [("ITFC", None, "inspector.north"),
                       ("ITFC", "inspector.north", None),
                       ("TFC", "inspector.north", "Ch Insp Priya Shah"),
                       ("SFC", None, "Supt Alan Reed"),
                       ("TFC", "Ch Insp Priya Shah", "Ch Insp Tom Blake")]
    times = [h.at for h in insp.command.handovers(firearms_incident.id)]
    assert times == sorted(times)
    chain = insp.command.current_command(firearms_incident.id)
    assert list(chain) == ["SFC", "TFC"] and chain["TFC"].holder == "Ch Insp Tom Blake"
    assert chain.in_command.role == "TFC"
    texts = [e.text for e in insp.incidents.log(firearms_incident.id) if e.kind == "command"]
    assert any("TFC from Ch Insp Priya Shah to Ch Insp Tom Blake" in t and "shift change" in t for t in texts)


def test_role_rules_firearms_and_major_roles(open_as, firearms_incident):
    insp = open_as("inspector.north")
    with pytest.raises(InvalidInput, match="major-incident role"):
        insp.command.assign_role(firearms_incident.id, "GOLD", holder="ACC Jones")
    with pytest.raises(InvalidInput) as err:
        insp.command.assign_role(firearms_incident.id, "CAPTAIN", holder="Kirk")
    assert err.value.field == "role"
    with pytest.raises(NotPermitted):
        open_as("despatch.north").command.assign_role(firearms_incident.id, "TFC", holder="Someone")


def test_major_incident_inspector_is_silver_until_accredited_commander(open_as):
    insp = open_as("inspector.south")
    inc = new_incident(insp, OXFORD, incident_type="RTC", summary="Coach overturned on A34")
    declared = insp.command.declare_major(inc.id, kind="major")
    chain = insp.command.current_command(inc.id)
    assert chain.major_kind == "major" and declared.id == inc.id
    assert (chain["SILVER"].holder, chain["SILVER"].accredited) == ("inspector.south", False)
    insp.command.assign_role(inc.id, "SILVER", holder="Supt Kate Moss", accredited=True)
    insp.command.assign_role(inc.id, "GOLD", holder="ACC Ray Patel", accredited=True)
    chain = insp.command.current_command(inc.id)
    assert chain["SILVER"].holder == "Supt Kate Moss" and chain["SILVER"].from_holder == "inspector.south"
    assert list(chain) == ["GOLD", "SILVER"]
    with pytest.raises(InvalidInput):
        insp.command.declare_major(inc.id, kind="catastrophic")
    with pytest.raises(NotPermitted):
        open_as("super.south").command.declare_major(inc.id, kind="critical")


def test_decision_log_entries_are_kept_in_order_with_stage(open_as, firearms_incident):
    insp = open_as("inspector.north")
    d1 = insp.command.log_decision(firearms_incident.id, stage=1, decision="Obtain CCTV of the shop",
                                   rationale="Confirm weapon type")
    d2 = insp.command.log_decision(firearms_incident.id, stage=4, decision="Cordon 200 m",
                                   rationale="Protect the public", options_considered="100 m; 500 m")
    got = insp.command.decisions(firearms_incident.id)
    assert [(d.id, d.stage, d.by) for d in got] == [(d1.id, 1, "inspector.north"), (d2.id, 4, "inspector.north")]
    assert got[1].options_considered == "100 m; 500 m" and got[1].stage_name.startswith("Identify options")
    with pytest.raises(InvalidInput) as err:
        insp.command.log_decision(firearms_incident.id, stage=6, decision="x", rationale="y")
    assert err.value.field == "stage"


@pytest.mark.parametrize("statement", [
    "UPDATE decision_log SET decision = 'nothing happened'",
    "DELETE FROM decision_log",
    "TRUNCATE decision_log",
    "UPDATE command_roles SET holder = 'someone else'",
    "DELETE FROM armed_authorisations",
    "UPDATE methane_reports SET hazards = 'none'",
])
def test_database_refuses_edits_to_the_command_record(db_url, open_as, firearms_incident, statement):
    insp = open_as("inspector.north")
    authorise(insp, firearms_incident.id)
    insp.command.log_decision(firearms_incident.id, stage=2, decision="Deploy ARVs", rationale="Threat")
    insp.command.methane(firearms_incident.id, hazards="Firearm")
    with psycopg.connect(libpq_url(db_url)) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement)
    assert insp.command.decisions(firearms_incident.id)[-1].decision == "Deploy ARVs"


def test_methane_versions_are_kept_and_exported_as_text(open_as):
    insp = open_as("inspector.north")
    inc = new_incident(insp, incident_type="RTC", summary="Multi-vehicle collision")
    insp.command.declare_major(inc.id, kind="major")
    v1 = insp.command.methane(inc.id, major_incident="Yes, declared 14:02", exact_location="A5 at Old Stratford",
                              type="RTC, 6 vehicles", hazards="Fuel spill", access="From the south only",
                              casualties=4, emergency_services="Fire and ambulance on scene; HART required")
    v2 = insp.command.methane(inc.id, casualties="7 (2 critical)")
    assert (v1.version, v2.version) == (1, 2)
    versions = insp.command.methane_versions(inc.id)
    assert [v.casualties for v in versions] == ["4", "7 (2 critical)"]
    assert versions[1].hazards == "Fuel spill"  # unchanged headings carry over
    text = insp.command.methane_text(inc.id)
    assert inc.urn in text and "Version 2" in text and "N  Number, type and severity of casualties:" in text
    assert "7 (2 critical)" in text and "Fuel spill" in text
    assert "4" in insp.command.methane_text(inc.id, version=1).split("casualties:")[1]
    with pytest.raises(InvalidInput) as err:
        insp.command.methane(inc.id, weather="rain")
    assert err.value.field == "weather"


def test_concurrent_methane_saves_never_share_a_version(open_as):
    insp = open_as("inspector.north")
    other = open_as("inspector.north")
    inc = new_incident(insp)
    insp.command.methane(inc.id, hazards="unknown")
    results, errors = [], []

    def save(s, n):
        try:
            results.append(s.command.methane(inc.id, hazards=f"update {n}").version)
        except Conflict as exc:
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(s, n)) for n, s in enumerate((insp, other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    versions = [v.version for v in insp.command.methane_versions(inc.id)]
    assert len(versions) == len(set(versions)) == 1 + len(results)
    assert len(results) + len(errors) == 2 and results


def test_concurrent_handovers_of_one_role_are_serialised(open_as, firearms_incident):
    a, b = open_as("inspector.north"), open_as("inspector.north")
    a.command.accept_firearms_command(firearms_incident.id)
    done = []
    threads = [threading.Thread(target=lambda s=s, h=h: done.append(
        s.command.assign_role(firearms_incident.id, "TFC", holder=h)))
        for s, h in ((a, "TFC One"), (b, "TFC Two"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    tfc = [h for h in a.command.handovers(firearms_incident.id) if h.role == "TFC"]
    assert [h.n for h in tfc] == [1, 2] and tfc[1].from_holder == tfc[0].holder
    assert [h.role for h in a.command.handovers(firearms_incident.id)].count("ITFC") == 2  # accept + stood down


def test_under_command_lists_firearms_and_major_incidents(open_as, firearms_incident):
    insp = open_as("inspector.north")
    plain = new_incident(insp, summary="Noise complaint", grade="G3")
    listed = {c.incident_id: c for c in insp.command.under_command()}
    assert firearms_incident.id in listed and plain.id not in listed
    assert listed[firearms_incident.id].urn == firearms_incident.urn


def available_arv(db_url, callsign="ARV11"):
    """Put one ARV on duty and free (the demo seed gives units random shift states)."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("UPDATE units SET status = 'available', incident_id = NULL WHERE callsign = %s",
                     (callsign,))
    return callsign


def test_arv_is_refused_before_authorisation_and_assigns_after(db_url, open_as, firearms_incident):
    desp, insp = open_as("despatch.north"), open_as("inspector.north")
    arv = available_arv(db_url)
    with pytest.raises(NotPermitted, match="Armed deployment not authorised.*inspector must record"):
        desp.despatch.assign(firearms_incident.id, arv)
    assert not any(a.callsign == arv for a in desp.despatch.assignments(firearms_incident.id))
    refused = open_as("auditor").audit.search(action="despatch.assign", username="despatch.north")
    assert refused and refused[0].outcome == "refused"
    insp.command.accept_firearms_command(firearms_incident.id)
    authorise(insp, firearms_incident.id)
    desp.despatch.assign(firearms_incident.id, arv)
    assert [a.callsign for a in desp.despatch.assignments(firearms_incident.id)] == [arv]
