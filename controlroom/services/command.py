"""Command service: spontaneous firearms command, armed authorisation, Gold/Silver/Bronze roles,
the NDM decision log and METHANE reports. Writer of command_roles, armed_authorisations,
decision_log, methane_reports and of incidents.firearms*/armed_authorised*/major_kind.

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

from ..errors import Conflict, InvalidInput, NotPermitted
from .base import ServiceContext, Tx
from .command_methane import MethaneMixin
from .command_views import (FIREARMS_ROLES, MAJOR_ROLES, NDM_STAGES, ROLE_ORDER, AuthorisationView,
                            CommandRoleView, CommandView, DecisionView, command_view, current_roles,
                            row_view)
from .validate import int_id, text_field
from .views import IncidentView, view_from

ROLES_SQL = "SELECT * FROM command_roles WHERE incident_id = :i ORDER BY id"
LOCK_SQL = ("SELECT i.*, a.room_code AS owner_room FROM incidents i JOIN areas a ON a.code = i.area_code "
            "WHERE i.id = :i FOR UPDATE OF i")
INSERT_ROLE_SQL = """
INSERT INTO command_roles (incident_id, role, n, holder, accredited, from_holder, reason, by, console_id)
SELECT CAST(:i AS bigint), CAST(:role AS text), coalesce(max(n), 0) + 1, CAST(:holder AS text),
       CAST(:accredited AS boolean), CAST(:from_holder AS text), CAST(:reason AS text), CAST(:by AS text),
       CAST(:console AS text)
