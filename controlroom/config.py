"""Paths and force-configurable catalogues (resources/*.yaml), loaded once per process."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources"
MAPS = ROOT / "maps"

ROLES = ("call_handler", "despatcher", "supervisor", "inspector", "trainer", "auditor")


@functools.cache
def load_resource(name: str) -> dict[str, Any]:
    """Parse resources/<name>.yaml (cached: catalogues change only with a restart)."""
    with open(RESOURCES / f"{name}.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def channels() -> dict[str, dict[str, Any]]:
    return load_resource("channels")["channels"]


def incident_types() -> dict[str, dict[str, Any]]:
    return load_resource("incident_types")["incident_types"]


def grade_policy() -> dict[str, Any]:
    return load_resource("grades")
