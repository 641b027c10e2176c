"""Importing another agency's NENA EIDO document (session.exchange.import_eido).

Three outcomes, all in one transaction and all audited:
- the document is about an incident we hold (our own tracking id, or one we imported before):
  the sender's components are attached to it (a newer document from them replaces the older);
- it is about an incident in our force area with a type we know: a new incident of ours,
  linked to the partner's reference;
- otherwise (no coordinates, outside the force, as NENA's call-transfer sample): it is kept as
  another agency's incident with its civic address, caller and log (no incident of ours).
Components claiming our own agency must be copies of records we hold (eido_import.strip_own).
The checks and reads happen here; every write is the one API action api.exchange_import
(migration 0027), with the importer's identity from cr_actor().
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from ...exchange import eido, eido_import
from ...kernel.errors import InvalidInput
from ...geo.gazetteer import is_rural
from ..base import ServiceContext, Tx
from ..incidents import IncidentService, target_minutes
from ..incidents.clock import local_time
from ..views import FLAG_NAMES, IncidentView

PREFIX = "urn:emergency:uid:incidentid:"


@dataclass(frozen=True)
class PartnerIncidentView:
    """Another agency's incident we keep but do not work (no location of ours)."""
    id: int
    agency: str
    reference: str
    tracking_id: str
    summary: Optional[str]
    incident_type_text: Optional[str]
    address: Optional[str]
    caller_name: Optional[str]
    caller_phone: Optional[str]
    lat: Optional[float]
    lon: Optional[float]
    urls: tuple[str, ...]
    log: tuple[dict[str, Any], ...]
    imported_at: datetime


def partner_view(row: Any) -> PartnerIncidentView:
    return PartnerIncidentView(**{k: row[k] for k in ("id", "agency", "reference", "tracking_id", "summary",
                                                       "incident_type_text", "address", "caller_name",
                                                       "caller_phone", "lat", "lon", "imported_at")},
                               urls=tuple(row["urls"]), log=tuple(row["log"]))


def _when(at: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError:
        return None


class Importer:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def run(self, document: Any) -> IncidentView | PartnerIncidentView:
        ctx = self.ctx
        doc = eido.parse(document)
        with ctx.tx() as tx:
            own, own_name = eido.agency_of(tx.conn)
            sender = eido_import.agency(doc)
            if sender is None:  # eido.parse's schema requires updatedByAgencyReference: not reached
                raise InvalidInput("The document does not say which agency sent it. Nothing was imported.",
                                   field="document")
            if sender == own:
                raise InvalidInput(f"This document was issued by {own_name} ({own}), that is by us: an "
                                   "agency cannot import its own document. Nothing was imported.", field="document")
            target = self._ours(tx, doc["$id"], own)
            ours = {}
            if target is not None:
                mine = eido.build_document(tx.conn, target, exporter=ctx.actor.username)
                ours = {c["$id"]: c for k, c in eido_import.components(mine)
                        if eido_import._claims(k, c, own)}
            stored = eido_import.strip_own(doc, own, ours, own_name)
            plan = eido_import.plan(doc)
            if target is not None:
                return self._attach(tx, target, stored, plan, sender)
            if plan.lat is not None and plan.lon is not None and ctx.areas.locate(plan.lat, plan.lon) is not None:
                return self._create(tx, stored, plan, sender)
            return self._keep(tx, stored, plan, sender)

    @staticmethod
    def _ours(tx: Tx, tracking: str, own: str) -> int | None:
        """Our incident the document is about: one of ours by tracking id, or one imported before."""
        if tracking.startswith(PREFIX) and tracking.endswith(f":{own}"):
            urn = tracking[len(PREFIX):-len(own) - 1]
            found = tx.execute("SELECT id FROM incidents WHERE urn = :u", {"u": urn}).scalar()
            if found is not None:
                return int(found)
        found = tx.execute("SELECT incident_id FROM incident_partner_refs WHERE tracking_id = :t "
                           "AND incident_id IS NOT NULL ORDER BY id LIMIT 1", {"t": tracking}).scalar()
        return int(found) if found is not None else None

    def _ref(self, stored: dict[str, Any], plan: eido_import.Plan, sender: str) -> dict[str, Any]:
        return {"agency": sender, "reference": plan.reference[:200], "tracking_id": plan.tracking[:400],
                "document": stored, "sent_at": stored.get("lastUpdateTimeStamp"), "summary": plan.summary,
                "incident_type_text": plan.type_text, "address": plan.address, "lat": plan.lat, "lon": plan.lon,
                "caller_name": plan.caller_name, "caller_phone": (plan.caller_phone or "")[:40] or None,
                "urls": plan.urls}

    @staticmethod
    def _lines(plan: eido_import.Plan) -> list[dict[str, Any]]:
        """The partner's records as stored (at, author, agency, text) with the line for our log."""
        out = []
        for e in plan.log:
            at = _when(e.get("at"))
            out.append({**e, "line": f"{e['author']} {local_time(at) if at else ''}: {e['text']}"[:4000]})
        return out

    def _call(self, tx: Tx, target: int | None, incident: dict[str, Any] | None, stored: dict[str, Any],
              plan: eido_import.Plan, sender: str) -> dict[str, Any]:
        result: dict[str, Any] = tx.call("api.exchange_import", target=target, incident=incident,
                                         ref=self._ref(stored, plan, sender), log=self._lines(plan))
        return result

    def _incident(self, tx: Tx, iid: int) -> IncidentView:
        row = tx.execute("SELECT * FROM incidents WHERE id = :i", {"i": iid}).mappings().one()
        return IncidentService(self.ctx)._with_current_room(row)

    def _create(self, tx: Tx, stored: dict[str, Any], plan: eido_import.Plan, sender: str) -> IncidentView:
        incidents = IncidentService(self.ctx)
        if plan.incident_type is None:
            raise InvalidInput(f"Incident type '{plan.type_text or 'not given'}' is not in this force's catalogue "
                               "(resources/eido_registries.yaml). Nothing was imported.", field="incident_type")
        try:
            params = incidents._validated(plan.channel, plan.incident_type, plan.summary, plan.lat, plan.lon,
                                          plan.grade, plan.caller_name, plan.caller_phone, plan.address,
                                          {f: f in plan.flags for f in FLAG_NAMES})
        except InvalidInput as exc:
            raise InvalidInput(f"{exc.message} Nothing was imported.", field=exc.field) from exc
        params["target_min"] = target_minutes(params["grade"], rural=is_rural(params["lat"], params["lon"]))
        out = self._call(tx, None, params, stored, plan, sender)
        return self._incident(tx, int(out["incident_id"]))

    def _attach(self, tx: Tx, iid: int, stored: dict[str, Any], plan: eido_import.Plan,
                sender: str) -> IncidentView:
        self._call(tx, iid, None, stored, plan, sender)
        return self._incident(tx, iid)

    def _keep(self, tx: Tx, stored: dict[str, Any], plan: eido_import.Plan, sender: str) -> PartnerIncidentView:
        out = self._call(tx, None, None, stored, plan, sender)
        row = tx.execute("SELECT * FROM incident_partner_refs WHERE id = :i",
                         {"i": int(out["partner_id"])}).mappings().one()
        return partner_view(row)
