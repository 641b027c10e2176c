"""EIDO-style incident documents (modelled on NENA EIDO): build one from the database, check one.

A document is a set of components, each carrying its own identifier, last-update time, owning
agency and who updated it, so an incident passed between agencies keeps every record's author.
Components received from a partner are stored with the import and re-exported as received.
Every table other than incidents/incident_log is optional: an absent table gives no components.
"""
from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime, timezone
from typing import Any, Mapping

import jsonschema
from sqlalchemy import Connection, text

from . import config
from .errors import InvalidInput

AGENCY_ID = "thamesvalley.police.uk"
AGENCY_NAME = "Thames Valley Police"
SCHEMA_VERSION = "controlroom-eido/1.0"
FLAGS = ("firearms", "domestic_abuse", "vulnerable_person", "repeat_victim", "missing_person")
# Components that are lists of records (carried from a partner document on re-export).
LIST_COMPONENTS = ("notesComponent", "thriveComponent", "emergencyResourceComponent",
                   "talkGroupComponent", "radioLogComponent", "commandRoleComponent",
                   "armedAuthorisationComponent", "decisionComponent", "methaneComponent")
# incident_log kinds written by an import: their content travels in the carried components instead.
IMPORT_LOG_KINDS = ("exchange", "partner")


def tracking_id(urn: str, agency: str = AGENCY_ID) -> str:
    return f"urn:emergency:uid:incidentid:{urn}:{agency}"


