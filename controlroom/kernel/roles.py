"""Who may do what (DESIGN §1). Enforced in the service layer; refusals are audited."""
from __future__ import annotations

_HANDLER = {
    "incident.create", "incident.update", "incident.log", "incident.grade", "incident.thrive",
    "incident.close_undeployed", "incident.link", "contact.handle", "command.declare_firearms",
    "incident.export",
}
_DESPATCHER = _HANDLER | {
    "incident.close", "incident.reopen", "despatch.assign", "despatch.clear", "despatch.divert",
    "unit.status", "unit.position", "talkgroup.allocate", "talkgroup.release", "talkgroup.move",
    "talkgroup.patch", "talkgroup.log", "intel.check", "recovery.request",
}
_SUPERVISOR = _DESPATCHER | {"incident.downgrade_g1", "incident.signoff_downgrade", "room.transfer_area",
                             "contact.supervise", "reference.edit",
                             "intel.supervise", "workforce.view",
                             "workforce.publish"}
_INSPECTOR = _SUPERVISOR | {
    "command.accept_firearms", "command.authorise_armed", "command.declare_major",
    "command.assign_role", "command.decision", "command.methane", "room.take_over", "room.hand_back",
    "room.fallback", "replay.view",
}
_AUDITOR = {"audit.read", "audit.export", "audit.qa", "replay.view", "incident.export", "intel.supervise"}
_TRAINER = _INSPECTOR | {"training.run", "replay.view"}
_ADMIN = {"operator.admin"}  # operator administration only (api.admin_operator_*)

PERMISSIONS: dict[str, frozenset[str]] = {
    "call_handler": frozenset(_HANDLER),
    "despatcher": frozenset(_DESPATCHER),
    "supervisor": frozenset(_SUPERVISOR),
    "inspector": frozenset(_INSPECTOR),
    "trainer": frozenset(_TRAINER),
    "auditor": frozenset(_AUDITOR),
    "admin": frozenset(_ADMIN),
}

ROLE_LABELS = {
    "call_handler": "Call handler",
    "despatcher": "Despatcher",
    "supervisor": "Supervisor",
    "inspector": "Inspector",
    "trainer": "Trainer",
    "auditor": "Auditor",
    "admin": "Operator administrator",
}


def allowed(role: str, permission: str, *, training: bool = False) -> bool:
    """Trainers act only in training databases; everyone else as their role says."""
    if role == "trainer" and not training:
        return False
    return permission in PERMISSIONS.get(role, frozenset())
