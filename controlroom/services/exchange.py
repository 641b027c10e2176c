"""Records leaving or entering the force: EIDO export/import, the printable report, analysts' CSV."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .. import config, eido, reports
from ..errors import Conflict, InvalidInput
from ..geo import validate_latlon
from .base import AUDIT_SQL, ServiceContext, Tx, to_json
from .incident_sql import local_time
from .incidents import CREATE_SQL, FLAG_NAMES, IncidentService, target_minutes
from .validate import int_id
from .views import IncidentView
from ..gazetteer import is_rural


class ExchangeService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def _audit(self, tx: Tx, action: str, entity: str, details: dict[str, Any]) -> None:
        # Disclosures are audited like changes (data protection), but change no state: no event.
        a = self.ctx.actor
        tx.execute(AUDIT_SQL, {"username": a.username, "role": a.role, "console": a.console_id,
                               "room": a.room_code, "action": action, "entity": entity, "outcome": "ok",
                               "details": to_json(details)})

    # ---- export -----------------------------------------------------------------------------
    def export_incident(self, incident_id: int, *, agency: str = eido.AGENCY_ID) -> dict[str, Any]:
        """The incident as an EIDO-style document (a dict ready for json.dumps); audited."""
        incident_id = int_id(incident_id)
        self.ctx.require("incident.export", entity=f"incident:{incident_id}", what="export incidents")
        with self.ctx.tx() as tx:
            doc = eido.build_document(tx.conn, incident_id, agency=agency)
            self._audit(tx, "incident.exported", f"incident:{incident_id}",
                        {"message": doc["eidoMessageIdentifier"], "tracking": doc["incidentTrackingIdentifier"]})
        return doc

    def export_json(self, incident_id: int) -> str:
        return json.dumps(self.export_incident(incident_id), indent=2, ensure_ascii=False)

    # ---- import -----------------------------------------------------------------------------
    def import_eido(self, document: Any) -> IncidentView:
        """Create a local incident from a partner's EIDO document (dict, JSON text or bytes).

        The whole file is checked first; any problem raises InvalidInput naming the first one and
        nothing is written. The partner's reference and components are kept with the incident."""
        ctx = self.ctx
        ctx.require("incident.create", what="import incidents from partners")
        doc = eido.parse(document)
        ic, loc = doc["incidentComponent"], doc["locationComponent"][0]
        agency = doc["sendingAgency"]["agencyIdentifier"]
        reference = ic["localReference"]
        incidents = IncidentService(ctx)
        params = self._details(incidents, ic, loc)
        params.update(incidents.actor_params(), prefix="TRN" if ctx.training else "TV",
                      target_min=target_minutes(params["grade"], rural=is_rural(params["lat"], params["lon"])))
        with ctx.tx() as tx:
            taken = tx.execute("SELECT i.urn FROM incident_partner_refs p JOIN incidents i ON i.id = p.incident_id "
                               "WHERE p.agency = :a AND p.reference = :r", {"a": agency, "r": reference}).scalar()
            if taken:
                raise Conflict(f"{agency} incident {reference} was already imported as {taken}; "
                               "nothing was imported again.", urn=taken)
            row = tx.execute(CREATE_SQL, params).mappings().one()
            iid = row["id"]
            tx.execute("INSERT INTO incident_partner_refs (incident_id, agency, reference, tracking_id, "
                       "document, imported_by, console_id) VALUES (:i, :a, :r, :t, CAST(:d AS jsonb), :u, :c)",
                       {"i": iid, "a": agency, "r": reference, "t": doc["incidentTrackingIdentifier"],
                        "d": to_json(doc), "u": ctx.actor.username, "c": ctx.actor.console_id})
            self._write_log(tx, iid, doc, agency, reference)
            linked = self._link_local(tx, iid, doc, agency, reference)
            self._audit(tx, "incident.imported", f"incident:{iid}",
                        {"agency": agency, "reference": reference, "message": doc["eidoMessageIdentifier"],
                         "linked_to": linked})
        return incidents._with_current_room(row)

    def _details(self, incidents: IncidentService, ic: dict[str, Any], loc: dict[str, Any]) -> dict[str, Any]:
        lon, lat = loc["geometry"]["coordinates"][:2]
        channel = ic["channel"] if ic["channel"] in config.channels() else "internal"
        caller = ic.get("caller") or {}
        try:
            validate_latlon(lat, lon)
            return incidents._validated(channel, self._local_type(ic["incidentTypes"]), ic["summary"],
                                        lat, lon, ic.get("grade"), caller.get("name"), caller.get("phone"),
                                        loc.get("civicAddress"), {f: f in ic.get("flags", []) for f in FLAG_NAMES})
        except InvalidInput as exc:
            raise InvalidInput(f"{exc.message} Nothing was imported.", field=exc.field) from exc

    @staticmethod
    def _local_type(types: list[dict[str, Any]]) -> str:
        """Our incident type: the same code, else the first with the same NSIR code."""
        catalogue = config.incident_types()
        for t in types:
            if t["code"] in catalogue:
                return t["code"]
        for t in types:
            for code, spec in catalogue.items():
                if t.get("nsirCode") and spec.get("nsir_code") == t.get("nsirCode"):
                    return code
        first = types[0]
        raise InvalidInput(f"Incident type '{first['code']}' (NSIR {first.get('nsirCode') or 'code not given'}) "
                           "is not in this force's catalogue. Nothing was imported.", field="incident_type")

    def _write_log(self, tx: Tx, iid: int, doc: dict[str, Any], agency: str, reference: str) -> None:
        # The partner's notes are shown in our narrative log too, marked as theirs.
        counts = ", ".join(f"{len(doc.get(n, []))} {label}" for n, label in (
            ("notesComponent", "notes"), ("emergencyResourceComponent", "unit records"),
            ("commandRoleComponent", "command records"), ("methaneComponent", "METHANE reports")))
        lines = [("exchange", f"Received from {agency} as {reference}: {counts}.")]
        for n in doc.get("notesComponent", []):
            who = n["updatedBy"]["agentIdentifier"]
            at = local_time(datetime.fromisoformat(n["lastUpdateTimestamp"].replace("Z", "+00:00")))
            lines.append(("partner", f"{who} ({n['owningAgency']}) {at}: {n['text']}"[:4000]))
        a = self.ctx.actor
        for kind, line in lines:
            tx.execute("INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
                       "VALUES (:i, :u, :c, :k, :t)", {"i": iid, "u": a.username, "c": a.console_id,
                                                       "k": kind, "t": line})

    def _link_local(self, tx: Tx, iid: int, doc: dict[str, Any], agency: str, reference: str) -> int | None:
        """When the partner's incident started as one of ours, link the two (related)."""
        ours = [doc["incidentTrackingIdentifier"]] + [
            r.get("trackingIdentifier") or "" for r in doc["incidentComponent"].get("partnerReferences", [])]
        prefix, suffix = "urn:emergency:uid:incidentid:", f":{eido.AGENCY_ID}"
        urns = [t[len(prefix):-len(suffix)] for t in ours if t.startswith(prefix) and t.endswith(suffix)]
        if not urns:
            return None
        other = tx.execute("SELECT id FROM incidents WHERE urn = ANY(:u) AND id <> :i ORDER BY id LIMIT 1",
                           {"u": urns, "i": iid}).scalar()
        if other is None:
            return None
        tx.execute("INSERT INTO incident_links (a_id, b_id, kind, reason, username) "
                   "VALUES (:a, :b, 'related', :r, :u) ON CONFLICT DO NOTHING",
                   {"a": min(other, iid), "b": max(other, iid), "u": self.ctx.actor.username,
                    "r": f"Same incident, received back from {agency} ({reference})"})
        return int(other)

    # ---- report and analysts' CSV ----------------------------------------------------------
    def report_html(self, incident_id: int) -> str:
        """The printable incident report as HTML (ui/report_pdf.py turns it into a PDF); audited."""
        incident_id = int_id(incident_id)
        self.ctx.require("incident.export", entity=f"incident:{incident_id}", what="print incident reports")
        a = self.ctx.actor
        with self.ctx.tx() as tx:
            doc = eido.build_document(tx.conn, incident_id)
            now = tx.execute("SELECT now()").scalar_one()
            self._audit(tx, "incident.report", f"incident:{incident_id}",
                        {"urn": doc["incidentComponent"]["localReference"]})
        training = self.ctx.training or doc["incidentComponent"]["localReference"].startswith("TRN")
        return reports.incident_report_html(doc, training=training, generated_at=now,
                                            generated_by=f"{a.display_name or a.username} ({a.console_id})")

    def incidents_csv(self, *, since: datetime | None = None, until: datetime | None = None,
                      status: str | None = None, limit: int = 200_000) -> str:
        """Incidents created in [since, until] (optionally one status) as CSV for analysts; audited."""
        self.ctx.require("incident.export", what="export incident lists")
        clauses, params = [], {"limit": max(1, min(int(limit), 1_000_000))}
        if since:
            clauses.append("created_at >= :since")
            params["since"] = since
        if until:
            clauses.append("created_at <= :until")
            params["until"] = until
        if status:
            clauses.append("status = :status")
            params["status"] = status
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        with self.ctx.tx() as tx:
            rows = tx.execute(f"SELECT * FROM incidents {where} ORDER BY created_at, id LIMIT :limit",
                              params).mappings().all()
            self._audit(tx, "incident.csv_exported", "incidents",
                        {"rows": len(rows), "since": since, "until": until, "status": status})
        return reports.incidents_csv(rows)
