"""Command service: spontaneous firearms command, armed authorisation, Gold/Silver/Bronze roles,
the NDM decision log and METHANE reports. Writer of command_roles, armed_authorisations,
decision_log, methane_reports and of incidents.firearms*/armed_authorised*/major_kind.

Every write is ONE database API function (migration 0023, api.command_*): the database checks the
inspector group, takes who acted from the signed-in session, enforces the rules below and writes
rows, incident log, event and audit. This module validates and words things for the operator.

Decisions (documented in the issue note):
- Only an inspector of the room that currently owns the incident's area (areas.room_code, so it
  follows transfers and take-overs) may accept firearms command; another room's inspector is
  refused (and audited) and should take the area over first. Authorisation is open to any inspector.
- Authorising while nobody holds ITFC makes the authorising inspector ITFC in the same transaction.
- The first TFC takes command from the ITFC: ITFC is stood down (holder NULL row) in the same
  transaction, and the TFC row names the ITFC as `from_holder`.
"""
from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Iterator, Mapping

from ...kernel.errors import Conflict, InvalidInput, NotPermitted
from ..base import ServiceContext
from .methane import ALIASES, COLUMNS
from .views import (METHANE_FIELDS, NDM_STAGES, ROLE_ORDER, AuthorisationView, CommandRoleView, CommandView,
    DecisionView, MethaneView, command_view, format_methane, row_view)
from ..validate import int_id, text_field
from ..views import IncidentView, view_from


def incident_dict(row: Mapping[Any, Any], ctx: ServiceContext) -> dict[str, Any]:  # a dict or a RowMapping
    """The incident row as an event payload, owned by the room that owns its area now."""
    d = {k: v for k, v in dict(row).items() if k != "owner_room"}
    d["room_code"] = row.get("owner_room") or ctx.area_rooms.get(d["area_code"], d["room_code"])
    return d


@contextlib.contextmanager
def conflict_on(constraint: str, message: str) -> Iterator[None]:
    """Turn a unique-index loss (another console got there first) into a Conflict."""
    try:
        yield
    except InvalidInput as exc:
        diag = getattr(getattr(exc.__cause__, "orig", None), "diag", None)
        if getattr(diag, "constraint_name", None) == constraint:
            raise Conflict(message) from exc
        raise


