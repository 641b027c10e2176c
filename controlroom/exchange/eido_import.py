"""Reading a received NENA EIDO document: what it says about the incident, in our terms.

No network and no XML entities: embedded XML (PIDF-LO locations, additional data) is parsed with
defusedxml, and URLs (locationByReferenceUrl, SIP/tel URIs, media) are recorded, never fetched.
The document has passed eido.parse (limits, strict schema, $refs) before it gets here.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from ..kernel import config
from .eido_export import EXTENSIONS, registries
from ..kernel.errors import InvalidInput

GML_POS = "{http://www.opengis.net/gml}pos"
CIVIC = "{urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr}civicAddress"
# Append-only records: a copy claiming to be ours must be identical to what we hold.
APPEND_ONLY = ("notesComponent", "linkComponent", "mergeComponent", "uk:noteDetailComponent",
               *EXTENSIONS)
URL_KEYS = re.compile(r"(Url|Uri|URI|uri|ContactHeader)$")


def _refused(message: str) -> InvalidInput:
    return InvalidInput(f"{message} Nothing was imported.", field="document")


def components(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(key, component) for every component of the document, the incidentComponent included."""
    for key, value in doc.items():
        if key == "incidentComponent" and isinstance(value, dict):
            yield key, value
        elif isinstance(value, list):
            for c in value:
                if isinstance(c, dict) and "$id" in c:
                    yield key, c
                    for d in c.get("dispositionComponent", []) if key == "incidentComponent" else []:
                        yield "dispositionComponent", d


def agency(c: dict[str, Any]) -> str | None:
    return (c.get("updatedByAgencyReference") or {}).get("$ref")


def author(c: dict[str, Any]) -> str:
    """The agent who last updated a component (agency-qualified), else its agency."""
    return (c.get("updatedByAgentReference") or {}).get("$ref") or agency(c) or "unknown"


def parse_xml(value: str, where: str) -> Any:
    """Embedded XML through the hardened parser: no DTDs, entities or external references."""
    try:
        return DET.fromstring(value, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise _refused(f"In {where}: the embedded XML declares a DTD or entities ({type(exc).__name__}), "
                       "which are not accepted.") from exc
    except Exception as exc:  # ParseError: not well-formed
        raise _refused(f"In {where}: the embedded XML is not well-formed ({exc}).") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def pidf_location(xml: str, where: str) -> tuple[float | None, float | None, str | None]:
    """(lat, lon, civic address text) from a PIDF-LO document."""
    root = parse_xml(xml, where)
    lat = lon = None
    pos = root.find(f".//{GML_POS}")
    if pos is not None and pos.text:
        try:
            lat, lon = (float(v) for v in pos.text.split()[:2])
        except ValueError:
            raise _refused(f"In {where}: the position '{pos.text.strip()}' is not two numbers.") from None
    civic = root.find(f".//{CIVIC}")
    address = None
    if civic is not None:
        parts = {_local(e.tag): (e.text or "").strip() for e in civic}
        if parts.get("LOC"):
            address = parts["LOC"]
        else:
            street = " ".join(p for p in (parts.get("HNO"), parts.get("HNS"), parts.get("PRD"), parts.get("RD"),
                                          parts.get("STS"), parts.get("POD")) if p)
            address = ", ".join(p for p in (street, parts.get("A3"), parts.get("A2"), parts.get("A1"),
                                            parts.get("PC"), parts.get("country")) if p) or None
    return lat, lon, address


def plain(note_html: str) -> str:
    """A note's HTML5 text as plain text (tags dropped, entities decoded) for our log."""
    return html.unescape(re.sub(r"<[^>]*>", "", note_html)).strip()


def _tel(uri: str) -> str | None:
    if uri.lower().startswith("tel:"):
        return uri[4:].split(";", 1)[0] or None
    return None


@dataclass
class Plan:
    """What a received document says, in our terms."""
    sender: str
    tracking: str
    reference: str
    summary: str | None = None
    incident_type: str | None = None          # our catalogue code, when it maps
    type_text: str | None = None              # how the partner described the type
    channel: str = "internal"
    grade: str | None = None
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    caller_name: str | None = None
    caller_phone: str | None = None
    flags: list[str] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)   # {at, author, agency, text}
    urls: list[str] = field(default_factory=list)


