"""NENA EIDO (NENA-STA-021) exchange: conformance, our strict schema, NENA's sample, two forces.

NENA's schema and sample are read from ../shared/eido/ (or CONTROLROOM_EIDO_SCHEMA); tests that
need them skip with the reason when they are absent (they carry no licence: not in this repo).
"""
from __future__ import annotations

import copy
import json
import socket
import urllib.request

import psycopg
import pytest

from controlroom.kernel import config
from controlroom.exchange import eido
from controlroom.errors import Conflict, InvalidInput
from controlroom.models.incidents import STATUSES
from controlroom.models.resources import CAPABILITIES, UNIT_STATUSES
from controlroom.services.exchange.importer import PartnerIncidentView
from tests import nena_schema
from tests.conftest import LONDON, MK, OXFORD
from tests.test_records import count, rich_incident

needs_nena = pytest.mark.skipif(nena_schema.schema_dir() is None, reason=nena_schema.skip_reason())
OTHER = ("thamesvalley-b.example.police.uk", "Second Force")


def set_agency(url: str, agency: tuple[str, str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for k, v in (("agency_id", agency[0]), ("agency_name", agency[1])):
            conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) "
                         "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (k, v))


def nena_errors(doc, main: str = "openapi.yaml") -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:160]}" for e in nena_schema.errors(doc, main=main)]


# ---- the incidents the conformance test exports -----------------------------------------------------
def plain(open_as):
    return open_as("handler.north").incidents.create(channel="101", incident_type="THEFT", summary="Bike stolen",
                                                     lat=MK[0], lon=MK[1])


def major(open_as):
    h, insp = open_as("handler.south"), open_as("inspector.south")
    inc = h.incidents.create(channel="999", incident_type="RTC", grade="G1", summary="Coach overturned on the A34",
                             lat=OXFORD[0], lon=OXFORD[1], address="A34 near Botley")
    insp.command.declare_major(inc.id, kind="major")
    insp.command.methane(inc.id, major_incident="Yes, major incident declared", exact_location="A34 southbound",
                         type="RTC coach", hazards="Fuel spill", access="From the north via Botley",
                         casualties="12 injured", emergency_services="Police, fire, ambulance; HART requested")
    insp.command.log_decision(inc.id, stage=1, decision="Close the A34", rationale="Scene safety")
    return inc


def duplicates(open_as):
    h, sup = open_as("handler.north"), open_as("super.north")
    a = h.incidents.create(channel="999", incident_type="ASSAULT", summary="Fight outside pub", lat=MK[0], lon=MK[1])
    b = h.incidents.create(channel="999", incident_type="ASSAULT", summary="Same fight, second caller",
                           lat=MK[0], lon=MK[1])
    sup.incidents.link(a.id, b.id, reason="same fight", kind="duplicate")
    h.incidents.close(b.id, closing_code="DUPLICATE", qualifier="linked", result="Duplicate of the first call")
    return b


def closed(open_as):
    h = open_as("handler.north")
    inc = h.incidents.create(channel="email", incident_type="ADMIN", summary="Lost property enquiry",
                             lat=MK[0], lon=MK[1], caller_name="B Citizen", caller_phone="01908 555 123")
    h.incidents.close(inc.id, closing_code="ADVICE", qualifier="by_phone", result="Advised to call the station")
    return inc


KINDS = {"plain": plain, "firearms with command": rich_incident, "major incident with METHANE": major,
         "linked duplicates": duplicates, "closed": closed}


@needs_nena
@pytest.mark.parametrize("kind", list(KINDS))
def test_exports_conform_to_nena_and_to_our_strict_schema(open_as, kind):
    inc = KINDS[kind](open_as)
    doc = open_as("auditor").exchange.export_incident(inc.id)
    assert nena_errors(doc) == []                                   # NENA-STA-021.1.1 draft (main)
    assert nena_errors(doc, nena_schema.PUBLISHED) == []            # NENA-STA-021.1b (2022, published)
    assert eido.errors(doc) == []
    if kind == "linked duplicates":
        assert doc["mergeComponent"][0]["incidentMergeDirectionCode"] == "REPLACED"
    if kind == "major incident with METHANE":
        assert doc["uk:methaneComponent"][0]["hazards"] == "Fuel spill"
        assert doc["uk:incidentDetailComponent"][0]["majorIncident"] == "major"


