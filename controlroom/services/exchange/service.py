"""Records leaving or entering the force: EIDO export/import, the printable report, analysts' CSV."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ...exchange import eido, reports
from ...kernel.errors import InvalidInput
from ..base import ServiceContext, Tx, to_json
from .importer import Importer, PartnerIncidentView, partner_view
from ..validate import int_id
from ..views import IncidentView


class ExchangeService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def _audit(self, tx: Tx, action: str, entity: str, details: dict[str, Any]) -> None:
        # Disclosures are audited like changes (data protection), but change no state: no event.
        # The database records them in the caller's own name (api.audit_disclosure, 0039).
        tx.call("api.audit_disclosure", action=action, entity=entity, details=json.loads(to_json(details)))

    # ---- export -----------------------------------------------------------------------------
    def export_incident(self, incident_id: int, *, agency: str | None = None) -> dict[str, Any]:
        """The incident as a NENA EIDO document (NENA-STA-021; a dict ready for json.dumps): our
        components plus partners' as received; audited."""
        incident_id = int_id(incident_id)
        self.ctx.require("incident.export", entity=f"incident:{incident_id}", what="export incidents")
        with self.ctx.tx() as tx:
            doc = eido.build_document(tx.conn, incident_id, exporter=self.ctx.actor.username, agency=agency)
            self._audit(tx, "incident.exported", f"incident:{incident_id}",
                        {"tracking": doc["$id"], "at": doc["lastUpdateTimeStamp"],
                         "components": sum(len(v) for v in doc.values() if isinstance(v, list))})
        return doc

    def export_json(self, incident_id: int) -> str:
        return json.dumps(self.export_incident(incident_id), indent=2, ensure_ascii=False)

    # ---- import -----------------------------------------------------------------------------
    def import_eido(self, document: Any) -> IncidentView | PartnerIncidentView:
        """Take in another agency's NENA EIDO document (dict, JSON text or bytes).

        The whole file is checked first (limits, strict schema, $refs, records in our name); any
        problem raises InvalidInput naming the first one and nothing is written. The sender's
        components are kept with the incident and re-exported as received. Returns our incident,
        or, when the document has no location in our force area, the other agency's incident as
        kept (PartnerIncidentView)."""
        self.ctx.require("incident.create", what="import incidents from partners")
        return Importer(self.ctx).run(document)

    def partner_incidents(self) -> list[PartnerIncidentView]:
        """Other agencies' incidents we keep but do not work (newest first)."""
        self.ctx.require("incident.export", what="read other agencies' incidents")
        with self.ctx.tx() as tx:
            rows = tx.execute("SELECT * FROM incident_partner_refs WHERE incident_id IS NULL "
                              "ORDER BY imported_at DESC, id DESC").mappings().all()
        return [partner_view(r) for r in rows]

    def export_partner(self, partner_id: int) -> dict[str, Any]:
        """Another agency's incident we keep, re-exported exactly as received; audited."""
        partner_id = int_id(partner_id)
        self.ctx.require("incident.export", entity=f"partner_incident:{partner_id}", what="export incidents")
        with self.ctx.tx() as tx:
            doc: dict[str, Any] | None = tx.execute(
                "SELECT document FROM incident_partner_refs WHERE id = :i AND incident_id IS NULL",
                {"i": partner_id}).scalar()
            if doc is None:
                raise InvalidInput(f"No other agency's incident with reference {partner_id}.", field="id")
            self._audit(tx, "incident.exported", f"partner_incident:{partner_id}", {"tracking": doc.get("$id")})
        return doc

    # ---- report and analysts' CSV ----------------------------------------------------------
    def report_html(self, incident_id: int) -> str:
        """The printable incident report as HTML (ui/kit/report_pdf.py turns it into a PDF); audited."""
        incident_id = int_id(incident_id)
        self.ctx.require("incident.export", entity=f"incident:{incident_id}", what="print incident reports")
        a = self.ctx.actor
        with self.ctx.tx() as tx:
            doc = eido.build_record(tx.conn, incident_id)
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
        clauses: list[str] = []
        params: dict[str, Any] = {"limit": max(1, min(int(limit), 1_000_000))}
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