def plan(doc: dict[str, Any]) -> Plan:
    by_id = {c["$id"]: c for _, c in components(doc)}
    ic = doc.get("incidentComponent") or {}
    detail = (doc.get("uk:incidentDetailComponent") or [{}])[0]
    p = Plan(sender=agency(doc) or "unknown", tracking=doc["$id"],
             reference=ic.get("internalIncidentId") or doc["$id"])
    p.summary = detail.get("summary")
    if p.summary is None and ic.get("notesReference"):
        first = by_id.get(ic["notesReference"][0]["$ref"])
        p.summary = plain(first["notesActionComments"]) if first else None
    p.incident_type, p.type_text = _our_type(ic)
    p.channel = detail.get("channel") or _channel(doc)
    p.grade = detail.get("grade") or (ic.get("incidentPriorityInternalText")
                                      if ic.get("incidentPriorityInternalText") in config.grade_policy()["grades"]
                                      else None)
    p.flags = list(detail.get("flags") or [])
    _location(doc, p)
    _caller(doc, by_id, p)
    _log(doc, by_id, p)
    p.urls = sorted({v for key, v in _leaves(doc) if URL_KEYS.search(key) and isinstance(v, str)})
    if p.summary is None:
        p.summary = f"{p.type_text or 'Incident'} received from {p.sender}"
    return p


