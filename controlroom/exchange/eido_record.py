"""Our own record of one incident, read from the database in one shape for the EIDO export and
the printable report. Only what this agency holds: components received from partners are added
by the caller (eido.build_document / eido.build_record). Every table other than incidents and
incident_log is optional: an absent table gives no components.
"""
from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any, Sequence

from sqlalchemy import Connection, RowMapping, text

from ..kernel import config
from ..kernel.errors import InvalidInput

FLAGS = ("firearms", "domestic_abuse", "vulnerable_person", "repeat_victim", "missing_person")
# incident_log kinds written by an import: their content travels in the carried components instead.
IMPORT_LOG_KINDS = ("exchange", "partner")
DEFAULT_AGENCY = ("thamesvalley.police.uk", "Thames Valley Police")


def ts(value: Any) -> str | None:
    """ISO 8601 UTC text for a timestamp (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    moment: datetime = value
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def tracking_id(urn: str, agency: str) -> str:
    return f"urn:emergency:uid:incidentid:{urn}:{agency}"


def component_id(kind: str, key: object, agency: str) -> str:
    return f"urn:emergency:uid:{kind}:{key}:{agency}"


def agency_of(conn: Connection) -> tuple[str, str]:
    """(identifier, name) of the agency this database belongs to: meta rows `agency_id` and
    `agency_name` (set by the force's administrator), else Thames Valley Police."""
    rows: dict[str, str] = dict(conn.execute(text("SELECT key, value FROM meta WHERE key IN ('agency_id', 'agency_name')")).all())
    return rows.get("agency_id") or DEFAULT_AGENCY[0], rows.get("agency_name") or rows.get("agency_id") or DEFAULT_AGENCY[1]


def _component(kind: str, key: object, at: Any, by: str | None, agency: str) -> dict[str, Any]:
    return {"componentIdentifier": component_id(kind, key, agency),
            "lastUpdateTimestamp": ts(at), "owningAgency": agency,
            "updatedBy": {"agencyIdentifier": agency, "agentIdentifier": by or "system"}}


def _tables(conn: Connection) -> set[str]:
    return {r[0] for r in conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))}


def _rows(conn: Connection, tables: set[str], table: str, sql: str, iid: int) -> Sequence[RowMapping]:
    if table not in tables:  # that part of the system is not installed in this database
        return []
    return conn.execute(text(sql), {"i": iid}).mappings().all()


def incident_types_for(code: str) -> list[dict[str, Any]]:
    t = config.incident_types().get(code, {})
    return [{"code": code, "label": t.get("label", code), "nsirCategory": t.get("nsir_category"),
             "nsirCode": t.get("nsir_code")}]


def build_local(conn: Connection, incident_id: int, *, agency: str, agency_name: str) -> dict[str, Any]:
    """This agency's own record of the incident (InvalidInput if there is no such incident)."""
    inc = conn.execute(text("SELECT * FROM incidents WHERE id = :i"), {"i": incident_id}).mappings().first()
    if inc is None:
        raise InvalidInput(f"No incident with reference {incident_id}.", field="id")
    tables = _tables(conn)
    urn = inc["urn"]
    closure = None
    if inc["closed_at"] is not None or inc["closing_code"]:
        closure = {"closingCode": inc["closing_code"], "closingQualifier": inc["closing_qualifier"],
                   "result": inc["result"], "closedTimestamp": ts(inc["closed_at"])}
    partner = _rows(conn, tables, "incident_partner_refs",
                    "SELECT agency, reference, tracking_id FROM incident_partner_refs WHERE incident_id = :i "
                    "ORDER BY id", incident_id)
    doc: dict[str, Any] = {
        "sendingAgency": {"agencyIdentifier": agency, "agencyName": agency_name},
        "incidentTrackingIdentifier": tracking_id(urn, agency),
        "incidentComponent": {
            **_component("incident", urn, inc["updated_at"], inc["updated_by"], agency),
            "localReference": urn, "incidentStatus": inc["status"], "channel": inc["channel"],
            "summary": inc["summary"], "grade": inc["grade"], "createdTimestamp": ts(inc["created_at"]),
            "createdBy": inc["created_by"], "incidentType": inc["incident_type"],
            "incidentTypes": incident_types_for(inc["incident_type"]),
            "flags": [f for f in FLAGS if inc[f]],
            "caller": {"name": inc["caller_name"], "phone": inc["caller_phone"]},
            "timers": {"deadline": ts(inc["deadline_at"]), "despatched": ts(inc["despatched_at"]),
                       "arrived": ts(inc["arrived_at"])},
            "firearms": {"declared": ts(inc.get("firearms_declared_at")),
                         "armedAuthorised": ts(inc.get("armed_authorised_at")),
                         "armedAuthorisedBy": inc.get("armed_authorised_by"),
                         "majorIncident": inc.get("major_kind")},
            "closure": closure,
            "partnerReferences": [{"agencyIdentifier": p["agency"], "reference": p["reference"],
                                   "trackingIdentifier": p["tracking_id"]} for p in partner],
        },
        "locationComponent": [{
            **_component("location", urn, inc["updated_at"], inc["updated_by"], agency),
            "geometry": {"type": "Point", "coordinates": [inc["lon"], inc["lat"]]},
            "civicAddress": inc["address"], "areaCode": inc["area_code"]}],
    }
    doc.update(_local_components(conn, tables, incident_id, agency))
    doc["links"] = [dict(r) for r in _rows(
        conn, tables, "incident_links",
        "SELECT l.id, l.kind, l.reason, l.at, l.username, o.urn AS other_urn, o.closing_code AS other_closing, "
        "i.closing_code AS my_closing, (SELECT p.tracking_id FROM incident_partner_refs p "
        "  WHERE p.incident_id = o.id ORDER BY p.id LIMIT 1) AS other_tracking "
        "FROM incident_links l JOIN incidents i ON i.id = :i "
        "JOIN incidents o ON o.id = CASE WHEN l.a_id = :i THEN l.b_id ELSE l.a_id END "
        "WHERE :i IN (l.a_id, l.b_id) ORDER BY l.id", incident_id)]
    # job role = membership of a job group (issue 19): the directory holds no roles
    doc["roles"] = dict(conn.execute(text("SELECT username, cr_job_role(username::name) FROM users")).all()) \
        if "users" in tables else {}
    return doc