def test_export_links_every_component_by_ref_and_uses_registry_codes(open_as):
    inc = rich_incident(open_as)
    doc = open_as("auditor").exchange.export_incident(inc.id)
    assert eido.unresolved_refs(doc) == []
    assert doc["@context"]["uk"] == eido.UK_NAMESPACE
    ic = doc["incidentComponent"]
    assert ic["incidentTypeCommonRegistryText"] == "WEAPON" and ic["incidentTypeInternalCode"] == "FIREARMS"
    unit = doc["emergencyResourceComponent"][0]
    assert unit["emergencyResourceName"] == "ARV11" and unit["secondaryUnitStatusRegistryText"] == ["Cleared"]
    assert doc["sharedCommunicationResourceComponent"][0]["sharedCommunicationResourceType"] == "TalkGroup"
    auth = doc["uk:armedAuthorisationComponent"][0]
    assert auth["updatedByAgentReference"] == {"$ref": f"inspector.north@{eido.AGENCY_ID}"}
    assert auth["incidentReference"] == {"$ref": ic["$id"]}
    note = next(n for n in doc["notesComponent"] if "walked towards the station" in n["notesActionComments"])
    assert note["updatedByAgentReference"]["$ref"] == f"handler.north@{eido.AGENCY_ID}"
    loc = doc["locationComponent"][0]
    assert "52.040600 -0.759400" in loc["locationByValue"] and loc["locationTypeDescriptionRegistryText"] == "CurrentIncident"
    agents = {a["$id"] for a in doc["agentComponent"]}
    assert f"inspector.north@{eido.AGENCY_ID}" in agents


def _registry():
    base = nena_schema.schema_dir()
    return json.loads((base / "registries_STA-021.1b.json").read_text()) if base else None


def test_registry_mapping_has_one_row_per_code_and_only_registry_values():
    m = config.load_resource("eido_registries")
    assert set(m["incident_type"]) == set(config.incident_types())
    assert set(m["closing_code"]) == set(config.load_resource("closing_codes")["closing_codes"])
    assert set(m["unit_status"]) == set(UNIT_STATUSES)
    assert set(m["capability"]) == set(CAPABILITIES)
    assert set(m["incident_status"]) == set(STATUSES)
    assert set(m["channel"]) == set(config.channels())
    reg = _registry()
    if reg is None:
        pytest.skip(nena_schema.skip_reason())
    codes = {k: {r[0] for r in v} for k, v in reg.items()}
    assert {r["registry"] for r in m["incident_type"].values()} <= codes["EIDO-IncidentType-Common"]
    assert set(m["incident_type_inbound"]) <= codes["EIDO-IncidentType-Common"]
    assert {r["registry"] for r in m["closing_code"].values()} <= codes["EIDO-CommonDispositionCode"]
    assert {c for r in m["incident_status"].values() for c in r["registry"]} <= codes["EIDO-IncidentStatus-Common"]
    for table in ("unit_status", "assignment_state"):
        assert {r["primary"] for r in m[table].values()} <= codes["EIDO-PrimaryUnitStatus-Common"]
        assert {c for r in m[table].values() for c in r["secondary"]} <= codes["EIDO-SecondaryUnitStatus-Common"]
    assert {r["registry"] for r in m["capability"].values()} <= codes["EIDO-EmergencyResourceType-Common"]
    assert {a for r in m["capability"].values() for a in r["attributes"]} <= codes["EIDO-ResourceAttribute"]


# ---- our strict schema refuses what NENA's lets through --------------------------------------------------
def _first(doc, key):
    return doc[key][0]


