"""JESIP METHANE headings: the names people use for them (CommandService.methane in service.py saves
a report; every save is a new version, exportable as text)."""
from __future__ import annotations

from .views import METHANE_FIELDS

# Names people (and other code) use for the seven METHANE headings -> our column.
ALIASES = {
    "m": "major_incident", "major": "major_incident", "major_incident": "major_incident",
    "major_incident_declared": "major_incident", "major_declared": "major_incident",
    "e": "exact_location", "exact_location": "exact_location", "location": "exact_location",
    "t": "incident_type", "type": "incident_type", "incident_type": "incident_type",
    "type_of_incident": "incident_type",
    "h": "hazards", "hazards": "hazards",
    "a": "access", "access": "access",
    "n": "casualties", "casualties": "casualties", "number_of_casualties": "casualties",
    "emergency_services": "emergency_services", "services": "emergency_services",
    "emergency_services_present_and_required": "emergency_services",
}
COLUMNS = tuple(METHANE_FIELDS)


__all__ = ["ALIASES", "COLUMNS"]