def _local_components(conn: Connection, tables: set[str], iid: int, agency: str) -> dict[str, list[dict[str, Any]]]:
    c = functools.partial(_component, agency=agency)
    out: dict[str, list[dict[str, Any]]] = {}
    out["notesComponent"] = [
        {**c("note", r["id"], r["at"], r["username"]), "noteKind": r["kind"], "text": r["text"]}
        for r in _rows(conn, tables, "incident_log",
                       "SELECT id, at, username, kind, text FROM incident_log WHERE incident_id = :i "
                       f"AND kind NOT IN {IMPORT_LOG_KINDS!r} ORDER BY id", iid)]
    out["thriveComponent"] = [
        {**c("thrive", r["id"], r["at"], r["username"]), "version": r["version"],
         **{k: r[k] for k in ("threat", "harm", "risk", "investigation", "vulnerability", "engagement")},
         "riskLevel": r["risk_level"]}
        for r in _rows(conn, tables, "incident_thrive",
                       "SELECT * FROM incident_thrive WHERE incident_id = :i ORDER BY version", iid)]
    out["emergencyResourceComponent"] = [
        {**c("unit", r["id"], r["cleared_at"] or r["arrived_at"] or r["assigned_at"],
             r["cleared_by"] or r["assigned_by"]),
         "unitIdentifier": r["callsign"], "capabilities": list(r["capabilities"] or []),
         "assignedTimestamp": ts(r["assigned_at"]), "assignedBy": r["assigned_by"],
         "arrivedTimestamp": ts(r["arrived_at"]), "clearedTimestamp": ts(r["cleared_at"]),
         "result": r["result"], "divertedFrom": r["diverted_urn"]}
        for r in _rows(conn, tables, "assignments",
                       "SELECT a.*, u.capabilities, d.urn AS diverted_urn FROM assignments a "
                       "LEFT JOIN units u ON u.callsign = a.callsign "
                       "LEFT JOIN incidents d ON d.id = a.diverted_from "
                       "WHERE a.incident_id = :i ORDER BY a.assigned_at, a.id", iid)]
    out["talkGroupComponent"] = [
        {**c("talkgroup", r["id"], r["released_at"] or r["allocated_at"],
             r["released_by"] or r["allocated_by"]),
         "talkGroup": r["talk_group"], "allocatedTimestamp": ts(r["allocated_at"]),
         "allocatedBy": r["allocated_by"], "releasedTimestamp": ts(r["released_at"]),
         "releaseReason": r["release_reason"]}
        for r in _rows(conn, tables, "talk_group_allocations",
                       "SELECT * FROM talk_group_allocations WHERE incident_id = :i ORDER BY id", iid)]
    out["radioLogComponent"] = [
        {**c("radio", r["id"], r["at"], r["username"]), "talkGroup": r["talk_group"],
         "callsign": r["callsign"], "text": r["text"]}
        for r in _rows(conn, tables, "talkgroup_transmissions",
                       "SELECT * FROM talkgroup_transmissions WHERE incident_id = :i ORDER BY id", iid)]
    out["commandRoleComponent"] = [
        {**c("commandrole", r["id"], r["at"], r["by"]), "role": r["role"], "sequence": r["n"],
         "holder": r["holder"], "accredited": r["accredited"], "fromHolder": r["from_holder"],
         "reason": r["reason"]}
        for r in _rows(conn, tables, "command_roles",
                       "SELECT * FROM command_roles WHERE incident_id = :i ORDER BY id", iid)]
    out["armedAuthorisationComponent"] = [
        {**c("armedauth", r["id"], r["at"], r["by"]), "threatAssessment": r["threat_assessment"],
         "workingStrategy": r["working_strategy"], "rationale": r["rationale"]}
        for r in _rows(conn, tables, "armed_authorisations",
                       "SELECT * FROM armed_authorisations WHERE incident_id = :i ORDER BY id", iid)]
    out["decisionComponent"] = [
        {**c("decision", r["id"], r["at"], r["by"]), "ndmStage": r["stage"], "decision": r["decision"],
         "rationale": r["rationale"], "optionsConsidered": r["options_considered"]}
        for r in _rows(conn, tables, "decision_log",
                       "SELECT * FROM decision_log WHERE incident_id = :i ORDER BY id", iid)]
    out["methaneComponent"] = [
        {**c("methane", r["id"], r["at"], r["by"]), "version": r["version"],
         "majorIncident": r["major_incident"], "exactLocation": r["exact_location"],
         "type": r["incident_type"], "hazards": r["hazards"], "access": r["access"],
         "casualties": r["casualties"], "emergencyServices": r["emergency_services"]}
        for r in _rows(conn, tables, "methane_reports",
                       "SELECT * FROM methane_reports WHERE incident_id = :i ORDER BY version", iid)]
    return out
