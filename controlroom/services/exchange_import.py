"""Importing another agency's NENA EIDO document (session.exchange.import_eido).

Three outcomes, all in one transaction and all audited:
- the document is about an incident we hold (our own tracking id, or one we imported before):
  the sender's components are attached to it (a newer document from them replaces the older);
- it is about an incident in our force area with a type we know: a new incident of ours,
  linked to the partner's reference;
- otherwise (no coordinates, outside the force, as NENA's call-transfer sample): it is kept as
  another agency's incident with its civic address, caller and log (no incident of ours).
Components claiming our own agency must be copies of records we hold (eido_import.strip_own).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from .. import eido, eido_import
from ..errors import Conflict, InvalidInput
from ..gazetteer import is_rural
from .base import ServiceContext, Tx, to_json
from .incident_sql import local_time
from .incidents import CREATE_SQL, FLAG_NAMES, IncidentService, target_minutes
from .views import IncidentView

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
    def __init__(self, ctx: ServiceContext, audit) -> None:
        self.ctx = ctx
        self.audit = audit

    def run(self, document: Any) -> IncidentView | PartnerIncidentView:
        ctx = self.ctx
        doc = eido.parse(document)
        with ctx.tx() as tx:
            own, own_name = eido.agency_of(tx.conn)
            sender = eido_import.agency(doc)
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
            if plan.lat is not None and ctx.areas.locate(plan.lat, plan.lon) is not None:
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

    def _row_params(self, stored: dict[str, Any], plan: eido_import.Plan, sender: str) -> dict[str, Any]:
        a = self.ctx.actor
        return {"a": sender, "r": plan.reference[:200], "t": plan.tracking[:400], "d": to_json(stored),
                "u": a.username, "c": a.console_id, "sent": _when(stored.get("lastUpdateTimeStamp")),
                "summary": plan.summary, "type": plan.type_text, "address": plan.address, "lat": plan.lat,
                "lon": plan.lon, "cname": plan.caller_name, "cphone": (plan.caller_phone or "")[:40] or None,
                "urls": to_json(plan.urls), "log": to_json(plan.log)}

    _INSERT = ("INSERT INTO incident_partner_refs (incident_id, agency, reference, tracking_id, document, "
               "imported_by, console_id, sent_at, summary, incident_type_text, address, lat, lon, caller_name, "
               "caller_phone, urls, log) VALUES (:i, :a, :r, :t, CAST(:d AS jsonb), :u, :c, :sent, :summary, "
               ":type, :address, :lat, :lon, :cname, :cphone, CAST(:urls AS jsonb), CAST(:log AS jsonb)) "
               "RETURNING *")

    def _refuse_duplicate(self, tx: Tx, sender: str, plan: eido_import.Plan) -> None:
        taken = tx.execute("SELECT coalesce(i.urn, p.reference) FROM incident_partner_refs p "
                           "LEFT JOIN incidents i ON i.id = p.incident_id WHERE p.agency = :a AND p.reference = :r",
                           {"a": sender, "r": plan.reference[:200]}).scalar()
        if taken:
            raise Conflict(f"{sender} incident {plan.reference} was already imported as {taken}; "
                           "nothing was imported again.", urn=taken)

    def _create(self, tx: Tx, stored: dict[str, Any], plan: eido_import.Plan, sender: str) -> IncidentView:
        ctx, incidents = self.ctx, IncidentService(self.ctx)
        if plan.incident_type is None:
            raise InvalidInput(f"Incident type '{plan.type_text or 'not given'}' is not in this force's catalogue "
                               "(resources/eido_registries.yaml). Nothing was imported.", field="incident_type")
        self._refuse_duplicate(tx, sender, plan)
        try:
            params = incidents._validated(plan.channel, plan.incident_type, plan.summary, plan.lat, plan.lon,
                                          plan.grade, plan.caller_name, plan.caller_phone, plan.address,
                                          {f: f in plan.flags for f in FLAG_NAMES})
        except InvalidInput as exc:
            raise InvalidInput(f"{exc.message} Nothing was imported.", field=exc.field) from exc
        params.update(incidents.actor_params(), prefix="TRN" if ctx.training else "TV",
                      target_min=target_minutes(params["grade"], rural=is_rural(params["lat"], params["lon"])))
        row = tx.execute(CREATE_SQL, params).mappings().one()
        tx.execute(self._INSERT, {"i": row["id"], **self._row_params(stored, plan, sender)})
        self._log(tx, row["id"], plan, f"Received from {sender} as {plan.reference}", plan.log)
        self.audit(tx, "incident.imported", f"incident:{row['id']}",
                   {"agency": sender, "reference": plan.reference, "tracking": plan.tracking})
        return incidents._with_current_room(row)

    def _attach(self, tx: Tx, iid: int, stored: dict[str, Any], plan: eido_import.Plan,
                sender: str) -> IncidentView:
        prior = tx.execute("SELECT id, sent_at, log FROM incident_partner_refs WHERE incident_id = :i AND agency = :a",
                           {"i": iid, "a": sender}).mappings().first()
        sent = _when(stored.get("lastUpdateTimeStamp"))
        urn = tx.execute("SELECT urn FROM incidents WHERE id = :i", {"i": iid}).scalar()
        params = self._row_params(stored, plan, sender)
        if prior is None:
            tx.execute(self._INSERT, {"i": iid, **params})
            new = plan.log
        elif prior["sent_at"] is not None and sent is not None and sent <= prior["sent_at"]:
            raise Conflict(f"{sender} incident {plan.reference} was already imported as {urn} "
                           "(this document is not newer); nothing was imported again.", urn=urn)
        else:
            seen = {(e.get("at"), e.get("text")) for e in prior["log"]}
            new = [e for e in plan.log if (e.get("at"), e.get("text")) not in seen]
            tx.execute("UPDATE incident_partner_refs SET document = CAST(:d AS jsonb), sent_at = :sent, "
                       "reference = :r, log = CAST(:log AS jsonb), urls = CAST(:urls AS jsonb), imported_by = :u, "
                       "console_id = :c, imported_at = now() WHERE id = :id", {**params, "id": prior["id"]})
        self._log(tx, iid, plan, f"Update received from {sender} ({plan.reference})", new)
        self.audit(tx, "incident.imported", f"incident:{iid}",
                   {"agency": sender, "reference": plan.reference, "tracking": plan.tracking, "attached": True})
        row = tx.execute("SELECT * FROM incidents WHERE id = :i", {"i": iid}).mappings().one()
        return IncidentService(self.ctx)._with_current_room(row)

    def _keep(self, tx: Tx, stored: dict[str, Any], plan: eido_import.Plan, sender: str) -> PartnerIncidentView:
        self._refuse_duplicate(tx, sender, plan)
        row = tx.execute(self._INSERT, {"i": None, **self._row_params(stored, plan, sender)}).mappings().one()
        self.audit(tx, "incident.imported_partner", f"partner_incident:{row['id']}",
                   {"agency": sender, "reference": plan.reference, "tracking": plan.tracking,
                    "why": "no location in our force area"})
        return partner_view(row)

    def _log(self, tx: Tx, iid: int, plan: eido_import.Plan, headline: str, lines: list[dict[str, Any]]) -> None:
        """The partner's records in our narrative log, marked as theirs (kind 'partner')."""
        a = self.ctx.actor
        rows = [("exchange", f"{headline}: {len(lines)} records"
                 + (f"; links recorded, not fetched: {', '.join(plan.urls)}" if plan.urls else "") + ".")]
        for e in lines:
            at = _when(e.get("at"))
            rows.append(("partner", f"{e['author']} {local_time(at) if at else ''}: {e['text']}"[:4000]))
        for kind, line in rows:
            tx.execute("INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
                       "VALUES (:i, :u, :c, :k, :t)", {"i": iid, "u": a.username, "c": a.console_id,
                                                       "k": kind, "t": line[:4000]})
