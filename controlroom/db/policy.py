"""Policy that decides what the database allows, held by the database (DESIGN §3).

Forces edit the YAML catalogues in `resources/`; `sync_policy` copies the parts the database
enforces into tables consoles can only read, from the migrations that create them and again on
every `init_database` (an edited catalogue takes effect when the database is next set up):

- `despatch_policy`: which incident types and unit capabilities are armed, the statuses a unit may
  be assigned or diverted from (resources/despatch.yaml, incident_types.yaml);
- `policy`: grade targets and the urban/rural rule, the incident-type catalogue, closing codes,
  THRIVE-to-close and sign-off policy, prompt timings, contact channels, handoff times
  (read by the incident, contact and prompt API functions).
"""
from __future__ import annotations

import json
from typing import Any

from ..kernel import config


def policy_from_resources() -> dict[str, list[str]]:
    pol = config.load_resource("despatch")
    armed_types = sorted(code for code, t in config.incident_types().items() if t.get("armed"))
    return {
        "armed_incident_types": armed_types,
        "armed_capabilities": list(pol.get("armed_capabilities") or ["ARV"]),
        "deployable_statuses": list(pol["deployable_statuses"]),
        "divertable_statuses": list(pol["divertable_statuses"]),
    }


def sync_despatch_policy(conn: Any) -> None:
    """Bring `despatch_policy` in line with the resource files."""
    from sqlalchemy import text

    for key, value in policy_from_resources().items():
        conn.execute(text("INSERT INTO despatch_policy (key, value) VALUES (:k, CAST(:v AS jsonb)) "
                          "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value "
                          "WHERE despatch_policy.value IS DISTINCT FROM EXCLUDED.value"),
                     {"k": key, "v": json.dumps(value)})


def policy_values() -> dict[str, Any]:
    """Everything the API functions read, from the catalogues (keys = policy.key)."""
    grades = config.grade_policy()
    standards = config.load_resource("standards")
    types = config.incident_types()
    codes = config.load_resource("closing_codes")["closing_codes"]
    return {
        "grade_minutes": {g: {"urban": int(v["attend_minutes"]["urban"]),
                              "rural": int(v["attend_minutes"]["rural"])}
                          for g, v in grades["grades"].items()},
        "urban": {"radius_m": float(grades.get("urban", {}).get("radius_km", 4.0)) * 1000.0,
                  "towns": [[lat, lon] for _, lat, lon in config.urban_towns()]},
        "incident_types": sorted(types),
        "closing_codes": {k: list(v.get("qualifiers") or []) for k, v in codes.items()},
        "duplicate_closing_codes": sorted(k for k, v in codes.items() if v.get("needs_link")),
        "thrive_required_to_close": standards.get("thrive_required_to_close") or {},
        "signoff_downgrade_from": list(standards.get("signoff_downgrade_from", ["G1", "G2"])),
        "handoff": standards.get("handoff") or {},
        "prompts": config.load_resource("prompts"),
        "channels": {k: int(v["priority"]) for k, v in config.channels().items()},
        "contact_repeat_days": int(config.load_resource("contact_policy").get("repeat_caller_days", 28)),
    }


def sync_incident_policy(conn: Any) -> None:
    """Bring `policy` in line with the resource files."""
    from sqlalchemy import text

    for key, value in policy_values().items():
        conn.execute(text("INSERT INTO policy (key, value) VALUES (:k, CAST(:v AS jsonb)) "
                          "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now() "
                          "WHERE policy.value IS DISTINCT FROM EXCLUDED.value"),
                     {"k": key, "v": json.dumps(value)})


def sync_policy(conn: Any) -> None:
    """Both policy tables, as the force last edited the catalogues (init_database, after migrating)."""
    sync_despatch_policy(conn)
    sync_incident_policy(conn)