class CommandService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # ---- shared step ---------------------------------------------------------------------------
    def _call(self, permission: str, function: str, **params: Any) -> dict[str, Any]:
        """ONE database API call (rules, rows, log, event and audit in the database); a rule the
        database refuses as not permitted (another room's incident) is audited here."""
        try:
            with self.ctx.single() as tx:
                result: dict[str, Any] = tx.call(function, **params)  # the api.* command functions return jsonb objects
                return result
        except NotPermitted as exc:
            self.ctx.audit_refused(permission, entity=f"incident:{params['incident_id']}", reason=str(exc))
            raise

    # ---- firearms ------------------------------------------------------------------------------
    def declare_firearms(self, incident_id: int) -> IncidentView:
        """Flag a spontaneous firearms incident and alert every inspector console (one database
        call: api.command_declare_firearms -> cr_declare_firearms, shared with create/update of
        armed incident types)."""
        ctx = self.ctx
        incident_id = int_id(incident_id)
        ctx.require("command.declare_firearms", entity=f"incident:{incident_id}",
                    what="declare firearms incidents")
        with ctx.single() as tx:
            payload = tx.call("api.command_declare_firearms", incident_id=incident_id)
        return view_from(IncidentView, payload)

    def accept_firearms_command(self, incident_id: int) -> CommandRoleView:
        """The owning room's inspector becomes Initial Tactical Firearms Commander (ITFC)."""
        ctx = self.ctx
        incident_id = int_id(incident_id)
        perm = "command.accept_firearms"
        ctx.require(perm, entity=f"incident:{incident_id}", what="take firearms command")
        payload = self._call(perm, "api.command_accept_firearms", incident_id=incident_id)
        return row_view(CommandRoleView, payload["role"])

    def acknowledge_firearms_alert(self, incident_id: int) -> None:
        """Record that this inspector console saw the firearms alert (incident log + audit)."""
        ctx = self.ctx
        incident_id = int_id(incident_id)
        ctx.require("command.accept_firearms", entity=f"incident:{incident_id}",
                    what="acknowledge firearms alerts")
        self._call("command.accept_firearms", "api.command_acknowledge_firearms",
                   incident_id=incident_id)

    def authorise_armed_deployment(self, incident_id: int, *, threat_assessment: str,
                                   working_strategy: str, rationale: str) -> AuthorisationView:
        """Record the inspector's authorisation; from now on despatch may assign ARVs. The database
        records who authorised from the signed-in session (nobody can authorise in another's name)."""
        ctx = self.ctx
        incident_id = int_id(incident_id)
        ctx.require("command.authorise_armed", entity=f"incident:{incident_id}",
                    what="authorise armed deployment")
        texts = {k: text_field(v, label, field=k, max_len=1200) for k, v, label in (
            ("threat_assessment", threat_assessment, "Threat assessment"),
            ("working_strategy", working_strategy, "Working strategy"),
            ("rationale", rationale, "Rationale"))}
        with conflict_on("uq_armed_authorisations_incident_id",
                         "Armed deployment was authorised by another inspector at the same moment."):
            payload = self._call("command.authorise_armed", "api.command_authorise_armed",
                                 incident_id=incident_id, **texts)
        return row_view(AuthorisationView, payload["authorisation"])

    def authorisation(self, incident_id: int) -> AuthorisationView | None:
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            row = conn.exec_driver_sql("SELECT * FROM armed_authorisations WHERE incident_id = %(i)s",
                                       {"i": incident_id}).mappings().first()
        return None if row is None else row_view(AuthorisationView, row)

    # ---- command roles -------------------------------------------------------------------------
    def assign_role(self, incident_id: int, role: str, *, holder: str, accredited: bool = False,
                    reason: str | None = None) -> CommandRoleView:
        """Hand a command role to a named person; every change is a logged handover."""
        ctx = self.ctx
        incident_id = int_id(incident_id)
        ctx.require("command.assign_role", entity=f"incident:{incident_id}", what="assign command roles")
        role = role.strip().upper() if isinstance(role, str) else role
        if role not in ROLE_ORDER:
            raise InvalidInput(f"Command role '{role}' is not recognised. Choose one of: "
                               f"{', '.join(ROLE_ORDER)}.", field="role")
        holder_t = text_field(holder, "Holder", field="holder", max_len=120, multiline=False)
        reason_t = text_field(reason, "Reason", field="reason", max_len=1000, required=False)
        if not isinstance(accredited, bool):
            raise InvalidInput("Accredited must be yes or no.", field="accredited")
        with conflict_on("uq_command_roles_incident_role_n",
                         f"{role} was handed over by another console at the same moment; refresh."):
            payload = self._call("command.assign_role", "api.command_assign_role",
                                 incident_id=incident_id, role=role, holder=holder_t,
                                 accredited=accredited, reason=reason_t)
        return row_view(CommandRoleView, payload["role"])

    def current_command(self, incident_id: int) -> CommandView:
        """The incident's command chain now (role -> holder) and its firearms/major state."""
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            inc = conn.exec_driver_sql(
                "SELECT i.*, a.room_code AS owner_room FROM incidents i JOIN areas a "
                "ON a.code = i.area_code WHERE i.id = %(i)s", {"i": incident_id}).mappings().first()
            if inc is None:
                raise InvalidInput(f"No incident with reference {incident_id}.", field="id")
            roles = [dict(r) for r in conn.exec_driver_sql(
                "SELECT * FROM command_roles WHERE incident_id = %(i)s ORDER BY id",
                {"i": incident_id}).mappings()]
        return command_view(incident_dict(inc, self.ctx), roles)

    def handovers(self, incident_id: int) -> list[CommandRoleView]:
        """Every command change on the incident, oldest first (stood-down rows have holder None)."""
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            rows = conn.exec_driver_sql("SELECT * FROM command_roles WHERE incident_id = %(i)s ORDER BY id",
                                        {"i": incident_id}).mappings().all()
        return [row_view(CommandRoleView, r) for r in rows]

    def under_command(self) -> list[CommandView]:
        """Open incidents with firearms or major/critical command, newest first."""
        with self.ctx.read() as conn:
            incs = conn.exec_driver_sql(
                "SELECT i.*, a.room_code AS owner_room FROM incidents i JOIN areas a ON a.code = i.area_code "
                "WHERE i.status <> 'closed' AND (i.firearms OR i.major_kind IS NOT NULL) "
                "ORDER BY i.id DESC").mappings().all()
            ids = [r["id"] for r in incs]
            roles = conn.exec_driver_sql(
                "SELECT * FROM command_roles WHERE incident_id = ANY(%(ids)s) ORDER BY id",
                {"ids": ids}).mappings().all() if ids else []
        by_inc: dict[int, list[dict[str, Any]]] = {}
        for r in roles:
            by_inc.setdefault(r["incident_id"], []).append(dict(r))
        return [command_view(incident_dict(i, self.ctx), by_inc.get(i["id"], [])) for i in incs]

    def declare_major(self, incident_id: int, *, kind: str) -> IncidentView:
        """Declare a major or critical incident; the inspector is Silver until an accredited
        commander takes over."""
        ctx = self.ctx
        incident_id = int_id(incident_id)
        ctx.require("command.declare_major", entity=f"incident:{incident_id}",
                    what="declare major or critical incidents")
        kind = kind.strip().lower() if isinstance(kind, str) else kind
        if kind not in ("major", "critical"):
            raise InvalidInput(f"Kind '{kind}' is not valid: use major or critical.", field="kind")
        with conflict_on("uq_command_roles_incident_role_n",
                         "Silver was assigned by another console at the same moment; refresh."):
            payload = self._call("command.declare_major", "api.command_declare_major",
                                 incident_id=incident_id, kind=kind)
        return view_from(IncidentView, payload["incident"])

    # ---- decision log --------------------------------------------------------------------------
    def log_decision(self, incident_id: int, *, stage: int, decision: str, rationale: str,
                     options_considered: str | None = None) -> DecisionView:
        """Append a National Decision Model decision (stage 1-5); the log cannot be edited."""
        ctx = self.ctx
        incident_id = int_id(incident_id)
        ctx.require("command.decision", entity=f"incident:{incident_id}", what="write the decision log")
        if isinstance(stage, bool) or not isinstance(stage, int) or stage not in NDM_STAGES:
            raise InvalidInput(f"NDM stage '{stage}' is not valid: use 1 to 5 ("
                               + "; ".join(f"{k} {v}" for k, v in NDM_STAGES.items()) + ").", field="stage")
        vals = {"decision": text_field(decision, "Decision", field="decision", max_len=2000),
                "rationale": text_field(rationale, "Rationale", field="rationale", max_len=4000),
                "options_considered": text_field(options_considered, "Options considered",
                                                 field="options_considered", max_len=4000, required=False)}
        row = self._call("command.decision", "api.command_log_decision",
                         incident_id=incident_id, stage=stage, **vals)
        return row_view(DecisionView, row)

    def decisions(self, incident_id: int) -> list[DecisionView]:
        """The decision log, oldest first."""
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            rows = conn.exec_driver_sql("SELECT * FROM decision_log WHERE incident_id = %(i)s ORDER BY id",
                                        {"i": incident_id}).mappings().all()
        return [row_view(DecisionView, r) for r in rows]

    # ---- METHANE (JESIP) -----------------------------------------------------------------------
    def methane(self, incident_id: int, **fields: Any) -> MethaneView:
        """Save a new METHANE version; headings not given are carried over from the last version."""
        ctx = self.ctx
        incident_id = int_id(incident_id)
        ctx.require("command.methane", entity=f"incident:{incident_id}", what="write METHANE reports")
        given: dict[str, str | None] = {}
        for key, value in fields.items():
            col = ALIASES.get(key.lower())
            if col is None:
                raise InvalidInput(f"'{key}' is not a METHANE heading. Use: {', '.join(COLUMNS)}.",
                                   field=key)
            label = METHANE_FIELDS[col][1]
            if value is not None and not isinstance(value, str):
                value = str(value)  # e.g. casualties=3
            given[col] = text_field(value, label, field=col, max_len=2000, required=False)
        if not given:
            raise InvalidInput("A METHANE report needs at least one heading filled in.", field="fields")
        with conflict_on("uq_methane_reports_incident_version",
                         "Someone saved this METHANE at the same moment; reopen it to see their version."):
            row = self._call("command.methane", "api.command_methane", incident_id=incident_id, fields=given)
        return row_view(MethaneView, row)

    def methane_versions(self, incident_id: int) -> list[MethaneView]:
        """Every saved version, oldest first."""
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            rows = conn.exec_driver_sql("SELECT * FROM methane_reports WHERE incident_id = %(i)s "
                                        "ORDER BY version", {"i": incident_id}).mappings().all()
        return [row_view(MethaneView, r) for r in rows]

    def methane_text(self, incident_id: int, version: int | None = None) -> str:
        """The METHANE (latest, or the given version) as text to pass to other agencies."""
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            inc = conn.exec_driver_sql(
                "SELECT i.urn, r.name AS room_name FROM incidents i JOIN areas a ON a.code = i.area_code "
                "JOIN rooms r ON r.code = a.room_code WHERE i.id = %(i)s", {"i": incident_id}).mappings().first()
            if inc is None:
                raise InvalidInput(f"No incident with reference {incident_id}.", field="id")
            sql = "SELECT * FROM methane_reports WHERE incident_id = %(i)s"
            params: dict[str, Any] = {"i": incident_id}
            if version is None:
                sql += " ORDER BY version DESC LIMIT 1"
            else:
                if isinstance(version, bool) or not isinstance(version, int):
                    raise InvalidInput(f"METHANE version '{version}' is not valid.", field="version")
                sql += " AND version = %(v)s"
                params["v"] = version
            row = conn.exec_driver_sql(sql, params).mappings().first()
        if row is None:
            raise InvalidInput(f"{inc['urn']} has no METHANE report"
                               + (f" version {version}." if version is not None else " yet."),
                               field="version")
        return format_methane(row_view(MethaneView, row), urn=inc["urn"], room=inc["room_name"])


def dataclass_dict(view: Any) -> dict[str, Any]:
    return dataclasses.asdict(view)
