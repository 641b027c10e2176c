"""Which panels a console shows, where they dock, and which module builds each.

Each entry holds its factory: a function taking the ConsoleContext that imports its feature's
`make_panel` (an import, not a string; the import is inside the function so that a console loads
only the panels its role shows, and a panel that fails to build leaves a placeholder, not a dead
console).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from ..kit.placeholder import placeholder

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext

log = logging.getLogger(__name__)

LEFT, RIGHT, BOTTOM = Qt.LeftDockWidgetArea, Qt.RightDockWidgetArea, Qt.BottomDockWidgetArea


@dataclass(frozen=True)
class PanelSpec:
    key: str
    title: str
    area: Qt.DockWidgetArea
    factory: Callable[["ConsoleContext"], QWidget]
    roles: tuple[str, ...] = ()  # empty: every role


# -- the factories: one per panel, each importing its feature --------------------------------------
def _map_panel(ctx: "ConsoleContext") -> QWidget:
    from ..map.panel import make_panel
    return make_panel(ctx)


def _incidents_list_panel(ctx: "ConsoleContext") -> QWidget:
    from ..incidents.list_panel import make_panel
    return make_panel(ctx)


def _incidents_form(ctx: "ConsoleContext") -> QWidget:
    from ..incidents.form import make_panel
    return make_panel(ctx)


def _contacts_panel(ctx: "ConsoleContext") -> QWidget:
    from ..contacts.panel import make_panel
    return make_panel(ctx)


def _dashboards_performance(ctx: "ConsoleContext") -> QWidget:
    from ..dashboards.performance import make_panel
    return make_panel(ctx)


def _despatch_units_panel(ctx: "ConsoleContext") -> QWidget:
    from ..despatch.units_panel import make_panel
    return make_panel(ctx)


def _talkgroups_panel(ctx: "ConsoleContext") -> QWidget:
    from ..talkgroups.panel import make_panel
    return make_panel(ctx)


def _command_panel(ctx: "ConsoleContext") -> QWidget:
    from ..command.panel import make_panel
    return make_panel(ctx)


def _training_trainer_window(ctx: "ConsoleContext") -> QWidget:
    from ..training.trainer_window import make_panel
    return make_panel(ctx)


def _standards_reconciliation_panel(ctx: "ConsoleContext") -> QWidget:
    from ..standards.reconciliation_panel import make_panel
    return make_panel(ctx)


def _dashboards_banding(ctx: "ConsoleContext") -> QWidget:
    from ..dashboards.banding import make_panel
    return make_panel(ctx)


def _standards_prompts_panel(ctx: "ConsoleContext") -> QWidget:
    from ..standards.prompts_panel import make_panel
    return make_panel(ctx)


def _alerts_panel(ctx: "ConsoleContext") -> QWidget:
    from ..alerts.panel import make_panel
    return make_panel(ctx)


def _reference_panel(ctx: "ConsoleContext") -> QWidget:
    from ..reference.panel import make_panel
    return make_panel(ctx)


def _intel_panel(ctx: "ConsoleContext") -> QWidget:
    from ..intel.panel import make_panel
    return make_panel(ctx)


def _recovery_panel(ctx: "ConsoleContext") -> QWidget:
    from ..recovery.panel import make_panel
    return make_panel(ctx)


def _dashboards_workforce(ctx: "ConsoleContext") -> QWidget:
    from ..dashboards.workforce import make_panel
    return make_panel(ctx)


def _audit_workspace(ctx: "ConsoleContext") -> QWidget:
    from ..audit.workspace import make_panel
    return make_panel(ctx)


def _replay_window(ctx: "ConsoleContext") -> QWidget:
    from ..replay.window import make_panel
    return make_panel(ctx)


MAP = PanelSpec("map", "Map", Qt.NoDockWidgetArea, _map_panel)
PANELS: list[PanelSpec] = [
    PanelSpec("incidents", "Incidents", LEFT, _incidents_list_panel),
    PanelSpec("incident_form", "Incident", LEFT, _incidents_form),
    PanelSpec("contacts", "Contacts", LEFT, _contacts_panel),
    PanelSpec("dashboards", "Performance", BOTTOM, _dashboards_performance,
              roles=("supervisor", "inspector", "trainer")),
    PanelSpec("units", "Units", RIGHT, _despatch_units_panel),
    PanelSpec("talkgroups", "Talk groups", RIGHT, _talkgroups_panel),
    PanelSpec("command", "Command", RIGHT, _command_panel),
    PanelSpec("trainer", "Trainer", BOTTOM, _training_trainer_window, roles=("trainer",)),
    PanelSpec("reconciliation", "Reconciliation", BOTTOM, _standards_reconciliation_panel, roles=("supervisor", "inspector", "trainer")),  # issue 14
    PanelSpec("banding", "Answer banding", BOTTOM, _dashboards_banding, roles=("supervisor", "inspector", "trainer")),  # issue 14
    PanelSpec("prompts", "Prompts", RIGHT, _standards_prompts_panel, roles=("call_handler", "despatcher", "supervisor", "inspector", "trainer")),  # issue 14
    PanelSpec("alerts", "Alerts", RIGHT, _alerts_panel,
              roles=("call_handler", "despatcher", "supervisor", "inspector", "trainer")),  # issue 20
    PanelSpec("reference", "Reference", RIGHT, _reference_panel),  # issue 23
    PanelSpec("intel", "Intel checks", RIGHT, _intel_panel,
              roles=("despatcher", "supervisor", "inspector", "trainer", "auditor")),  # issue 23
    PanelSpec("recovery", "Vehicle recovery", BOTTOM, _recovery_panel),  # issue 23
    PanelSpec("workforce", "Workforce forecast", BOTTOM, _dashboards_workforce,
              roles=("supervisor", "inspector", "trainer")),  # issue 23
    PanelSpec("audit", "Audit & QA", BOTTOM, _audit_workspace, roles=("auditor",)),
    PanelSpec("replay", "Replay", BOTTOM, _replay_window, roles=("inspector", "trainer", "auditor")),
]


def build(spec: PanelSpec, ctx: "ConsoleContext") -> QWidget:
    """The panel's widget, or a placeholder that says why it is missing."""
    try:
        return spec.factory(ctx)
    except Exception as exc:  # a broken panel must not stop the console
        log.exception("panel %s failed", spec.key)
        return placeholder(f"{spec.title} failed to load: {exc}")
