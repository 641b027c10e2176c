"""Frozen views of the command record (roles, authorisation, decisions, METHANE) and their text."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Sequence, TypeVar

from ..views import parse_ts, view_from

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")  # a view is a dataclass

ROLE_TITLES = {
    "GOLD": "Gold (strategic)", "SILVER": "Silver (tactical)", "BRONZE": "Bronze (operational)",
    "SFC": "Strategic Firearms Commander", "TFC": "Tactical Firearms Commander",
    "ITFC": "Initial Tactical Firearms Commander", "OFC": "Operational Firearms Commander",
}
# Display order: strategic above tactical above operational, major chain before firearms chain.
ROLE_ORDER = ("GOLD", "SILVER", "BRONZE", "SFC", "TFC", "ITFC", "OFC")
FIREARMS_ROLES = frozenset({"ITFC", "TFC", "SFC", "OFC"})
MAJOR_ROLES = frozenset({"GOLD", "SILVER", "BRONZE"})

NDM_STAGES = {
    1: "Gather information and intelligence",
    2: "Assess threat and risk and develop a working strategy",
    3: "Consider powers and policy",
    4: "Identify options and contingencies",
    5: "Take action and review what happened",
}

# METHANE field (column) -> JESIP heading, in the order the mnemonic is read out.
METHANE_FIELDS = {
    "major_incident": ("M", "Major incident declared"),
    "exact_location": ("E", "Exact location"),
    "incident_type": ("T", "Type of incident"),
    "hazards": ("H", "Hazards present or suspected"),
    "access": ("A", "Access routes that are safe to use"),
    "casualties": ("N", "Number, type and severity of casualties"),
    "emergency_services": ("E", "Emergency services present and those required"),
}


def row_view(cls: type[T], row: Mapping[Any, Any]) -> T:
    """view_from plus the bare `at` timestamp (view_from only parses names ending in _at)."""
    d = dict(row)
    if d.get("at") is not None:
        d["at"] = parse_ts(d["at"])
    return view_from(cls, d)


@dataclass(frozen=True)
class CommandRoleView:
    id: int
    incident_id: int
    role: str
    n: int
    holder: Optional[str]
    accredited: bool
    at: datetime
    by: str
    from_holder: Optional[str] = None
    reason: Optional[str] = None
    console_id: Optional[str] = None

    @property
    def title(self) -> str:
        return ROLE_TITLES.get(self.role, self.role)


@dataclass(frozen=True)
class AuthorisationView:
    id: int
    incident_id: int
    threat_assessment: str
    working_strategy: str
    rationale: str
    at: datetime
    by: str
    console_id: Optional[str] = None


@dataclass(frozen=True)
class DecisionView:
    id: int
    incident_id: int
    stage: int
    decision: str
    rationale: str
    at: datetime
    by: str
    options_considered: Optional[str] = None
    console_id: Optional[str] = None

    @property
    def stage_name(self) -> str:
        return NDM_STAGES.get(self.stage, str(self.stage))


@dataclass(frozen=True)
class MethaneView:
    id: int
    incident_id: int
    version: int
    at: datetime
    by: str
    major_incident: Optional[str] = None
    exact_location: Optional[str] = None
    incident_type: Optional[str] = None
    hazards: Optional[str] = None
    access: Optional[str] = None
    casualties: Optional[str] = None
    emergency_services: Optional[str] = None
    console_id: Optional[str] = None

    def fields(self) -> dict[str, Optional[str]]:
        return {k: getattr(self, k) for k in METHANE_FIELDS}


@dataclass(frozen=True)
class CommandView:
    """An incident's command state; behaves as a mapping role -> current CommandRoleView."""

    incident_id: int
    urn: str
    firearms: bool
    major_kind: Optional[str]
    status: str = "open"
    summary: str = ""
    room_code: str = ""
    firearms_declared_at: Optional[datetime] = None
    armed_authorised_at: Optional[datetime] = None
    armed_authorised_by: Optional[str] = None
    roles: tuple[CommandRoleView, ...] = ()

    @property
    def armed_authorised(self) -> bool:
        return self.armed_authorised_at is not None

    @property
    def in_command(self) -> Optional[CommandRoleView]:
        """Who commands now: the highest tactical role held (Silver, TFC, else ITFC)."""
        for role in ("SILVER", "TFC", "ITFC", "GOLD", "SFC"):
            if role in self:
                return self[role]
        return None

    def __getitem__(self, role: str) -> CommandRoleView:
        for r in self.roles:
            if r.role == role:
                return r
        raise KeyError(role)

    def get(self, role: str, default: Any = None) -> Any:
        try:
            return self[role]
        except KeyError:
            return default

    def __contains__(self, role: object) -> bool:
        return any(r.role == role for r in self.roles)

    def __iter__(self) -> Iterator[str]:
        return (r.role for r in self.roles)

    def __len__(self) -> int:
        return len(self.roles)

    def __bool__(self) -> bool:  # an incident nobody commands yet is still a command view
        return True

    def keys(self) -> list[str]:
        return [r.role for r in self.roles]

    def items(self) -> list[tuple[str, CommandRoleView]]:
        return [(r.role, r) for r in self.roles]

    def replace(self, **changes: Any) -> "CommandView":
        return dataclasses.replace(self, **changes)


def current_roles(rows: Sequence[Mapping[str, Any]]) -> tuple[CommandRoleView, ...]:
    """Latest row per role (highest n), stood-down roles left out, in display order."""
    latest: dict[str, Mapping[str, Any]] = {}
    for r in rows:
        if r["role"] not in latest or r["n"] > latest[r["role"]]["n"]:
            latest[r["role"]] = r
    views = [row_view(CommandRoleView, r) for r in latest.values() if r["holder"] is not None]
    return tuple(sorted(views, key=lambda v: ROLE_ORDER.index(v.role)))


def command_view(incident: Mapping[str, Any], role_rows: Sequence[Mapping[str, Any]]) -> CommandView:
    return CommandView(
        incident_id=incident["id"], urn=incident["urn"], firearms=bool(incident["firearms"]),
        major_kind=incident.get("major_kind"), status=incident.get("status", "open"),
        summary=incident.get("summary", ""), room_code=incident.get("room_code", ""),
        firearms_declared_at=parse_ts(incident.get("firearms_declared_at")),
        armed_authorised_at=parse_ts(incident.get("armed_authorised_at")),
        armed_authorised_by=incident.get("armed_authorised_by"), roles=current_roles(role_rows))


def format_methane(report: MethaneView, *, urn: str, force: str = "Thames Valley Police",
                   room: str = "") -> str:
    """Plain text to pass a METHANE to other agencies (read out, pasted or e-mailed)."""
    when = report.at.strftime("%H:%M %d/%m/%Y UTC") if report.at else ""
    lines = [f"METHANE — {force} — incident {urn}",
             f"Version {report.version}, {when}, by {report.by}" + (f", {room}" if room else ""), ""]
    for key, (letter, heading) in METHANE_FIELDS.items():
        value = getattr(report, key) or "not known"
        body = value.replace("\n", "\n      ")
        lines.append(f"{letter}  {heading}:\n      {body}")
    lines += ["", "Ends."]
    return "\n".join(lines)
