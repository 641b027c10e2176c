"""Records and interoperability: EIDO export/import, printable report, analysts' CSV, QA, re-auth."""
from __future__ import annotations

import csv
import io
import json

import psycopg
import pytest

from controlroom.exchange import eido, reports
from controlroom.errors import Conflict, InvalidInput, NotPermitted
from controlroom.services.audit.qa import QA_CHECKLIST
from tests.conftest import MK


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


def rich_incident(open_as):
    """A firearms incident with log, THRIVE, a unit, a talk group, command chain, decision, METHANE."""
    handler, desk, insp = open_as("handler.north"), open_as("despatch.north"), open_as("inspector.north")
    inc = handler.incidents.create(channel="999", incident_type="FIREARMS", grade="G1",
                                   summary="Man seen with a handgun outside the Co-op",
                                   lat=MK[0], lon=MK[1], address="Midsummer Boulevard, Milton Keynes",
                                   caller_name="A Witness", caller_phone="07700 900123", vulnerable_person=True)
    handler.incidents.add_log(inc.id, "Caller says the man walked towards the station")
    handler.incidents.thrive(inc.id, threat="Armed male", harm="Risk to life", risk="High",
                             investigation="Firearms offence", vulnerability="Shoppers nearby",
                             engagement="Caller remains on the line", risk_level="high")
    # FIREARMS is an armed type: the database declared it at create (no FA needed, issue 18)
    insp.command.accept_firearms_command(inc.id)
    insp.command.authorise_armed_deployment(inc.id, threat_assessment="Credible handgun threat",
                                            working_strategy="Locate, contain, protect the public",
                                            rationale="Threat to life; ARVs needed")
    insp.command.assign_role(inc.id, "TFC", holder="Insp J Smith", accredited=True, reason="TFC on duty")
    insp.command.log_decision(inc.id, stage=2, decision="Deploy two ARVs", rationale="Credible threat",
                              options_considered="Unarmed containment")
    insp.command.methane(inc.id, major_incident="No", exact_location="Midsummer Boulevard",
                         type="Firearms", hazards="Handgun", access="From the north", casualties="None",
                         emergency_services="Police; ambulance on standby")
    desk.despatch.assign(inc.id, "ARV11")
    desk.despatch.arrived(inc.id, "ARV11")
    tg = desk.talkgroups.allocate(inc.id)
    # give the unit and the group back: tests in this module share one database
    desk.despatch.clear(inc.id, "ARV11", result="Male detained, handgun recovered")
    desk.talkgroups.release(inc.id, tg.name)
    return inc


def test_exported_components_carry_owner_author_and_nsir_codes(open_as):
    inc = rich_incident(open_as)
    doc = open_as("auditor").exchange.export_incident(inc.id)
    assert eido.errors(doc) == []  # valid against resources/eido.schema.json, every $ref resolves
    assert doc["incidentComponent"]["incidentTypeInternalCode"] == "FIREARMS"
    note = next(n for n in doc["notesComponent"] if "walked towards" in n["notesActionComments"])
    assert note["updatedByAgencyReference"] == {"$ref": eido.AGENCY_ID}
    assert note["updatedByAgentReference"] == {"$ref": f"handler.north@{eido.AGENCY_ID}"}
    assert [u["emergencyResourceName"] for u in doc["emergencyResourceComponent"]] == ["ARV11"]
    assert {r["role"] for r in doc["uk:commandRoleComponent"]} >= {"ITFC", "TFC"}
    assert doc["uk:methaneComponent"][0]["hazards"] == "Handgun"
    assert f"{MK[0]:.6f} {MK[1]:.6f}" in doc["locationComponent"][0]["locationByValue"]
    # the report reads our record with the NSIR codes
    rec = reports.timeline(_record(open_as, inc.id))
    assert any("Armed deployment authorised" in what for _, _, what in rec)


def _record(open_as, iid):
    """Our record of an incident (by id or URN) in the shape the printable report reads."""
    s = open_as("auditor")
    with s.ctx.tx() as tx:
        if isinstance(iid, str):
            iid = tx.execute("SELECT id FROM incidents WHERE urn = :u", {"u": iid}).scalar_one()
        return eido.build_record(tx.conn, iid)


def test_export_is_audited(open_as):
    inc = open_as("handler.north").incidents.create(channel="101", incident_type="THEFT", summary="Bike stolen",
                                                    lat=MK[0], lon=MK[1])
    aud = open_as("auditor")
    aud.exchange.export_incident(inc.id)
    assert aud.audit.search(action="incident.exported", entity=f"incident:{inc.id}", username="auditor")


