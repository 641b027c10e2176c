"""JESIP METHANE reports for the command service: every save is a new version, exportable as text."""
from __future__ import annotations

from typing import Any

from ..kernel.errors import InvalidInput
from .base import ServiceContext
from .command_views import METHANE_FIELDS, MethaneView, format_methane, row_view
from .validate import int_id, text_field

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


class MethaneMixin:
    ctx: ServiceContext

    def methane(self, incident_id: int, **fields: Any) -> MethaneView:
        """Save a new METHANE version; headings not given are carried over from the last version."""
        from .command import conflict_on  # the service module imports us; import late

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
            row = self._call("command.methane", "api.command_methane",  # type: ignore[attr-defined]
                             incident_id=incident_id, fields=given)
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