FROM command_roles WHERE incident_id = CAST(:i AS bigint) AND role = CAST(:role AS text)
RETURNING *"""
LOG_SQL = ("INSERT INTO incident_log (incident_id, username, console_id, kind, text) "
           "VALUES (:i, :u, :c, 'command', :t) RETURNING id, at, username, kind, text")
# The first holder of one role takes command from the holder of another (who is then stood down).
TAKES_OVER_FROM = {"TFC": "ITFC"}


def incident_dict(row: Mapping[str, Any], ctx: ServiceContext) -> dict[str, Any]:
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


class CommandService(MethaneMixin):
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # ---- shared steps -------------------------------------------------------------------------
    def _lock(self, tx: Tx, incident_id: int, *, open_only: bool = True) -> Mapping[str, Any]:
        """Lock the incident row: command changes to one incident happen one after another."""
        row = tx.execute(LOCK_SQL, {"i": incident_id}).mappings().first()
        if row is None:
            raise InvalidInput(f"No incident with reference {incident_id}.", field="id")
        if open_only and row["status"] == "closed":
            raise InvalidInput(f"Incident {row['urn']} is closed; reopen it first.", field="id")
        return row

    def _log(self, tx: Tx, incident_id: int, text: str) -> dict[str, Any]:
        a = self.ctx.actor
        row = tx.execute(LOG_SQL, {"i": incident_id, "u": a.username, "c": a.console_id,
                                   "t": text[:4000]}).mappings().one()
        return dict(row)

    def _insert_role(self, tx: Tx, incident_id: int, role: str, *, holder: str | None,
                     accredited: bool = False, from_holder: str | None = None,
                     reason: str | None = None) -> dict[str, Any]:
        a = self.ctx.actor
        return dict(tx.execute(INSERT_ROLE_SQL, {
            "i": incident_id, "role": role, "holder": holder, "accredited": accredited,
            "from_holder": from_holder, "reason": reason, "by": a.username,
            "console": a.console_id}).mappings().one())

    def _roles(self, tx: Tx, incident_id: int) -> list[dict[str, Any]]:
        return [dict(r) for r in tx.execute(ROLES_SQL, {"i": incident_id}).mappings()]

    def _refused(self, permission: str, incident_id: int, message: str) -> NotPermitted:
        self.ctx.audit_refused(permission, entity=f"incident:{incident_id}", reason=message)
        return NotPermitted(message)

    # ---- firearms ------------------------------------------------------------------------------
    def declare_firearms(self, incident_id: int) -> IncidentView:
        """Flag a spontaneous firearms incident and alert every inspector console."""
        ctx = self.ctx
        incident_id = int_id(incident_id)
        ctx.require("command.declare_firearms", entity=f"incident:{incident_id}",
                    what="declare firearms incidents")
        a = ctx.actor
        with ctx.tx() as tx:
            inc = self._lock(tx, incident_id)
            if inc["firearms_declared_at"] is not None:
                raise Conflict(f"{inc['urn']} was already declared a firearms incident at "
                               f"{inc['firearms_declared_at']:%H:%M:%S}.")
            row = tx.execute(
                "UPDATE incidents SET firearms = true, firearms_declared_at = now(), "
                "version = version + 1, updated_at = now(), updated_by = :u WHERE id = :i RETURNING *",
                {"i": incident_id, "u": a.username}).mappings().one()
            payload = incident_dict({**row, "owner_room": inc["owner_room"]}, ctx)
            log = self._log(tx, incident_id, f"FIREARMS INCIDENT DECLARED by {a.username}. "
                            "Duty inspector to take initial tactical firearms command.")
            tx.emit("command.firearms_declared", incident_id,
                    {**payload, "declared_by": a.username, "log": log}, room=payload["room_code"])
        return view_from(IncidentView, payload)

    def accept_firearms_command(self, incident_id: int) -> CommandRoleView:
        """The owning room's inspector becomes Initial Tactical Firearms Commander (ITFC)."""
        ctx = self.ctx
        incident_id = int_id(incident_id)
        perm = "command.accept_firearms"
        ctx.require(perm, entity=f"incident:{incident_id}", what="take firearms command")
        a = ctx.actor
        refusal: str | None = None
        with conflict_on("uq_command_roles_incident_role_n",
                         "Another inspector accepted firearms command at the same moment; refresh."):
            with ctx.tx() as tx:
                inc = self._lock(tx, incident_id)
                if not inc["firearms"]:
                    raise InvalidInput(f"{inc['urn']} is not a firearms incident: declare it first.",
                                       field="id")
                if inc["owner_room"] != a.room_code:
                    refusal = (f"{inc['urn']} belongs to the {inc['owner_room']} room: its inspector takes "
                               "initial firearms command (or take the area over first).")
                else:
                    chain = current_roles(self._roles(tx, incident_id))
                    for r in chain:
                        if r.role in ("ITFC", "TFC"):
                            raise Conflict(f"{r.holder} already holds {r.role} on {inc['urn']} "
                                           f"(since {r.at:%H:%M:%S}).")
                    role = self._insert_role(tx, incident_id, "ITFC", holder=a.username,
                                             reason="accepted initial tactical firearms command")
                    log = self._log(tx, incident_id, f"{a.username} accepted command as Initial "
                                    "Tactical Firearms Commander (ITFC).")
                    cmd = command_view(incident_dict(inc, ctx), [*self._roles(tx, incident_id)])
                    tx.emit("command.firearms_accepted", incident_id,
                            self._chain_payload(inc, role, cmd, log), room=inc["owner_room"])
        if refusal is not None:
            raise self._refused(perm, incident_id, refusal)
        return row_view(CommandRoleView, role)

    def acknowledge_firearms_alert(self, incident_id: int) -> None:
        """Record that this inspector console saw the firearms alert (incident log + audit)."""
        ctx = self.ctx
        incident_id = int_id(incident_id)
        ctx.require("command.accept_firearms", entity=f"incident:{incident_id}",
                    what="acknowledge firearms alerts")
        a = ctx.actor
        with ctx.tx() as tx:
            inc = self._lock(tx, incident_id, open_only=False)
            log = self._log(tx, incident_id, f"Firearms alert acknowledged by {a.username} "
                            f"({a.room_code} room, console {a.console_id}).")
            tx.emit("command.firearms_acknowledged", incident_id,
                    {"incident_id": incident_id, "urn": inc["urn"], "by": a.username,
                     "room": a.room_code, "log": log}, room=inc["owner_room"])

    def authorise_armed_deployment(self, incident_id: int, *, threat_assessment: str,
                                   working_strategy: str, rationale: str) -> AuthorisationView:
        """Record the inspector's authorisation; from now on despatch may assign ARVs."""
        ctx = self.ctx
        incident_id = int_id(incident_id)
        ctx.require("command.authorise_armed", entity=f"incident:{incident_id}",
                    what="authorise armed deployment")
        texts = {k: text_field(v, label, field=k, max_len=1200) for k, v, label in (
            ("threat_assessment", threat_assessment, "Threat assessment"),
            ("working_strategy", working_strategy, "Working strategy"),
            ("rationale", rationale, "Rationale"))}
        a = ctx.actor
        with conflict_on("uq_armed_authorisations_incident_id",
                         "Armed deployment was authorised by another inspector at the same moment."):
            with ctx.tx() as tx:
                inc = self._lock(tx, incident_id)
                if not inc["firearms"]:
                    raise InvalidInput(f"{inc['urn']} is not a firearms incident: declare it first.",
                                       field="id")
                if inc["armed_authorised_at"] is not None:
                    raise Conflict(f"Armed deployment to {inc['urn']} was already authorised by "
                                   f"{inc['armed_authorised_by']} at {inc['armed_authorised_at']:%H:%M:%S}.")
                auth = dict(tx.execute(
                    "INSERT INTO armed_authorisations (incident_id, threat_assessment, working_strategy, "
                    "rationale, by, console_id) VALUES (:i, :threat_assessment, :working_strategy, "
                    ":rationale, :u, :c) RETURNING *",
                    {"i": incident_id, "u": a.username, "c": a.console_id, **texts}).mappings().one())
                row = tx.execute(
                    "UPDATE incidents SET armed_authorised_at = :at, armed_authorised_by = :u, "
                    "updated_at = now(), updated_by = :u WHERE id = :i RETURNING *",
                    {"i": incident_id, "u": a.username, "at": auth["at"]}).mappings().one()
                roles = self._roles(tx, incident_id)
                role = None
                if not any(r.role in ("ITFC", "TFC") for r in current_roles(roles)):
                    role = self._insert_role(tx, incident_id, "ITFC", holder=a.username,
                                             reason="took initial command by authorising armed deployment")
                    roles.append(role)
                log = self._log(tx, incident_id, (
                    f"ARMED DEPLOYMENT AUTHORISED by {a.username} at {auth['at']:%H:%M:%S}.\n"
                    f"Threat assessment: {texts['threat_assessment']}\n"
                    f"Working strategy: {texts['working_strategy']}\nRationale: {texts['rationale']}"))
                inc_d = incident_dict({**row, "owner_room": inc["owner_room"]}, ctx)
                tx.emit("command.armed_authorised", incident_id,
                        {"incident": inc_d, "authorisation": auth, "role": role,
                         "chain": [dataclass_dict(r) for r in current_roles(roles)], "log": log},
                        room=inc_d["room_code"])
        return row_view(AuthorisationView, auth)

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
            with ctx.tx() as tx:
                inc = self._lock(tx, incident_id)
                if role in FIREARMS_ROLES and not inc["firearms"]:
                    raise InvalidInput(f"{role} is a firearms command role, and {inc['urn']} is not a "
                                       "firearms incident.", field="role")
                if role in MAJOR_ROLES and not inc["major_kind"]:
                    raise InvalidInput(f"{role} is a major-incident role: declare {inc['urn']} a major or "
                                       "critical incident first.", field="role")
                roles = self._roles(tx, incident_id)
                chain = current_roles(roles)
                now = {r.role: r for r in chain}
                cur = now.get(role)
                if cur is not None and cur.holder == holder_t and cur.accredited == accredited:
                    raise InvalidInput(f"{holder_t} already holds {role} on {inc['urn']}.", field="holder")
                from_holder = cur.holder if cur else None
                stood_down = None
                source = TAKES_OVER_FROM.get(role)
                if cur is None and source in now:
                    from_holder = now[source].holder
                    stood_down = self._insert_role(tx, incident_id, source, holder=None,
                                                   from_holder=from_holder,
                                                   reason=f"handed command to {role} {holder_t}")
                    roles.append(stood_down)
                new = self._insert_role(tx, incident_id, role, holder=holder_t, accredited=accredited,
                                        from_holder=from_holder, reason=reason_t)
                roles.append(new)
                text = (f"Command handover: {role} from {from_holder or '(vacant)'} to {holder_t}"
                        f"{' (accredited)' if accredited else ''} at {new['at']:%H:%M:%S}"
                        f"{', reason: ' + reason_t if reason_t else ''}.")
                if stood_down is not None:
                    text += f" {source} stood down."
                log = self._log(tx, incident_id, text)
                cmd = command_view(incident_dict(inc, ctx), roles)
                payload = self._chain_payload(inc, new, cmd, log)
                payload["stood_down"] = stood_down
                tx.emit("command.role_assigned", incident_id, payload, room=inc["owner_room"])
        return row_view(CommandRoleView, new)

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
        a = ctx.actor
        with conflict_on("uq_command_roles_incident_role_n",
                         "Silver was assigned by another console at the same moment; refresh."):
            with ctx.tx() as tx:
                inc = self._lock(tx, incident_id)
                if inc["major_kind"] == kind:
                    raise Conflict(f"{inc['urn']} is already declared a {kind} incident.")
                row = tx.execute("UPDATE incidents SET major_kind = :k, updated_at = now(), "
                                 "updated_by = :u WHERE id = :i RETURNING *",
                                 {"k": kind, "u": a.username, "i": incident_id}).mappings().one()
                roles = self._roles(tx, incident_id)
                silver = None
                if "SILVER" not in {r.role for r in current_roles(roles)}:
                    silver = self._insert_role(
                        tx, incident_id, "SILVER", holder=a.username,
                        reason="control room inspector holds Silver until an accredited commander takes over")
                    roles.append(silver)
                was = f" (was {inc['major_kind']})" if inc["major_kind"] else ""
                log = self._log(tx, incident_id, f"{kind.upper()} INCIDENT DECLARED{was} by {a.username}."
                                + (f" {a.username} is interim Silver." if silver else ""))
                inc_d = incident_dict({**row, "owner_room": inc["owner_room"]}, ctx)
                payload = self._chain_payload(inc_d, silver, command_view(inc_d, roles), log)
                tx.emit("command.major_declared", incident_id, payload, room=inc_d["room_code"])
        return view_from(IncidentView, inc_d)

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
        a = ctx.actor
        with ctx.tx() as tx:
            inc = self._lock(tx, incident_id, open_only=False)
            row = dict(tx.execute(
                "INSERT INTO decision_log (incident_id, stage, decision, rationale, options_considered, "
                "by, console_id) VALUES (:i, :s, :decision, :rationale, :options_considered, :u, :c) "
                "RETURNING *", {"i": incident_id, "s": stage, "u": a.username, "c": a.console_id,
                                **vals}).mappings().one())
            short = vals["decision"] if len(vals["decision"]) <= 300 else vals["decision"][:297] + "..."
            log = self._log(tx, incident_id, f"Decision #{row['id']} (NDM {stage}: {NDM_STAGES[stage]}) "
                            f"by {a.username}: {short}")
            tx.emit("command.decision", incident_id, {**row, "urn": inc["urn"], "log": log},
                    room=inc["owner_room"])
        return row_view(DecisionView, row)

    def decisions(self, incident_id: int) -> list[DecisionView]:
        """The decision log, oldest first."""
        incident_id = int_id(incident_id)
        with self.ctx.read() as conn:
            rows = conn.exec_driver_sql("SELECT * FROM decision_log WHERE incident_id = %(i)s ORDER BY id",
                                        {"i": incident_id}).mappings().all()
        return [row_view(DecisionView, r) for r in rows]

    @staticmethod
    def _chain_payload(inc: Mapping[str, Any], role: Mapping[str, Any] | None, cmd: CommandView,
                       log: Mapping[str, Any]) -> dict[str, Any]:
        return {"incident_id": inc["id"], "urn": inc["urn"], "role": role,
                "chain": [dataclass_dict(r) for r in cmd.roles], "firearms": cmd.firearms,
                "major_kind": cmd.major_kind, "armed_authorised_at": cmd.armed_authorised_at,
                "armed_authorised_by": cmd.armed_authorised_by, "log": log}


def dataclass_dict(view: Any) -> dict[str, Any]:
    return dataclasses.asdict(view)