def valid_doc(open_as) -> dict:
    s = open_as("handler.north")
    inc = s.incidents.create(channel="999", incident_type="RTC", summary="Two cars, one injured",
                             lat=MK[0], lon=MK[1], grade="G2")
    s.incidents.add_log(inc.id, "Ambulance requested")
    return s.exchange.export_incident(inc.id)


def _pos(d, lat, lon):
    loc = d["locationComponent"][0]
    loc["locationByValue"] = loc["locationByValue"].replace(f"{MK[0]:.6f} {MK[1]:.6f}", f"{lat} {lon}")
    return d


def _foreign(d):
    """The document as another force would send it (our own documents are refused on import)."""
    text = json.dumps(d).replace(eido.AGENCY_ID, "other.police.uk")
    return json.loads(text)


@pytest.mark.parametrize("corrupt, words", [
    (lambda d: json.dumps(d)[:-40], "not readable JSON"),
    (lambda d: d["incidentComponent"].pop("incidentTypeCommonRegistryText") and d,
     "incidentComponent has no 'incidentTypeCommonRegistryText'"),
    (lambda d: _pos(d, "x", 51.0), "is not two numbers"),
    (lambda d: d["notesComponent"][0].update(lastUpdateTimeStamp="yesterday") or d, "not a valid date-time"),
    (lambda d: d["uk:incidentDetailComponent"][0].update(grade="G7") or d, "'G7' is not one of"),
    (lambda d: d["incidentComponent"].update(incidentTypeInternalCode="UFO", incidentTypeCommonRegistryText="XX") or d,
     "not in this force's catalogue"),
])
def test_corrupted_file_is_rejected_with_first_error_and_writes_nothing(open_as, db_url, corrupt, words):
    doc = corrupt(_foreign(valid_doc(open_as)))
    before = [count(db_url, f"SELECT count(*) FROM {t}") for t in ("incidents", "incident_log", "incident_partner_refs")]
    with pytest.raises(InvalidInput) as err:
        open_as("handler.south").exchange.import_eido(doc)
    assert words in str(err.value) and "Nothing was imported" in str(err.value)
    after = [count(db_url, f"SELECT count(*) FROM {t}") for t in ("incidents", "incident_log", "incident_partner_refs")]
    assert after == before


def test_same_partner_document_is_imported_once(open_as):
    doc = _foreign(valid_doc(open_as))
    s = open_as("handler.south")
    first = s.exchange.import_eido(doc)
    with pytest.raises(Conflict, match=first.urn):
        s.exchange.import_eido(doc)
    log = s.incidents.log(first.id)
    assert log[0].kind == "exchange" and "other.police.uk" in log[0].text
    assert any(e.kind == "partner" and "Ambulance requested" in e.text for e in log)


def test_export_works_when_optional_tables_are_absent(open_as, fresh_db_url):
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute("DROP TABLE methane_reports, talkgroup_transmissions CASCADE")
    s = open_as("handler.north", url=fresh_db_url)
    inc = s.incidents.create(channel="999", incident_type="RTC", summary="Car in ditch", lat=MK[0], lon=MK[1])
    doc = s.exchange.export_incident(inc.id)
    assert "uk:methaneComponent" not in doc and "uk:radioLogComponent" not in doc
    assert eido.errors(doc) == []


def test_auditor_may_export_but_not_import(open_as):
    doc = _foreign(valid_doc(open_as))
    with pytest.raises(NotPermitted):
        open_as("auditor").exchange.import_eido(doc)


# ---- report ------------------------------------------------------------------------------------
def pdf_text(path) -> str:
    from PySide6.QtPdf import QPdfDocument
    pdf = QPdfDocument(None)
    assert pdf.load(str(path)) == QPdfDocument.Error.None_
    text = "\n".join(pdf.getAllText(p).text() for p in range(pdf.pageCount()))
    pdf.close()
    return text


def test_pdf_report_contains_urn_and_timeline(open_as, qapp, tmp_path):
    from ui.kit.report_pdf import write_pdf
    inc = rich_incident(open_as)
    html = open_as("inspector.north").exchange.report_html(inc.id)
    path = write_pdf(html, tmp_path / "report.pdf")
    text = " ".join(pdf_text(path).split())
    assert inc.urn in text
    for line in ("Caller says the man walked towards the station", "ARV11 assigned", "Deploy two ARVs",
                 "METHANE report v1", "TFC: Insp J Smith", "Talk group"):
        assert line in text, line
    assert "TRAINING" not in text


def test_training_report_is_watermarked(open_as, qapp, tmp_path):
    from ui.kit.report_pdf import write_pdf
    doc = _record(open_as, valid_doc(open_as)["incidentComponent"]["internalIncidentId"])
    path = write_pdf(reports.incident_report_html(doc, training=True), tmp_path / "t.pdf", watermark="TRAINING")
    assert "TRAINING" in pdf_text(path)