def _leaves(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    stack = [(key, node)]
    while stack:
        k, n = stack.pop()
        if isinstance(n, dict):
            stack.extend(n.items())
        elif isinstance(n, list):
            stack.extend((k, v) for v in n)
        else:
            yield k, n


def _our_type(ic: dict[str, Any]) -> tuple[str | None, str | None]:
    if not ic:
        return None, None
    catalogue, regs = config.incident_types(), registries()
    code, common = ic.get("incidentTypeInternalCode"), ic.get("incidentTypeCommonRegistryText")
    text = ic.get("incidentTypeInternalText") or common
    if code in catalogue:
        return code, text
    for ours, row in regs["incident_type"].items():
        if row["registry"] == common:
            return ours, text
    inbound = regs.get("incident_type_inbound", {}).get(common)
    return (inbound["ours"] if inbound else None), text


def _channel(doc: dict[str, Any]) -> str:
    calls = doc.get("callComponent") or []
    local = calls[0].get("localCallType") if calls else None
    if local in config.channels():
        return str(local)
    if calls and calls[0].get("standardPrimaryCallType") == "emergency":
        return "999"
    return "internal"


def _location(doc: dict[str, Any], p: Plan) -> None:
    order = ("CurrentIncident", "InitialIncident", "Caller", "RoutingLocation")
    locs = sorted(enumerate(doc.get("locationComponent") or []),
                  key=lambda il: (order.index(il[1]["locationTypeDescriptionRegistryText"])
                                  if il[1]["locationTypeDescriptionRegistryText"] in order else 9, il[0]))
    for i, loc in locs:
        where = f"locationComponent[{i + 1}].locationByValue"
        if loc.get("locationByValue"):
            lat, lon, address = pidf_location(loc["locationByValue"], where)
            if p.lat is None and lat is not None:
                p.lat, p.lon = lat, lon
            p.address = p.address or loc.get("locationDescriptionText") or address
        elif loc.get("locationDescriptionText"):
            p.address = p.address or loc["locationDescriptionText"]


def _caller(doc: dict[str, Any], by_id: dict[str, Any], p: Plan) -> None:
    for person in doc.get("personComponent") or []:
        if "Caller" not in person.get("personIncidentRoleRegistryText", []):
            continue
        names = ((person.get("ncPersonComponent") or {}).get("name") or [{}])[0]
        full = [v.get("value") for v in names.get("personFullName", []) if isinstance(v, dict)]
        parts = [v.get("value") for k in ("personGivenName", "personSurName") for v in names.get(k, [])
                 if isinstance(v, dict)]
        p.caller_name = p.caller_name or (full[0] if full else " ".join(x for x in parts if x) or None)
        ref = (person.get("callBackReference") or {}).get("$ref")
        cb = by_id.get(ref) if isinstance(ref, str) else None
        for uri in (cb or {}).get("callBackInformationUri", []):
            p.caller_phone = p.caller_phone or _tel(uri)
    if p.caller_phone is None:
        for cb in doc.get("callbackComponent") or []:
            for uri in cb.get("callBackInformationUri", []):
                p.caller_phone = p.caller_phone or _tel(uri)


def _line(c: dict[str, Any], text: str) -> dict[str, Any]:
    return {"at": c.get("lastUpdateTimeStamp"), "author": author(c), "agency": agency(c), "text": text[:3900]}


def _log(doc: dict[str, Any], by_id: dict[str, Any], p: Plan) -> None:
    """The partner's notes, calls, agents, persons and additional data as lines for our log."""
    for c in doc.get("callComponent") or []:
        bits = [c.get("standardPrimaryCallType"), c.get("direction"), f"started {c.get('callStartTimestamp')}"]
        if c.get("answerDate"):
            bits.append(f"answered {c['answerDate']}")
        if c.get("queueIdentifier"):
            bits.append(f"queue {c['queueIdentifier']}")
        bits.append(f"state {c.get('callStateRegistryText')}")
        p.log.append(_line(c, f"Call {c['$id']}: " + ", ".join(str(b) for b in bits if b)))
    for c in doc.get("callbackComponent") or []:
        uris = list(c.get("callBackInformationUri", [])) + ([c["deviceContactHeader"]] if c.get("deviceContactHeader") else [])
        p.log.append(_line(c, "Call back on: " + ", ".join(uris)))
    for c in doc.get("agentComponent") or []:
        bits = [", ".join(c.get("agentRoleRegistryText", []))]
        if c.get("agentWorkstationPositionIdentification"):
            bits.append(f"position {c['agentWorkstationPositionIdentification']}")
        bits.append((c.get("agencyReference") or {}).get("$ref", ""))
        p.log.append(_line(c, f"Agent {c['$id']}: " + ", ".join(b for b in bits if b)))
    for c in doc.get("personComponent") or []:
        roles = ", ".join(c.get("personIncidentRoleRegistryText", []))
        calls = ", ".join(c.get("callIdentifier", []))
        p.log.append(_line(c, f"Person ({roles})" + (f" on call {calls}" if calls else "")
                           + (f": {p.caller_name}" if "Caller" in roles and p.caller_name else "")))
    for i, c in enumerate(doc.get("additionalDataComponent") or []):
        if c.get("additionalDataByValue"):
            root = parse_xml(c["additionalDataByValue"], f"additionalDataComponent[{i + 1}].additionalDataByValue")
            words = " ".join(" ".join(t.split()) for t in root.itertext() if t.strip())
            p.log.append(_line(c, f"Additional data {_local(root.tag)}: {words}"))
        if c.get("additionalDataByReferenceUrl"):
            p.log.append(_line(c, f"Additional data at {c['additionalDataByReferenceUrl']} (not fetched)"))
    for c in doc.get("locationComponent") or []:
        if c.get("locationByReferenceUrl"):
            p.log.append(_line(c, f"{c['locationTypeDescriptionRegistryText']} location at "
                                  f"{c['locationByReferenceUrl']} (not fetched)"))
    summary_ids = {r["$ref"] for r in (doc.get("incidentComponent") or {}).get("notesReference", [])[:1]}
    for c in doc.get("notesComponent") or []:
        if c["$id"] not in summary_ids:
            p.log.append(_line(c, plain(c["notesActionComments"])))


# ---- our internal record shape (for the report) from a received document ------------------------------
def _internal(c: dict[str, Any]) -> dict[str, Any]:
    who = author(c)
    return {"componentIdentifier": c["$id"], "lastUpdateTimestamp": c.get("lastUpdateTimeStamp"),
            "owningAgency": agency(c) or "",
            "updatedBy": {"agencyIdentifier": agency(c) or "", "agentIdentifier": who.rsplit("@", 1)[0]}}


def record_parts(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A received document's records in the shape of eido_record.build_local (for the report)."""
    kinds = {k["noteReference"]["$ref"]: k["noteKind"] for k in doc.get("uk:noteDetailComponent", [])}
    out: dict[str, list[dict[str, Any]]] = {"notesComponent": [
        {**_internal(n), "noteKind": kinds.get(n["$id"], "partner"), "text": plain(n["notesActionComments"])}
        for n in doc.get("notesComponent", []) if kinds.get(n["$id"]) != "summary"]}
    for name, (key, fields) in EXTENSIONS.items():
        out[key] = [{**_internal(c), **{f: c.get(f) for f in fields}} for c in doc.get(name, [])]
    out["emergencyResourceComponent"] = [
        {**_internal(a), **{k: a.get(k) for k in ("unitIdentifier", "assignedTimestamp", "assignedBy",
                                                   "arrivedTimestamp", "clearedTimestamp", "result", "divertedFrom")},
         "capabilities": list(a.get("capabilities") or [])} for a in doc.get("uk:assignmentComponent", [])]
    out["talkGroupComponent"] = [
        {**_internal(g), **{k: g.get(k) for k in ("talkGroup", "allocatedTimestamp", "allocatedBy",
                                                   "releasedTimestamp", "releaseReason")}}
        for g in doc.get("uk:talkGroupAllocationComponent", [])]
    return out


# ---- components that claim to be ours ------------------------------------------------------------------
def _claims(key: str, c: dict[str, Any], own: str) -> bool:
    if key == "agencyComponent":
        return c.get("$id") == own
    if key == "agentComponent" and (c.get("agencyReference") or {}).get("$ref") == own:
        return True
    return agency(c) == own or author(c).endswith(f"@{own}")


def strip_own(doc: dict[str, Any], own: str, ours: dict[str, dict[str, Any]], own_name: str) -> dict[str, Any]:
    """The document without the components that claim to be ours, which must be copies of records
    we hold (`ours`: our current export's components by $id). An append-only record (note,
    authorisation, decision, command role, METHANE…) in our name that we never issued, or that
    differs from ours, is refused: nobody else may write in our name. Records derived from our
    current state (incident, location, units, agents, agency) are dropped: ours replace them on
    re-export, so their content is never taken from the document."""
    kept: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "incidentComponent":
            if not _claims(key, value, own):
                kept[key] = value
            else:
                _check_ours(key, value, own, ours, own_name)
            continue
        if not isinstance(value, list) or not all(isinstance(c, dict) and "$id" in c for c in value):
            kept[key] = value
            continue
        items = []
        for c in value:
            if _claims(key, c, own):
                _check_ours(key, c, own, ours, own_name)
            else:
                items.append(c)
        if items:
            kept[key] = items
    return kept


def _check_ours(key: str, c: dict[str, Any], own: str, ours: dict[str, dict[str, Any]], own_name: str) -> None:
    if key not in APPEND_ONLY or ":summary:" in c["$id"]:
        return  # derived from our current record (incident, location, units, agents…): ours replaces it
    mine = ours.get(c["$id"])
    what = key.removeprefix("uk:").removesuffix("Component")
    if mine is None:
        raise _refused(f"The document holds a {what} record '{c['$id']}' in the name of {own_name} ({own}) "
                       "that we never issued. Records in our name can only come from us.")
    if mine != c:
        raise _refused(f"The document holds our {what} record '{c['$id']}' ({own_name}) with content that "
                       "differs from ours. Records in our name can only come from us.")
