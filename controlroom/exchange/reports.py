"""Printable incident report (HTML for Qt's PDF writer) and CSV lists for analysts. No Qt here."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from html import escape
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

from ..kernel import config

LONDON = ZoneInfo("Europe/London")
THRIVE = ("threat", "harm", "risk", "investigation", "vulnerability", "engagement")
NDM = {1: "Gather information & intelligence", 2: "Assess threat & risk, working strategy",
       3: "Consider powers & policy", 4: "Identify options & contingencies", 5: "Take action & review"}
METHANE = (("majorIncident", "M  Major incident declared"), ("exactLocation", "E  Exact location"),
           ("type", "T  Type of incident"), ("hazards", "H  Hazards"), ("access", "A  Access"),
           ("casualties", "N  Number of casualties"), ("emergencyServices", "E  Emergency services"))
CSV_COLUMNS = ("urn", "created_at", "channel", "incident_type", "nsir_category", "nsir_code", "grade",
               "status", "area_code", "room_code", "lat", "lon", "address", "summary", "firearms",
               "domestic_abuse", "vulnerable_person", "repeat_victim", "missing_person", "deadline_at",
               "despatched_at", "arrived_at", "closed_at", "closing_code", "closing_qualifier",
               "created_by")


def local(value: Any, fmt: str = "%d/%m/%Y %H:%M:%S") -> str:
    """Force-local time for print (the record itself stays UTC)."""
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    moment: datetime = value
    return moment.astimezone(LONDON).strftime(fmt)


def _who(c: Mapping[str, Any], home: str) -> str:
    """Who updated a component; people of another agency get their agency named."""
    by = c.get("updatedBy") or {}
    who = by.get("agentIdentifier", "")
    return who if by.get("agencyIdentifier") == home else f"{who} ({by.get('agencyIdentifier', '')})"


def timeline(doc: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(ISO time, who, what) for everything that happened to the incident, oldest first."""
    home = doc["sendingAgency"]["agencyIdentifier"]
    ic = doc["incidentComponent"]
    items: list[tuple[str, str, str]] = [(ic["createdTimestamp"], "", f"Incident {ic['localReference']} created")]

    def add(c: Mapping[str, Any], at: str | None, what: str) -> None:
        if at:
            items.append((at, _who(c, home), what))

    for n in doc.get("notesComponent", []):
        add(n, n["lastUpdateTimestamp"], f"[{n.get('noteKind', 'note')}] {n['text']}")
    for t in doc.get("thriveComponent", []):
        add(t, t["lastUpdateTimestamp"], f"THRIVE assessment v{t['version']}"
            + (f" (risk {t['riskLevel']})" if t.get("riskLevel") else ""))
    for u in doc.get("emergencyResourceComponent", []):
        cs = u["unitIdentifier"]
        add(u, u.get("assignedTimestamp"), f"{cs} assigned" + (f" (by {u['assignedBy']})" if u.get("assignedBy") else ""))
        add(u, u.get("arrivedTimestamp"), f"{cs} arrived at scene")
        add(u, u.get("clearedTimestamp"), f"{cs} cleared" + (f": {u['result']}" if u.get("result") else ""))
    for g in doc.get("talkGroupComponent", []):
        add(g, g.get("allocatedTimestamp"), f"Talk group {g['talkGroup']} allocated")
        add(g, g.get("releasedTimestamp"), f"Talk group {g['talkGroup']} released")
    for r in doc.get("radioLogComponent", []):
        add(r, r["lastUpdateTimestamp"], f"Radio {r['talkGroup']}"
            + (f" {r['callsign']}" if r.get("callsign") else "") + f": {r['text']}")
    for r in doc.get("commandRoleComponent", []):
        add(r, r["lastUpdateTimestamp"], f"{r['role']}: " + (r.get("holder") or "stood down")
            + (f" (from {r['fromHolder']})" if r.get("fromHolder") else ""))
    for a in doc.get("armedAuthorisationComponent", []):
        add(a, a["lastUpdateTimestamp"], "Armed deployment authorised")
    for d in doc.get("decisionComponent", []):
        add(d, d["lastUpdateTimestamp"], f"Decision (NDM {d['ndmStage']}): {d['decision']}")
    for m in doc.get("methaneComponent", []):
        add(m, m["lastUpdateTimestamp"], f"METHANE report v{m['version']}")
    closure = ic.get("closure") or {}
    if closure.get("closedTimestamp"):
        items.append((closure["closedTimestamp"], "", f"Closed: {closure.get('closingCode') or ''}"))
    return sorted(items, key=lambda i: datetime.fromisoformat(i[0].replace("Z", "+00:00")))


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]], widths: Iterable[int] | None = None) -> str:
    ws = list(widths or [])
    head = "".join(f"<th align='left'{f' width={w}%' if ws else ''}>{escape(h)}</th>"
                   for h, w in zip(headers, ws or [0] * 99))
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v) if v not in (None, '') else '—')}</td>" for v in r)
                   + "</tr>" for r in rows)
    if not body:
        return "<p><i>None recorded.</i></p>"
    return f"<table width='100%' cellspacing='0' cellpadding='3' border='1'><tr>{head}</tr>{body}</table>"


