"""Our record of an incident as a NENA EIDO document (NENA-STA-021, eidoVersion 1.0).

Every component carries the standard prologue ($id, lastUpdateTimeStamp, updatedByAgencyReference,
updatedByAgentReference) and is linked to the others by {"$ref": $id}. Codes come from the
standard's registries through resources/eido_registries.yaml. What the standard has no place for
lives in extension components named `uk:…`, declared in `@context` (docs/EXCHANGE.md).
"""
from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import Any, Iterable

from ..kernel import config
from .eido_record import component_id, ts

EIDO_VERSION = "1.0"
UK_PREFIX = "uk"
UK_NAMESPACE = "urn:controlroom:eido:uk:1.0#"
VOCAB = "./JSON-LD_Contexts/EmergencyIncidentDataObjectType.jsonld"
PIDF, GP, GML = ("urn:ietf:params:xml:ns:pidf", "urn:ietf:params:xml:ns:pidf:geopriv10",
                 "http://www.opengis.net/gml")
CA = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"

# Extension components: name -> (key in our record, payload fields in order).
EXTENSIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "uk:thriveComponent": ("thriveComponent", ("version", "threat", "harm", "risk", "investigation",
                                               "vulnerability", "engagement", "riskLevel")),
    "uk:armedAuthorisationComponent": ("armedAuthorisationComponent",
                                       ("threatAssessment", "workingStrategy", "rationale")),
    "uk:commandRoleComponent": ("commandRoleComponent",
                                ("role", "sequence", "holder", "accredited", "fromHolder", "reason")),
    "uk:decisionComponent": ("decisionComponent", ("ndmStage", "decision", "rationale", "optionsConsidered")),
    "uk:methaneComponent": ("methaneComponent", ("version", "majorIncident", "exactLocation", "type",
                                                 "hazards", "access", "casualties", "emergencyServices")),
    "uk:radioLogComponent": ("radioLogComponent", ("talkGroup", "callsign", "text")),
}
DETAIL_FIELDS = ("summary", "channel", "grade", "flags", "createdTimestamp", "deadlineTimestamp",
                 "despatchedTimestamp", "arrivedTimestamp", "firearmsDeclaredTimestamp",
                 "armedAuthorisedTimestamp", "armedAuthorisedBy", "majorIncident", "closingCode",
                 "closingQualifier", "closedTimestamp", "result")


def registries() -> dict[str, Any]:
    return config.load_resource("eido_registries")


def ref(target: str) -> dict[str, str]:
    return {"$ref": target}


def agent_id(username: str, agency: str) -> str:
    return f"{username}@{agency}"


def prologue(c: dict[str, Any]) -> dict[str, Any]:
    """The standard prologue of one of our record's components."""
    by = c["updatedBy"]
    return {"$id": c["componentIdentifier"], "lastUpdateTimeStamp": c["lastUpdateTimestamp"],
            "updatedByAgencyReference": ref(c["owningAgency"]),
            "updatedByAgentReference": ref(agent_id(by["agentIdentifier"], by["agencyIdentifier"]))}


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != []}


def tel_uri(phone: str) -> str:
    """A caller's number as a tel URI that gives the same digits back (RFC 3966 local number)."""
    digits = re.sub(r"[^0-9+*#]", "", phone)
    return f"tel:{digits}" if digits.startswith("+") else f"tel:{digits};phone-context=+44"