BREAKS = {
    "misspelt prologue key": (lambda d: d["notesComponent"][0].update(lastUpdateTimestamp="2026-01-01T00:00:00Z"),
                              "lastUpdateTimestamp"),
    "dangling $ref": (lambda d: d["incidentComponent"].update(locationReference=[{"$ref": "urn:nowhere"}]),
                      "refers to nothing"),
    "unknown key in our component": (lambda d: _first(d, "uk:thriveComponent").update(mood="calm"), "mood"),
    "missing registry text": (lambda d: d["incidentComponent"].pop("incidentTypeCommonRegistryText"),
                              "incidentTypeCommonRegistryText"),
    "our namespace not declared": (lambda d: d["@context"].pop("uk"), "uk"),
    "wrong type in our component": (lambda d: _first(d, "uk:thriveComponent").update(version="two"), "version"),
    "missing prologue": (lambda d: _first(d, "uk:armedAuthorisationComponent").pop("updatedByAgencyReference"),
                         "updatedByAgencyReference"),
}


@pytest.mark.parametrize("name", list(BREAKS))
def test_broken_exports_are_refused_by_our_schema(open_as, name):
    doc = open_as("auditor").exchange.export_incident(rich_incident(open_as).id)
    assert eido.errors(doc) == []
    broken = copy.deepcopy(doc)
    change, words = BREAKS[name]
    change(broken)
    problems = eido.errors(broken)
    assert problems and any(words in p for p in problems), problems
    with pytest.raises(InvalidInput, match="Nothing was imported"):
        eido.parse(broken)
    if name in ("misspelt prologue key", "dangling $ref", "unknown key in our component") and nena_schema.schema_dir():
        assert nena_errors(broken) == [], "NENA's schema accepts this; ours must not"


# ---- limits, XML, URLs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("doc, words", [
    (b"{" + b" " * (eido.MAX_BYTES + 1) + b"}", "the limit is"),
    ("[" * 200_000 + "]" * 200_000, "nested more than"),
    ({"x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}, "nested more than"),
    (json.dumps({"x": list(range(eido.MAX_ITEMS + 5))}), "more than 50,000 values"),
    (b"\xff\xfe{", "not UTF-8"),
    ({"notes": ["x" * 1_000_000, "y" * 1_000_001]}, "text is larger than the limit"),
])
def test_limits_are_checked_before_parsing_with_a_clear_message(open_as, doc, words):
    with pytest.raises(InvalidInput, match=words):
        open_as("handler.south").exchange.import_eido(doc)


@needs_nena
@pytest.mark.parametrize("xml, words", [
    ('<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><presence>&x;</presence>', "DTD"),
    ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><p>&lol2;</p>', "DTD"),
    ("<presence><unclosed></presence>", "not well-formed"),
])
def test_embedded_xml_with_entities_or_broken_is_refused(open_as, db_url, xml, words):
    doc = nena_schema.sample()
    doc["locationComponent"][0]["locationByValue"] = xml
    before = count(db_url, "SELECT count(*) FROM incident_partner_refs")
    with pytest.raises(InvalidInput, match=words):
        open_as("handler.south").exchange.import_eido(doc)
    assert count(db_url, "SELECT count(*) FROM incident_partner_refs") == before


