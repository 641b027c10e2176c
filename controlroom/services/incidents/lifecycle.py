"""Closing codes, link kinds and THRIVE risk levels of incidents (IncidentService in service.py
holds the closing, reopening, linking, THRIVE and SLA-breach methods)."""
from __future__ import annotations

from typing import Any

from ...kernel import config

LINK_KINDS = ("duplicate", "related")
RISK_LEVELS = ("high", "medium", "low")


def closing_codes() -> dict[str, dict[str, Any]]:
    codes: dict[str, dict[str, Any]] = config.load_resource("closing_codes")["closing_codes"]
    return codes


__all__ = ["LINK_KINDS", "RISK_LEVELS", "closing_codes"]