def pidf_lo(entity: str, lat: float, lon: float, address: str | None, area: str | None) -> str:
    """A PIDF-LO (RFC 4119/5491) document with the point and the civic address."""
    for p, ns in (("", PIDF), ("gp", GP), ("gml", GML), ("ca", CA)):
        ET.register_namespace(p, ns)
    root = ET.Element(f"{{{PIDF}}}presence", entity=f"pres:{entity}")
    tup = ET.SubElement(root, f"{{{PIDF}}}tuple", id="incident")
    status = ET.SubElement(tup, f"{{{PIDF}}}status")
    geopriv = ET.SubElement(status, f"{{{GP}}}geopriv")
    info = ET.SubElement(geopriv, f"{{{GP}}}location-info")
    point = ET.SubElement(info, f"{{{GML}}}Point", srsName="urn:ogc:def:crs:EPSG::4326")
    ET.SubElement(point, f"{{{GML}}}pos").text = f"{lat:.6f} {lon:.6f}"
    civic = ET.SubElement(info, f"{{{CA}}}civicAddress")
    ET.SubElement(civic, f"{{{CA}}}country").text = "GB"
    if area:
        ET.SubElement(civic, f"{{{CA}}}A2").text = area
    if address:
        ET.SubElement(civic, f"{{{CA}}}LOC").text = address
    ET.SubElement(geopriv, f"{{{GP}}}method").text = "Manual"
    return ET.tostring(root, encoding="unicode")


def jcard(name: str) -> str:
    return json.dumps(["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", name]]])