def _kv(pairs: Iterable[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><td width='28%'><b>{escape(k)}</b></td>"
                   f"<td>{escape(str(v) if v not in (None, '') else '—')}</td></tr>" for k, v in pairs)
    return f"<table width='100%' cellspacing='0' cellpadding='3' border='1'>{rows}</table>"


def incident_report_html(doc: Mapping[str, Any], *, training: bool = False, generated_at: Any = None,
                         generated_by: str = "") -> str:
    """The whole incident record as one HTML page set (QTextDocument-friendly markup)."""
    ic, loc = doc["incidentComponent"], doc["locationComponent"][0]
    home = doc["sendingAgency"]["agencyIdentifier"]
    types = ic["incidentTypes"][0]
    lon, lat = loc["geometry"]["coordinates"][:2]
    caller = ic.get("caller") or {}
    timers = ic.get("timers") or {}
    closure = ic.get("closure") or {}
    parts = ["<html><head><style>body{font-family:sans-serif;font-size:9pt} h1{font-size:15pt} "
             "h2{font-size:11pt;margin-top:10px} th{background:#e6e6e6} .tr{color:#b00000;font-weight:bold}"
             "</style></head><body>"]
    if training:
        parts.append("<p class='tr'>TRAINING — exercise record, not a live incident</p>")
    parts.append(f"<h1>Incident report {escape(ic['localReference'])}</h1>")
    parts.append(f"<p>{escape(doc['sendingAgency'].get('agencyName') or doc['sendingAgency']['agencyIdentifier'])}"
                 f" · tracking {escape(doc['incidentTrackingIdentifier'])}</p>")
    parts.append("<h2>Details</h2>" + _kv([
        ("URN", ic["localReference"]), ("Status", ic["incidentStatus"]), ("Grade", ic.get("grade")),
        ("Channel", ic["channel"]),
        ("Type", f"{types.get('label') or types['code']} (NSIR {types.get('nsirCategory')} / {types.get('nsirCode')})"),
        ("Summary", ic["summary"]), ("Address", loc.get("civicAddress")),
        ("Location", f"{lat:.5f}, {lon:.5f} (area {loc.get('areaCode') or '—'})"),
        ("Caller", " ".join(v for v in (caller.get("name"), caller.get("phone")) if v)),
        ("Flags", ", ".join(f.replace("_", " ") for f in ic.get("flags", [])) or "none"),
        ("Created", local(ic["createdTimestamp"])), ("Attendance target", local(timers.get("deadline"))),
        ("First despatched", local(timers.get("despatched"))), ("First arrival", local(timers.get("arrived"))),
        ("Closed", local(closure.get("closedTimestamp"))),
        ("Closing code", " / ".join(v for v in (closure.get("closingCode"), closure.get("closingQualifier")) if v)),
        ("Result", closure.get("result")),
        ("Partner references", "; ".join(f"{r['agencyIdentifier']} {r['reference']}"
                                         for r in ic.get("partnerReferences", []))),
    ]))
    thrive = doc.get("thriveComponent", [])
    parts.append("<h2>THRIVE</h2>")
    if thrive:
        t = thrive[-1]
        parts.append(f"<p>Version {t['version']} by {escape(_who(t, home))} at {local(t['lastUpdateTimestamp'])}"
                     + (f", risk {escape(t['riskLevel'])}" if t.get("riskLevel") else "") + "</p>")
        parts.append(_kv([(k.capitalize(), t[k]) for k in THRIVE]))
    else:
        parts.append("<p><i>No THRIVE assessment recorded.</i></p>")
    parts.append("<h2>Timeline</h2>" + _table(("Time", "By", "What"),
                                              [(local(at, "%d/%m\u00a0%H:%M:%S"), who or "—", what)
                                               for at, who, what in timeline(doc)], (17, 15, 68)))
    parts.append("<h2>Units</h2>" + _table(
        ("Unit", "Capabilities", "Assigned", "Arrived", "Cleared", "Result"),
        [(u["unitIdentifier"], " ".join(u.get("capabilities", [])), local(u.get("assignedTimestamp")),
          local(u.get("arrivedTimestamp")), local(u.get("clearedTimestamp")), u.get("result"))
         for u in doc.get("emergencyResourceComponent", [])]))
    parts.append("<h2>Talk groups</h2>" + _table(
        ("Talk group", "Allocated", "By", "Released", "Reason"),
        [(g["talkGroup"], local(g.get("allocatedTimestamp")), g.get("allocatedBy"),
          local(g.get("releasedTimestamp")), g.get("releaseReason")) for g in doc.get("talkGroupComponent", [])]))
    parts.append("<h2>Command chain</h2>" + _table(
        ("Time", "Role", "Holder", "Accredited", "Taken from", "Reason", "Recorded by"),
        [(local(r["lastUpdateTimestamp"]), r["role"], r.get("holder") or "stood down",
          "yes" if r.get("accredited") else "no", r.get("fromHolder"), r.get("reason"), _who(r, home))
         for r in doc.get("commandRoleComponent", [])]))
    for a in doc.get("armedAuthorisationComponent", []):
        parts.append(f"<h2>Armed deployment authorisation</h2><p>{escape(_who(a, home))} at "
                     f"{local(a['lastUpdateTimestamp'])}</p>" + _kv([
                         ("Threat assessment", a["threatAssessment"]), ("Working strategy", a["workingStrategy"]),
                         ("Rationale", a["rationale"])]))
    parts.append("<h2>Decision log (National Decision Model)</h2>" + _table(
        ("Time", "Stage", "Decision", "Rationale", "Options considered", "By"),
        [(local(d["lastUpdateTimestamp"]), f"{d['ndmStage']} {NDM.get(d['ndmStage'], '')}", d["decision"],
          d["rationale"], d.get("optionsConsidered"), _who(d, home)) for d in doc.get("decisionComponent", [])]))
    parts.append("<h2>METHANE reports</h2>")
    methane = doc.get("methaneComponent", [])
    if not methane:
        parts.append("<p><i>None recorded.</i></p>")
    for m in methane:
        parts.append(f"<p><b>Version {m['version']}</b> — {escape(_who(m, home))} at {local(m['lastUpdateTimestamp'])}</p>"
                     + _kv([(label, m.get(key)) for key, label in METHANE]))
    parts.append(f"<p><small>Produced {local(generated_at)} by {escape(generated_by)}. "
                 "Contains personal data: handle under the force's data protection policy.</small></p>")
    parts.append("</body></html>")
    return "".join(parts)


# ---- CSV for analysts ------------------------------------------------------------------------
def _cell(value: Any) -> Any:
    """Spreadsheet-safe value: timestamps as ISO text, formula-looking text defused."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # stop a spreadsheet treating caller-supplied text as a formula
    return value


def incidents_csv(incidents: Iterable[Any], *, columns: Iterable[str] = CSV_COLUMNS) -> str:
    """Incidents (rows, dicts or IncidentViews) as CSV text with NSIR codes from the catalogue."""
    cols = list(columns)
    catalogue = config.incident_types()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(cols)
    for inc in incidents:
        get = inc.get if isinstance(inc, Mapping) else (lambda k, _i=inc: getattr(_i, k, None))
        t = catalogue.get(get("incident_type") or "", {})
        extra = {"nsir_category": t.get("nsir_category"), "nsir_code": t.get("nsir_code")}
        writer.writerow([_cell(extra[c] if c in extra else get(c)) for c in cols])
    return out.getvalue()