def test_timeline_is_in_time_order(open_as):
    doc = _record(open_as, rich_incident(open_as).id)
    times = [t for t, _, _ in reports.timeline(doc)]
    assert times == sorted(times, key=lambda t: t.replace("Z", "+00:00")) and len(times) >= 8


def test_incidents_csv_has_nsir_codes_and_defuses_formulas(open_as):
    s = open_as("handler.north")
    inc = s.incidents.create(channel="101", incident_type="BURGLARY", summary="=HYPERLINK(\"x\")",
                             lat=MK[0], lon=MK[1])
    rows = list(csv.DictReader(io.StringIO(open_as("auditor").exchange.incidents_csv(status="open"))))
    mine = next(r for r in rows if r["urn"] == inc.urn)
    assert mine["nsir_code"] == "CR-BURGLARY" and mine["summary"].startswith("'=")


# ---- QA sampling --------------------------------------------------------------------------------
def closed_incidents(open_as, n: int) -> list[int]:
    s = open_as("handler.north")
    ids = []
    for i in range(n):
        inc = s.incidents.create(channel="101", incident_type="THEFT", summary=f"Shoplifting {i}",
                                 lat=MK[0], lon=MK[1], grade="G3")
        s.incidents.close(inc.id, closing_code="ADVICE", qualifier="by_phone", result="Advice given")
        ids.append(inc.id)
    return ids


def test_auditor_samples_closed_incidents_and_records_findings(open_as, db_url):
    ids = closed_incidents(open_as, 4)
    aud = open_as("auditor")
    closed = count(db_url, "SELECT count(*) FROM incidents WHERE status = 'closed'")
    sample = aud.audit.qa_sample(percent=50, seed=0.25)
    assert len(sample) == -(-closed // 2) and all(i.closed_at for i in sample)
    assert [i.id for i in aud.audit.qa_sample(percent=50, seed=0.25)] == [i.id for i in sample]
    assert aud.audit.search(action="qa.sampled", username="auditor")
    review = aud.audit.record_review(ids[0], checklist={k: True for k in QA_CHECKLIST},
                                     findings="Good THRIVE, log complete", outcome="compliant", sample_percent=50)
    assert review.urn and aud.audit.reviews(incident_id=ids[0])[0].findings == "Good THRIVE, log complete"
    assert aud.audit.search(action="qa.reviewed", entity=f"qa:{ids[0]}")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # findings are part of the record
        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE qa_reviews SET outcome = 'advice'")


def test_qa_review_needs_full_checklist_a_closed_incident_and_the_auditor(open_as):
    ids = closed_incidents(open_as, 1)
    aud = open_as("auditor")
    with pytest.raises(InvalidInput, match="checklist"):
        aud.audit.record_review(ids[0], checklist={"grade": True}, findings="x", outcome="advice")
    open_inc = open_as("handler.north").incidents.create(channel="101", incident_type="THEFT", summary="Open",
                                                         lat=MK[0], lon=MK[1])
    with pytest.raises(InvalidInput, match="not closed"):
        aud.audit.record_review(open_inc.id, checklist={k: False for k in QA_CHECKLIST}, findings="x",
                                outcome="advice")
    with pytest.raises(NotPermitted):
        open_as("despatch.north").audit.record_review(ids[0], checklist={k: True for k in QA_CHECKLIST},
                                                      findings="x", outcome="compliant")


def test_audit_export_csv_is_audited(open_as):
    aud = open_as("auditor")
    text = aud.audit.export_csv(username="handler.north", limit=50)
    assert text.startswith("id,at,username") and "handler.north" in text
    assert aud.audit.search(action="audit.exported", username="auditor")
    with pytest.raises(NotPermitted):
        open_as("super.north").audit.export_csv()


# ---- idle lock re-authentication ------------------------------------------------------------------
def test_unlock_rechecks_password_by_a_fresh_sign_in_and_refusals_are_audited(open_as, fresh_db_url):
    s = open_as("handler.south", url=fresh_db_url)
    assert s.verify_password("demo") is True
    for _ in range(5):
        assert s.verify_password("wrong") is False
    # no lockout anyone could trigger (the server's auth_delay slows guessing instead)
    assert s.verify_password("demo") is True
    assert count(fresh_db_url, "SELECT count(*) FROM audit_log WHERE action = 'session.unlock' "
                               "AND outcome = 'refused' AND username = 'handler.south'") == 5
    assert count(fresh_db_url, "SELECT count(*) FROM events WHERE kind = 'console.unlocked' "
                               "AND username = 'handler.south'") == 2