class _Builder:
    def __init__(self, rec: dict[str, Any], exporter: str) -> None:
        self.rec = rec
        self.agency = rec["sendingAgency"]["agencyIdentifier"]
        self.ic = rec["incidentComponent"]
        self.urn = self.ic["localReference"]
        self.agents: dict[str, str] = {}  # agent $id -> last time seen
        self.exporter = exporter
        self.regs = registries()

    def pro(self, c: dict[str, Any]) -> dict[str, Any]:
        p = prologue(c)
        self.agents.setdefault(p["updatedByAgentReference"]["$ref"], c["lastUpdateTimestamp"])
        return p

    def agent_ref(self, username: str | None) -> dict[str, str]:
        aid = agent_id(username or "system", self.agency)
        self.agents.setdefault(aid, self.ic["lastUpdateTimestamp"])
        return ref(aid)

    def cid(self, kind: str, key: object = None) -> str:
        return component_id(kind, self.urn if key is None else key, self.agency)

    def like(self, kind: str, c: dict[str, Any], key: object = None) -> dict[str, Any]:
        """A prologue for a component derived from record c (same time and author, own $id)."""
        return {**self.pro(c), "$id": self.cid(kind, key)}

    # ---- the standard components --------------------------------------------------------------
    def incident(self, notes: list[str]) -> dict[str, Any]:
        ic, regs = self.ic, self.regs
        code = ic["incidentType"]
        types = ic["incidentTypes"][0]
        status = ic["incidentStatus"]
        closure = ic.get("closure") or {}
        out = {**self.pro(ic),
               "incidentTypeInternalCode": code, "incidentTypeInternalText": types.get("label") or code,
               "incidentTypeCommonRegistryText": regs["incident_type"][code]["registry"],
               "incidentStatusInternalText": [status],
               "incidentStatusCommonRegistryText": list(regs["incident_status"][status]["registry"]),
               "internalIncidentId": self.urn,
               "agentReference": [self.agent_ref(ic.get("createdBy"))],
               "locationReference": [ref(self.cid("location"))],
               "notesReference": [ref(n) for n in notes]}
        if ic.get("grade"):
            out["incidentPriorityInternalText"] = ic["grade"]
        area = self.rec["locationComponent"][0].get("areaCode")
        if area:
            out["beatOrDispatchGroupText"] = area
        if self.has_caller():
            out["personReference"] = [ref(self.cid("person"))]
        if closure.get("closingCode"):
            label = config.load_resource("closing_codes")["closing_codes"].get(closure["closingCode"], {})
            out["dispositionComponent"] = [_drop_none({
                **self.like("disposition", ic), "dispositionCommonRegistryCode":
                    regs["closing_code"][closure["closingCode"]]["registry"],
                "dispositionPrimaryIndicator": True,
                "dispositionCategoryText": label.get("label") or closure["closingCode"],
                "dispositionDescriptionText": closure.get("result") or None})]
        return out

    def has_caller(self) -> bool:
        caller = self.ic.get("caller") or {}
        return bool(caller.get("name") or caller.get("phone"))

    def location(self) -> dict[str, Any]:
        loc = self.rec["locationComponent"][0]
        lon, lat = loc["geometry"]["coordinates"][:2]
        return _drop_none({**self.pro(loc), "locationTypeDescriptionRegistryText": "CurrentIncident",
                           "locationByValue": pidf_lo(self.agency, lat, lon, loc.get("civicAddress"),
                                                      loc.get("areaCode")),
                           "locationDescriptionText": loc.get("civicAddress") or None,
                           "localIdentifier": [loc["areaCode"]] if loc.get("areaCode") else None})

    def caller(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """(callComponent, callbackComponent, personComponent) for the contact that raised it."""
        ic = self.ic
        caller = ic.get("caller") or {}
        base = {**self.pro(ic), "lastUpdateTimeStamp": ic["createdTimestamp"]}
        call = {**base, "$id": self.cid("call"), "standardPrimaryCallType":
                self.regs["channel"].get(ic["channel"], {}).get("call_type", "nonEmergency"),
                "localCallType": ic["channel"], "direction": "incoming",
                "callStartTimestamp": ic["createdTimestamp"], "callStateRegistryText": "callEnd",
                "agentReference": [self.agent_ref(ic.get("createdBy"))],
                "locationReference": [ref(self.cid("location"))]}
        callbacks, persons = [], []
        if caller.get("phone"):
            callbacks.append({**base, "$id": self.cid("callback"),
                              "callBackInformationUri": [tel_uri(caller["phone"])]})
            call["callBackReference"] = ref(self.cid("callback"))
        if self.has_caller():
            person = {**base, "$id": self.cid("person"), "personIncidentRoleRegistryText": ["Caller"],
                      "callIdentifier": [self.cid("call")]}
            if caller.get("name"):
                person["ncPersonComponent"] = {"name": [{"personFullName": [{"value": caller["name"]}]}]}
            if caller.get("phone"):
                person["callBackReference"] = ref(self.cid("callback"))
            persons.append(person)
            call["personReference"] = [ref(self.cid("person"))]
        return [call], callbacks, persons

    def notes(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(notesComponent, uk:noteDetailComponent): the summary first, then the narrative log."""
        ic = self.ic
        summary = {**self.pro(ic), "lastUpdateTimeStamp": ic["createdTimestamp"], "$id": self.cid("summary"),
                   "notesActionComments": html.escape(ic["summary"]),
                   "agentReference": self.agent_ref(ic.get("createdBy"))}
        notes, kinds = [summary], [self.ext(ic, "notedetail", "summary", noteReference=ref(summary["$id"]),
                                            noteKind="summary")]
        for n in self.rec.get("notesComponent", []):
            p = self.pro(n)
            notes.append({**p, "notesActionComments": html.escape(n["text"]),
                          "agentReference": p["updatedByAgentReference"]})
            kinds.append(self.ext(n, "notedetail", p["$id"].split(":")[-2], noteReference=ref(p["$id"]),
                                  noteKind=n.get("noteKind") or "log"))
        return notes, kinds

    def ext(self, c: dict[str, Any], kind: str, key: object, **payload: Any) -> dict[str, Any]:
        return {**self.like(kind, c, key), "incidentReference": ref(self.cid("incident")), **payload}

    def resources(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """(emergencyResourceComponent, dispatchComponent, uk:assignmentComponent)."""
        regs, res, dispatch, assign = self.regs, [], [], []
        for u in self.rec.get("emergencyResourceComponent", []):
            caps = [c for c in u.get("capabilities", []) if c in regs["capability"]] or ["IRV"]
            state = "cleared" if u.get("clearedTimestamp") else "arrived" if u.get("arrivedTimestamp") else "assigned"
            st = regs["assignment_state"][state]
            p = self.pro(u)
            key = p["$id"].split(":")[-2]
            res.append({**p, "emergencyResourceTypeCommonRegistryText": regs["capability"][caps[0]]["registry"],
                        "emergencyResourceTypeInternalText": caps[0],
                        "resourceAttributeRegistryText": sorted({a for c in caps
                                                                 for a in regs["capability"][c]["attributes"]}),
                        "resourceAttributeInternalText": list(u.get("capabilities", [])),
                        "emergencyResourceName": u["unitIdentifier"],
                        "primaryUnitStatusRegistryText": st["primary"],
                        "secondaryUnitStatusRegistryText": list(st["secondary"]),
                        "unitStatusInternal": [state],
                        "agentReference": [self.agent_ref(u.get("assignedBy"))]})
            dispatch.append({**self.like("dispatch", u, key), "agencyReference": ref(self.agency),
                             "agentReference": self.agent_ref(u.get("assignedBy")),
                             "emergencyResourceReference": [ref(p["$id"])]})
            assign.append(self.ext(u, "assignment", key, emergencyResourceReference=ref(p["$id"]), **{
                k: u.get(k) for k in ("unitIdentifier", "capabilities", "assignedTimestamp", "assignedBy",
                                      "arrivedTimestamp", "clearedTimestamp", "result", "divertedFrom")}))
        return res, dispatch, assign

    def talk_groups(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        shared, alloc = [], []
        for g in self.rec.get("talkGroupComponent", []):
            p = self.pro(g)
            shared.append({**p, "sharedCommunicationResourceType": "TalkGroup",
                           "sharedCommunicationResourceByValue": g["talkGroup"]})
            alloc.append(self.ext(g, "talkgroupallocation", p["$id"].split(":")[-2],
                                  sharedCommunicationResourceReference=ref(p["$id"]),
                                  **{k: g.get(k) for k in ("talkGroup", "allocatedTimestamp", "allocatedBy",
                                                           "releasedTimestamp", "releaseReason")}))
        return shared, alloc

    def links(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Related incidents as linkComponent; a duplicate (one side closed DUPLICATE) as mergeComponent."""
        links, merges = [], []
        for link in self.rec.get("links", []):
            other = link["other_tracking"] or component_id("incidentid", link["other_urn"], self.agency)
            c = {"componentIdentifier": self.cid("link", link["id"]), "lastUpdateTimestamp": ts(link["at"]),
                 "owningAgency": self.agency,
                 "updatedBy": {"agencyIdentifier": self.agency, "agentIdentifier": link["username"]}}
            if link["kind"] == "duplicate" and "DUPLICATE" in (link["my_closing"], link["other_closing"]):
                merges.append({**self.pro(c), "incidentTrackingIdentifier": other,
                               "incidentMergeDirectionCode":
                                   "REPLACED" if link["my_closing"] == "DUPLICATE" else "REPLACING"})
            else:
                links.append({**self.pro(c), "incidentTrackingIdentifier": other,
                              "transactionReasonText": f"[{link['kind']}] {link['reason']}",
                              "linkDirectionCode": "RELATED"})
        return links, merges

    def detail(self) -> dict[str, Any]:
        ic = self.ic
        timers, fa, closure = ic.get("timers") or {}, ic.get("firearms") or {}, ic.get("closure") or {}
        values = {"summary": ic["summary"], "channel": ic["channel"], "grade": ic.get("grade"),
                  "flags": list(ic.get("flags", [])), "createdTimestamp": ic["createdTimestamp"],
                  "deadlineTimestamp": timers.get("deadline"), "despatchedTimestamp": timers.get("despatched"),
                  "arrivedTimestamp": timers.get("arrived"), "firearmsDeclaredTimestamp": fa.get("declared"),
                  "armedAuthorisedTimestamp": fa.get("armedAuthorised"),
                  "armedAuthorisedBy": fa.get("armedAuthorisedBy"), "majorIncident": fa.get("majorIncident"),
                  "closingCode": closure.get("closingCode"), "closingQualifier": closure.get("closingQualifier"),
                  "closedTimestamp": closure.get("closedTimestamp"), "result": closure.get("result")}
        return self.ext(ic, "incidentdetail", self.urn, **values)

    def extensions(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for name, (key, fields) in EXTENSIONS.items():
            out[name] = [{**self.pro(c), "incidentReference": ref(self.cid("incident")),
                          **{f: c.get(f) for f in fields}} for c in self.rec.get(key, [])]
        return out

    def agency_component(self) -> dict[str, Any]:
        name = self.rec["sendingAgency"].get("agencyName") or self.agency
        return {"$id": self.agency, "lastUpdateTimeStamp": self.ic["lastUpdateTimestamp"],
                "updatedByAgencyReference": ref(self.agency),
                "agencyJcard": jcard(name),
                "agencyRoleDescriptionRegistryText": ["CallReceiving", "Dispatching"],
                "agencyType": ["police"], "incidentOwningAgencyIndicator": True}

    def agent_components(self) -> list[dict[str, Any]]:
        roles = self.rec.get("roles", {})
        table = self.regs.get("agent_role", {})
        out = []
        for aid, at in self.agents.items():
            user = aid.rsplit("@", 1)[0]
            out.append({"$id": aid, "lastUpdateTimeStamp": at, "updatedByAgencyReference": ref(self.agency),
                        "agentRoleRegistryText": [table.get(roles.get(user, ""), "Telecommunicator")],
                        "agencyReference": ref(self.agency)})
        return out


def to_nena(rec: dict[str, Any], *, exporter: str, root_id: str | None = None) -> dict[str, Any]:
    """The NENA document for our record `rec` (eido_record.build_local), issued by `exporter`."""
    b = _Builder(rec, exporter)
    notes, note_kinds = b.notes()
    res, dispatch, assign = b.resources()
    shared, alloc = b.talk_groups()
    links, merges = b.links()
    calls, callbacks, persons = b.caller()
    incident = b.incident([notes[0]["$id"]])
    now = ts(datetime.now(timezone.utc))
    doc: dict[str, Any] = {
        "$id": root_id or rec["incidentTrackingIdentifier"], "lastUpdateTimeStamp": now,
        "updatedByAgencyReference": ref(b.agency), "updatedByAgentReference": b.agent_ref(exporter),
        "eidoVersion": EIDO_VERSION, "issuingElementIdentification": f"controlroom.{b.agency}",
        "@context": {"@vocab": VOCAB, UK_PREFIX: UK_NAMESPACE},
        "incidentComponent": incident, "callComponent": calls, "callbackComponent": callbacks,
        "personComponent": persons, "locationComponent": [b.location()], "notesComponent": notes,
        "emergencyResourceComponent": res, "dispatchComponent": dispatch,
        "sharedCommunicationResourceComponent": shared, "linkComponent": links, "mergeComponent": merges,
        "uk:incidentDetailComponent": [b.detail()], "uk:noteDetailComponent": note_kinds,
        "uk:assignmentComponent": assign, "uk:talkGroupAllocationComponent": alloc, **b.extensions(),
    }
    doc["agencyComponent"] = [b.agency_component()]
    doc["agentComponent"] = b.agent_components()
    return {k: v for k, v in doc.items() if v != []}


def carry(doc: dict[str, Any], received: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Add partners' components (documents as stored at import) to our document, unchanged.

    Their incidentComponent goes into uk:partnerIncidentComponent (the standard allows one
    incidentComponent, ours); a component whose $id we already carry is not repeated."""
    seen = {c["$id"] for v in doc.values() if isinstance(v, list) for c in v if isinstance(c, dict) and "$id" in c}
    seen.add(doc["incidentComponent"]["$id"])
    for rd in received:
        for key, value in rd.items():
            items = [value] if key == "incidentComponent" else value if isinstance(value, list) else None
            if items is None or not all(isinstance(c, dict) for c in items):
                if key == "@context" and isinstance(value, dict):
                    for p, iri in value.items():
                        doc["@context"].setdefault(p, iri)
                continue
            target = "uk:partnerIncidentComponent" if key == "incidentComponent" else key
            for c in items:
                if c.get("$id") not in seen:
                    doc.setdefault(target, []).append(c)
                    seen.add(c.get("$id"))
    return doc
