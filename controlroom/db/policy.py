"""Policy that decides what the database allows, held by the database (DESIGN §3).

Forces edit resources/despatch.yaml and incident_types.yaml; `sync_policy` copies the parts the
database enforces (which incident types and unit capabilities are armed, the statuses a unit may
be assigned or diverted from) into `despatch_policy`, which consoles cannot write.
"""
from __future__ import annotations

import json
from typing import Any

from .. import config


def policy_from_resources() -> dict[str, list[str]]:
    pol = config.load_resource("despatch")
    armed_types = sorted(code for code, t in config.incident_types().items() if t.get("armed"))
    return {
        "armed_incident_types": armed_types,
        "armed_capabilities": list(pol.get("armed_capabilities") or ["ARV"]),
        "deployable_statuses": list(pol["deployable_statuses"]),
        "divertable_statuses": list(pol["divertable_statuses"]),
    }


def sync_policy(conn: Any) -> None:
    """Bring `despatch_policy` in line with the resource files (init_database, after migrating)."""
    from sqlalchemy import text

    for key, value in policy_from_resources().items():
        conn.execute(text("INSERT INTO despatch_policy (key, value) VALUES (:k, CAST(:v AS jsonb)) "
                          "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value "
                          "WHERE despatch_policy.value IS DISTINCT FROM EXCLUDED.value"),
                     {"k": key, "v": json.dumps(value)})
