"""Which panels a console shows, where they dock, and which module builds each.

Each entry names a factory "module:function" taking the ConsoleContext; modules are imported
lazily so a console still starts (with a placeholder) if one panel fails to load.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget
from .plain import QLabel  # plain text unless made rich on purpose (issue 19)

if TYPE_CHECKING:
    from .context import ConsoleContext

log = logging.getLogger(__name__)

LEFT, RIGHT, BOTTOM = Qt.LeftDockWidgetArea, Qt.RightDockWidgetArea, Qt.BottomDockWidgetArea


@dataclass(frozen=True)
class PanelSpec:
    key: str
    title: str
    area: Qt.DockWidgetArea
    factory: str
    roles: tuple[str, ...] = ()  # empty: every role


MAP = PanelSpec("map", "Map", Qt.NoDockWidgetArea, "ui.map_panel:make_panel")
PANELS: list[PanelSpec] = [
    PanelSpec("incidents", "Incidents", LEFT, "ui.incident_list:make_panel"),
    PanelSpec("incident_form", "Incident", LEFT, "ui.incident_form:make_panel"),
    PanelSpec("contacts", "Contacts", LEFT, "ui.contacts_panel:make_panel"),
    PanelSpec("dashboards", "Performance", BOTTOM, "ui.dashboards:make_panel",
              roles=("supervisor", "inspector", "trainer")),
    PanelSpec("units", "Units", RIGHT, "ui.units_panel:make_panel"),
    PanelSpec("talkgroups", "Talk groups", RIGHT, "ui.talkgroups_panel:make_panel"),
    PanelSpec("command", "Command", RIGHT, "ui.command_panel:make_panel"),
    PanelSpec("trainer", "Trainer", BOTTOM, "ui.trainer_window:make_panel", roles=("trainer",)),
    PanelSpec("reconciliation", "Reconciliation", BOTTOM, "ui.reconciliation_panel:make_panel", roles=("supervisor", "inspector", "trainer")),  # issue 14
    PanelSpec("banding", "Answer banding", BOTTOM, "ui.banding_dashboard:make_panel", roles=("supervisor", "inspector", "trainer")),  # issue 14
    PanelSpec("prompts", "Prompts", RIGHT, "ui.prompts_panel:make_panel", roles=("call_handler", "despatcher", "supervisor", "inspector", "trainer")),  # issue 14
    PanelSpec("alerts", "Alerts", RIGHT, "ui.alerts_panel:make_panel",
              roles=("call_handler", "despatcher", "supervisor", "inspector", "trainer")),  # issue 20
    PanelSpec("reference", "Reference", RIGHT, "ui.reference_panel:make_panel"),  # issue 23
    PanelSpec("intel", "Intel checks", RIGHT, "ui.intel_panel:make_panel",
              roles=("despatcher", "supervisor", "inspector", "trainer", "auditor")),  # issue 23
    PanelSpec("recovery", "Vehicle recovery", BOTTOM, "ui.recovery_panel:make_panel"),  # issue 23
    PanelSpec("workforce", "Workforce forecast", BOTTOM, "ui.workforce_dashboard:make_panel",
              roles=("supervisor", "inspector", "trainer")),  # issue 23
    PanelSpec("audit", "Audit & QA", BOTTOM, "ui.auditor_workspace:make_panel", roles=("auditor",)),
    PanelSpec("replay", "Replay", BOTTOM, "ui.replay_window:make_panel", roles=("inspector", "trainer", "auditor")),
]


def build(spec: PanelSpec, ctx: "ConsoleContext") -> QWidget:
    """The panel's widget, or a placeholder that says why it is missing."""
    module_name, func = spec.factory.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            log.exception("panel %s failed to import", spec.key)
        return placeholder(f"{spec.title}: not available in this build")
    try:
        return getattr(module, func)(ctx)
    except Exception as exc:  # a broken panel must not stop the console
        log.exception("panel %s failed", spec.key)
        return placeholder(f"{spec.title} failed to load: {exc}")


def placeholder(text: str) -> QWidget:
    label = QLabel(text)
    label.setAlignment(Qt.AlignCenter)
    label.setObjectName("placeholder")
    label.setWordWrap(True)
    return label