def ts(value: Any) -> str | None:
    """ISO 8601 UTC text for a timestamp (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _component(kind: str, key: object, at: Any, by: str | None, agency: str) -> dict[str, Any]:
    return {"componentIdentifier": f"urn:emergency:uid:{kind}:{key}:{agency}",
            "lastUpdateTimestamp": ts(at), "owningAgency": agency,
            "updatedBy": {"agencyIdentifier": agency, "agentIdentifier": by or "system"}}


def _tables(conn: Connection) -> set[str]:
    return {r[0] for r in conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))}


def _rows(conn: Connection, tables: set[str], table: str, sql: str, iid: int) -> list[Mapping[str, Any]]:
    if table not in tables:  # that part of the system is not installed in this database
        return []
    return conn.execute(text(sql), {"i": iid}).mappings().all()


def incident_types_for(code: str) -> list[dict[str, Any]]:
    t = config.incident_types().get(code, {})
    return [{"code": code, "label": t.get("label", code), "nsirCategory": t.get("nsir_category"),
             "nsirCode": t.get("nsir_code")}]


def build_document(conn: Connection, incident_id: int, *, agency: str = AGENCY_ID,
                   agency_name: str = AGENCY_NAME) -> dict[str, Any]:
    """The incident as an EIDO-style document (InvalidInput if there is no such incident)."""
    inc = conn.execute(text("SELECT * FROM incidents WHERE id = :i"), {"i": incident_id}).mappings().first()
    if inc is None:
        raise InvalidInput(f"No incident with reference {incident_id}.", field="id")
    tables = _tables(conn)
    partner = _rows(conn, tables, "incident_partner_refs",
                    "SELECT agency, reference, tracking_id, document FROM incident_partner_refs "
                    "WHERE incident_id = :i", incident_id)
    received = partner[0]["document"] if partner else {}
    urn = inc["urn"]
    comp = _component("incident", urn, inc["updated_at"], inc["updated_by"], agency)
    refs = [{"agencyIdentifier": p["agency"], "reference": p["reference"], "trackingIdentifier": p["tracking_id"]}
            for p in partner] + list(received.get("incidentComponent", {}).get("partnerReferences", []))
    closure = None
    if inc["closed_at"] is not None or inc["closing_code"]:
        closure = {"closingCode": inc["closing_code"], "closingQualifier": inc["closing_qualifier"],
                   "result": inc["result"], "closedTimestamp": ts(inc["closed_at"])}
    doc: dict[str, Any] = {
        "eidoMessageIdentifier": f"urn:emergency:uid:eidomessage:{uuid.uuid4()}:{agency}",
        "schemaVersion": SCHEMA_VERSION,
        "sentTimestamp": ts(datetime.now(timezone.utc)),
        "sendingAgency": {"agencyIdentifier": agency, "agencyName": agency_name},
        "incidentTrackingIdentifier": tracking_id(urn, agency),
        "incidentComponent": {
            **comp, "localReference": urn, "incidentStatus": inc["status"], "channel": inc["channel"],
            "summary": inc["summary"], "grade": inc["grade"], "createdTimestamp": ts(inc["created_at"]),
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
            "partnerReferences": refs,
        },
        "locationComponent": [{
            **_component("location", urn, inc["updated_at"], inc["updated_by"], agency),
            "geometry": {"type": "Point", "coordinates": [inc["lon"], inc["lat"]]},
            "civicAddress": inc["address"], "areaCode": inc["area_code"]}],
    }
    local = _local_components(conn, tables, incident_id, agency)
    for name in LIST_COMPONENTS:
        doc[name] = list(received.get(name, [])) + local.get(name, [])
    return doc


def _local_components(conn: Connection, tables: set[str], iid: int, agency: str) -> dict[str, list]:
    c = functools.partial(_component, agency=agency)
    out: dict[str, list] = {}
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


# ---- checking a received document ----------------------------------------------------------------
@functools.cache
def schema() -> dict[str, Any]:
    with open(config.RESOURCES / "eido.schema.json", encoding="utf-8") as fh:
        return json.load(fh)


_formats = jsonschema.FormatChecker()


@_formats.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    return True


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema())
    return jsonschema.Draft202012Validator(schema(), format_checker=_formats)


def parse(doc: Any) -> dict[str, Any]:
    """The document as a dict if it is valid; otherwise InvalidInput with the FIRST problem."""
    if isinstance(doc, (bytes, str)):
        try:
            doc = json.loads(doc)
        except UnicodeDecodeError as exc:  # a ValueError without .msg/.lineno: not JSON text at all
            raise InvalidInput("The file is not readable JSON (it is not UTF-8 text). Nothing was imported.",
                               field="document") from exc
        except ValueError as exc:
            raise InvalidInput(f"The file is not readable JSON ({exc.msg}: line {exc.lineno}, "
                               f"column {exc.colno}). Nothing was imported.", field="document") from exc
    # The first error in schema order (root fields, then each component in turn) is the one to fix.
    first = next(iter(_validator().iter_errors(doc)), None)
    if first is not None:
        raise InvalidInput(describe(first) + " Nothing was imported.", field="document", path=_path(first))
    return doc


def _path(err: jsonschema.ValidationError) -> str:
    parts = [f"[{p + 1}]" if isinstance(p, int) else (f".{p}" if i else str(p))
             for i, p in enumerate(err.absolute_path)]
    return "".join(parts) or "the document"


def describe(err: jsonschema.ValidationError) -> str:
    """One validation error in words an operator can act on."""
    where = _path(err)
    v = err.validator
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return f"The file is incomplete: {where} has no '{missing}'."
    if v == "type":
        return f"In {where}: expected {err.validator_value}, found {type(err.instance).__name__}."
    if v == "enum":
        allowed = ", ".join(map(str, err.validator_value))
        return f"In {where}: '{err.instance}' is not one of {allowed}."
    if v == "format":
        return f"In {where}: '{err.instance}' is not a valid {err.validator_value} (use ISO 8601 with a time zone)."
    if v == "minItems":
        return f"In {where}: at least {err.validator_value} entry is needed, the list is empty."
    if v == "minLength":
        return f"In {where}: the value is empty."
    if v in ("maxLength", "maxItems"):
        return f"In {where}: the value is too long (at most {err.validator_value})."
    if v in ("minimum", "maximum"):
        return f"In {where}: {err.instance} is out of range."
    if v == "const":
        return f"In {where}: expected '{err.validator_value}'."
    if v == "additionalProperties":
        return f"In {where}: {err.message}."
    if v == "pattern":
        return f"In {where}: '{err.instance}' is not in the expected form."
    return f"In {where}: {err.message}."
