"""The red TRAINING band across a training console, with the exercise clock the trainer announces."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QHBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.demo.scenario import format_time

from controlroom.kernel import palette
from ..kit.context import ConsoleContext
from ..kit.ops import run_op

BAND_TEXT = "TRAINING — exercise data only, never live"


class TrainingBand(QWidget):
    """Unmistakable marking; shows the scenario state from `training.*` events."""

    def __init__(self, ctx: ConsoleContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingBand")
        self._last_seq = 0
        self.setAttribute(Qt.WA_StyledBackground, True)
        # Own stylesheet, not the theme's: the band must stay red whatever theme the user picks.
        self.setStyleSheet(f"#trainingBand {{ background: {palette.TRAINING_BAND}; }}"
                           "#trainingBand QLabel { color: white; font-weight: bold; }")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 4, 12, 4)
        self.label = QLabel(BAND_TEXT)
        self.label.setStyleSheet("font-size: 15pt; letter-spacing: 3px;")
        self.scenario = QLabel("")
        self.scenario.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        lay.addWidget(self.label)
        lay.addStretch(1)
        lay.addWidget(self.scenario)
        self.setAccessibleName(BAND_TEXT)
        ctx.bridge.event.connect(self._on_event)
        # A console signing in mid-exercise shows the clock at once, not at the next announcement.
        run_op(self, ctx.session.exercise.status, on_done=lambda ev: ev and self._on_event(ev))

    def _on_event(self, ev) -> None:
        if not ev.kind.startswith("training.") or ev.seq <= self._last_seq:
            return
        self._last_seq = ev.seq
        p = ev.payload if isinstance(ev.payload, dict) else {}
        what = ev.kind.split(".", 1)[1]
        if what == "reset":
            self.scenario.setText(f"Exercise reset{': ' + p['scenario'] if p.get('scenario') else ''}")
            return
        self.scenario.setText(f"{p.get('scenario', '')} · {p.get('state', what)} · "
                              f"x{float(p.get('speed', 1)):g} · {format_time(float(p.get('position', 0)))}")


def make_training_band(ctx: ConsoleContext) -> QWidget:
    return TrainingBand(ctx)
