"""Copy the force's alert and welfare policy (resources/alerts.yaml) into the database.

The database decides when an alert may escalate and when a unit is due a welfare check, so it
holds the policy (tables consoles can only read); this runs with the schema owner's rights, from
the migration that creates the tables and from every init_database (a force edits the file and
restarts).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import text

from ..kernel import config
from ..kernel.errors import InvalidInput

GROUPS = ("cr_handler", "cr_despatcher", "cr_supervisor", "cr_inspector")
LEVEL_ROLES = ("call_handler", "despatcher", "supervisor", "inspector")


def load_policy() -> dict[str, Any]:
    """The policy file, checked: a bad file is refused with a clear message, never half-loaded."""
    doc = config.load_resource("alerts")
    alerts = doc.get("alerts") or {}
    for kind, p in alerts.items():
        if p.get("ack_group") not in GROUPS:
            raise InvalidInput(f"resources/alerts.yaml: {kind}: ack_group must be one of {', '.join(GROUPS)}.")
        levels, after = list(p.get("levels") or []), list(p.get("escalate_after_s") or [])
        if not levels or any(r not in LEVEL_ROLES for r in levels):
            raise InvalidInput(f"resources/alerts.yaml: {kind}: levels must be roles from {', '.join(LEVEL_ROLES)}.")
        if len(after) > len(levels) - 1 or any(not isinstance(s, (int, float)) or s <= 0 for s in after):
            raise InvalidInput(f"resources/alerts.yaml: {kind}: escalate_after_s needs one positive "
                               "number of seconds per level after the first.")
    for row in doc.get("welfare") or []:
        if int(row.get("minutes", 0)) <= 0:
            raise InvalidInput("resources/alerts.yaml: welfare minutes must be positive.")
    return doc


def sync_alert_policy(conn: Any) -> None:
    doc = load_policy()
    for kind, p in doc["alerts"].items():
        conn.execute(text(
            "INSERT INTO alert_policy (kind, label, ack_group, levels, escalate_after_s) "
            "VALUES (:k, :l, :g, :lv, :s) ON CONFLICT (kind) DO UPDATE SET label = excluded.label, "
            "ack_group = excluded.ack_group, levels = excluded.levels, "
            "escalate_after_s = excluded.escalate_after_s"),
            {"k": kind, "l": p["label"], "g": p["ack_group"], "lv": list(p["levels"]),
             "s": [int(s) for s in p.get("escalate_after_s") or []]})
    conn.execute(text("DELETE FROM welfare_policy"))
    for i, row in enumerate(doc.get("welfare") or []):
        conn.execute(text("INSERT INTO welfare_policy (position, capability, incident_type, minutes) "
                          "VALUES (:p, :c, :t, :m)"),
                     {"p": i, "c": str(row["capability"]), "t": str(row["incident_type"]),
                      "m": int(row["minutes"])})
    conn.execute(text("DELETE FROM welfare_single_crewed"))
    for cap in doc.get("single_crewed") or []:
        conn.execute(text("INSERT INTO welfare_single_crewed (capability) VALUES (:c)"), {"c": str(cap)})
