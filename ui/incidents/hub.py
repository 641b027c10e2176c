"""Signals from the command line's incident verbs (worker thread) to the incident widgets (queued
onto the GUI thread): N opens a blank form, a verb that changed an incident names it."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class IncidentCommandHub(QObject):
    """Signals from command handlers (worker thread) to widgets (queued to the GUI thread)."""

    newIncidentRequested = Signal()
    incidentTouched = Signal(int)


HUB = IncidentCommandHub()
