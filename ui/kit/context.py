"""What every panel of a console gets: the session, the event bridge, a clock, selection."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from controlroom.session import Session

from .event_bridge import EventBridge


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Selection(QObject):
    """Cross-panel selection: panels emit and listen here instead of calling each other."""

    incidentSelected = Signal(int)
    unitSelected = Signal(str)
    newIncidentAt = Signal(float, float)


@dataclass
class ConsoleContext:
    session: Session
    bridge: EventBridge
    clock: Callable[[], datetime] = utc_now
    selection: Selection = field(default_factory=Selection)
    ops: Any = None  # ui.kit.ops module-level run_op is the default
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def training(self) -> bool:
        return self.session.training