# ---- NENA's official sample --------------------------------------------------------------------------------
def leaves(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, node


@needs_nena
def test_nena_sample_is_imported_and_every_value_accounted_for(open_as, monkeypatch):
    def no_network(*a, **k):
        raise AssertionError(f"the import tried to reach the network: {a!r}")
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    sample = nena_schema.sample()
    assert nena_errors(sample) == [] and eido.errors(sample) == []
    s = open_as("handler.south")
    kept = s.exchange.import_eido(json.dumps(sample))
    assert isinstance(kept, PartnerIncidentView)
    # what went where
    assert kept.agency == "state.pa.us" and kept.tracking_id == sample["$id"]
    assert kept.address == "42 W Cellular Street, Wilmington, DE, US"      # PIDF-LO civic address
    assert kept.caller_phone == "8195551212"                              # callback tel: URI
    assert kept.lat is None and kept.lon is None                          # no coordinates: not ours to work
    assert "https://lrf.osp.com?oasufdqwerjn12346jfias" in kept.urls      # recorded, never fetched
    assert "sip:8195551212@osp.com" in kept.urls
    log = "\n".join(e["text"] for e in kept.log)
    assert "Agent tjones.atroop@state.pa.us: Call Taking, position 5, state.pa.us" in log
    assert "Person (Caller) on call urn:emergency:uid:callid:a56e556d871:bcf.state.pa.us" in log
    assert "answered 2021-04-30T14:42:00.0-04:00" in log and "queue sos@state.pa.us" in log
    assert "This is an example text." in log                               # additional data comment
    assert "Hannes Tschofenig" in log                                     # provider contact (vCard)
    assert {e["author"] for e in kept.log} >= {"tjones.atroop@state.pa.us", "state.pa.us"}
    # everything else is kept and re-exported as received: every value, at its path
    again = s.exchange.export_partner(kept.id)
    assert dict(leaves(again)) == dict(leaves(sample))
    table = {"locationComponent[0].locationByValue": "address", "callbackComponent[0].callBackInformationUri[1]":
             "caller_phone", "locationComponent[1].locationByReferenceUrl": "urls (not fetched)"}
    for path, value in leaves(sample):
        where = table.get(path) or ("log" if isinstance(value, str) and value in log else "kept as received")
        print(f"{path}: {where}")
    assert [p.id for p in s.exchange.partner_incidents()][:1] == [kept.id]
    with pytest.raises(Conflict, match="already imported"):
        s.exchange.import_eido(sample)


def test_document_outside_the_force_is_kept_as_another_agencys_incident(open_as, fresh_db_url):
    a = open_as("handler.north").exchange.export_incident(plain(open_as).id)
    set_agency(fresh_db_url, OTHER)
    doc = copy.deepcopy(a)
    loc = doc["locationComponent"][0]
    loc["locationByValue"] = loc["locationByValue"].replace("52.040600 -0.759400", f"{LONDON[0]} {LONDON[1]}")
    kept = open_as("handler.south", url=fresh_db_url).exchange.import_eido(doc)
    assert isinstance(kept, PartnerIncidentView) and kept.lat == LONDON[0] and kept.summary == "Bike stolen"


# ---- our own agency's name ----------------------------------------------------------------------------------
def test_our_own_document_cannot_be_imported_back_into_our_system(open_as, db_url):
    doc = open_as("auditor").exchange.export_incident(plain(open_as).id)
    before = count(db_url, "SELECT count(*) FROM incidents")
    with pytest.raises(InvalidInput, match="that is by us"):
        open_as("handler.south").exchange.import_eido(doc)
    assert count(db_url, "SELECT count(*) FROM incidents") == before


def _through_b(open_as, a_id, b_url):
    """A's incident exported, imported by force B, B's export of it (B adds nothing)."""
    a_doc = open_as("auditor").exchange.export_incident(a_id)
    b = open_as("handler.north", url=b_url)
    j = b.exchange.import_eido(a_doc)
    return a_doc, b, j


def test_forged_armed_authorisation_in_our_inspectors_name_is_refused(open_as, db_url, fresh_db_url):
    set_agency(fresh_db_url, OTHER)
    inc = rich_incident(open_as)
    _, b, j = _through_b(open_as, inc.id, fresh_db_url)
    b_doc = open_as("auditor", url=fresh_db_url).exchange.export_incident(j.id)
    real = b_doc["uk:armedAuthorisationComponent"][0]
    assert real["updatedByAgentReference"]["$ref"] == f"inspector.north@{eido.AGENCY_ID}"
    forged = copy.deepcopy(b_doc)
    extra = copy.deepcopy(real)
    extra["$id"] = extra["$id"].replace(":armedauth:", ":armedauth:9")
    extra["rationale"] = "Authorised by phone"
    forged["uk:armedAuthorisationComponent"].append(extra)
    altered = copy.deepcopy(b_doc)
    altered["uk:armedAuthorisationComponent"][0]["rationale"] = "No threat; deploy anyway"
    before = count(db_url, "SELECT count(*) FROM incident_log")
    a = open_as("handler.south")
    with pytest.raises(InvalidInput, match="never issued"):
        a.exchange.import_eido(forged)
    with pytest.raises(InvalidInput, match="differs from ours"):
        a.exchange.import_eido(altered)
    assert count(db_url, "SELECT count(*) FROM incident_log") == before


# ---- two forces, one incident -------------------------------------------------------------------------------
def by_id(doc):
    out = {}
    for k, v in doc.items():
        for c in ([v] if k == "incidentComponent" else v if isinstance(v, list) else []):
            out[c["$id"]] = c
    return out


def owner(c):
    return c.get("updatedByAgencyReference", {}).get("$ref")


def test_two_forces_round_trip_loses_nothing_and_keeps_authorship(open_as, fresh_db_url):
    set_agency(fresh_db_url, OTHER)
    inc = rich_incident(open_as)
    a_doc, b, j = _through_b(open_as, inc.id, fresh_db_url)
    assert j.summary == inc.summary and j.caller_phone == "07700900123"
    assert j.caller_name == "A Witness" and j.vulnerable_person and j.grade == "G1"
    # B works the incident: a note and a second THRIVE
    b.incidents.add_log(j.id, "Second force: suspect seen boarding a train")
    b.incidents.thrive(j.id, threat="Armed male on a train", harm="Risk to passengers", risk="High",
                       investigation="Firearms offence", vulnerability="Passengers", engagement="BTP informed",
                       risk_level="high")
    b_doc = open_as("auditor", url=fresh_db_url).exchange.export_incident(j.id)
    assert b_doc["$id"] == a_doc["$id"], "the incident keeps its global identifier"
    if nena_schema.schema_dir():
        assert nena_errors(b_doc) == []
    assert eido.errors(b_doc) == []
    # nothing of A's lost in B's export, authorship unchanged
    a_items, b_items = by_id(a_doc), by_id(b_doc)
    for cid, c in a_items.items():
        if cid == a_doc["incidentComponent"]["$id"]:
            assert b_doc["uk:partnerIncidentComponent"][0] == c
            continue
        assert cid in b_items, cid
        assert owner(b_items[cid]) == owner(c) == eido.AGENCY_ID
        assert b_items[cid] == c, f"{cid} changed on the way through B"
    note = next(n for n in b_doc["notesComponent"] if "boarding a train" in n["notesActionComments"])
    assert owner(note) == OTHER[0] and note["updatedByAgentReference"]["$ref"] == f"handler.north@{OTHER[0]}"
    # back to A: attached to the original, not a new incident
    a = open_as("handler.south")
    again = a.exchange.import_eido(json.dumps(b_doc))
    assert again.id == inc.id
    final = open_as("auditor").exchange.export_incident(inc.id)
    assert nena_errors(final) == [] if nena_schema.schema_dir() else True
    assert eido.errors(final) == []
    f_items = by_id(final)
    for cid, c in b_items.items():
        if cid == b_doc["incidentComponent"]["$id"]:
            assert c in final["uk:partnerIncidentComponent"]
            continue
        assert cid in f_items, f"{cid} lost on the way back"
        assert owner(f_items[cid]) == owner(c)
    thrive = [t for t in final["uk:thriveComponent"] if owner(t) == OTHER[0]]
    assert thrive and thrive[0]["threat"] == "Armed male on a train"
    log = a.incidents.log(inc.id)
    assert any(e.kind == "partner" and "boarding a train" in e.text and OTHER[0] in e.text for e in log)
    # the same document twice is not imported twice
    with pytest.raises(Conflict, match="already imported"):
        a.exchange.import_eido(b_doc)
    with pytest.raises(Conflict, match="already imported"):
        b.exchange.import_eido(a_doc)
    # B's next update replaces the one A holds; only what is new reaches A's log
    b.incidents.add_log(j.id, "Second force: suspect detained at Reading station")
    a.exchange.import_eido(open_as("auditor", url=fresh_db_url).exchange.export_incident(j.id))
    partner = [e.text for e in a.incidents.log(inc.id) if e.kind == "partner"]
    assert sum("boarding a train" in t for t in partner) == 1
    assert sum("detained at Reading" in t for t in partner) == 1
    final2 = open_as("auditor").exchange.export_incident(inc.id)
    assert {c for c in by_id(final)} <= {c for c in by_id(final2)}


# ---- the database is the boundary -----------------------------------------------------------------------
from tests.test_functions_sql_roles import connect_as, operators  # noqa: E402,F401  (shared fixture)

RAW_IMPORT = "SELECT api.exchange_import(p_target => NULL, p_incident => NULL, p_ref => %s, p_log => %s)"


def test_import_over_raw_sql_needs_a_handler_and_records_the_sessions_login(db_url, operators):
    from psycopg.types.json import Jsonb
    ref = {"agency": "raw.example.org", "reference": f"RAW-{operators['handler']}", "tracking_id": "urn:x",
           "document": {"$id": "urn:x"}, "sent_at": "2026-01-01T00:00:00Z", "imported_by": "someone.else"}
    with connect_as(db_url, operators["auditor"]) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(RAW_IMPORT, (Jsonb(ref), Jsonb([])))
    with connect_as(db_url, operators["handler"]) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # no table writes, only the API action
            c.execute("INSERT INTO incident_partner_refs (agency, reference, tracking_id, document, imported_by) "
                      "VALUES ('x', 'y', 'z', '{}', 'someone.else')")
        out = c.execute(RAW_IMPORT, (Jsonb(ref), Jsonb([]))).fetchone()[0]
        row = c.execute("SELECT imported_by, incident_id FROM incident_partner_refs WHERE id = %s",
                        (out["partner_id"],)).fetchone()
        assert row == (operators["handler"], None)
        with pytest.raises(psycopg.Error) as err:  # the same reference again
            c.execute(RAW_IMPORT, (Jsonb(ref), Jsonb([])))
        assert err.value.sqlstate == "CR409" and "already imported" in str(err.value)


def test_the_database_refuses_to_store_records_in_our_name(db_url, operators):
    from psycopg.types.json import Jsonb
    forged = {"$id": "urn:y", "uk:armedAuthorisationComponent": [{
        "$id": "urn:emergency:uid:armedauth:77:thamesvalley.police.uk", "lastUpdateTimeStamp": "2026-01-01T00:00:00Z",
        "updatedByAgencyReference": {"$ref": eido.AGENCY_ID},
        "updatedByAgentReference": {"$ref": f"inspector.north@{eido.AGENCY_ID}"},
        "incidentReference": {"$ref": "urn:y"}, "threatAssessment": "x", "workingStrategy": "x", "rationale": "x"}]}
    ref = {"agency": "raw.example.org", "reference": "RAW-FORGED", "tracking_id": "urn:y", "document": forged}
    with connect_as(db_url, operators["handler"]) as c:
        for bad in (ref, {**ref, "agency": eido.AGENCY_ID, "document": {"$id": "urn:y"}}):
            with pytest.raises(psycopg.Error) as err:
                c.execute(RAW_IMPORT, (Jsonb(bad), Jsonb([])))
            assert err.value.sqlstate == "CR400" and "in the name of" in str(err.value)
    assert count(db_url, "SELECT count(*) FROM incident_partner_refs WHERE reference = 'RAW-FORGED'") == 0
