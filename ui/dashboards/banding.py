"""Answer banding dashboard (issue 14): 999 answer-time bands against the 90 % standard and 101
abandonment against 5 %, per hour / day / month, with CSV export. Supervisors and above.

Bars are created once and updated with setOpts (pyqtgraph); figures come from session.banding
off the GUI thread.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QPushButton,
                               QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.services.contacts.banding import BandRow, to_csv

from controlroom.kernel import palette
from ..kit.context import ConsoleContext
from ..kit.ops import run_op

RANGES = {"hour": timedelta(hours=24), "day": timedelta(days=14), "month": timedelta(days=365)}
FMT = {"hour": "%H", "day": "%d/%m", "month": "%b"}
BAND_COLOURS = (palette.COUNTDOWN_OK, palette.COUNTDOWN_WARN, palette.COUNTDOWN_BREACH)


def _plot(title: str, y_label: str) -> pg.PlotWidget:
    w = pg.PlotWidget(title=title)
    w.setBackground("w")
    w.showGrid(x=False, y=True, alpha=0.3)
    w.setMouseEnabled(x=False, y=False)
    w.hideButtons()
    w.setLabel("left", y_label)
    w.setMinimumSize(320, 200)
    return w


class BandingDashboard(QWidget):
    def __init__(self, ctx: ConsoleContext, *, refresh_ms: int = 60_000, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.rows: list[BandRow] = []
        self.period = QComboBox()
        self.period.addItems(["hour", "day", "month"])
        self.period.setCurrentText("hour")
        self.period.currentTextChanged.connect(lambda _t: self.refresh())
        self.export_btn = QPushButton("Export CSV…")
        self.export_btn.clicked.connect(self.export)
        self.answer_label, self.abandon_label = QLabel("999: —"), QLabel("101: —")
        for lab in (self.answer_label, self.abandon_label):
            lab.setTextFormat(Qt.PlainText)
            lab.setStyleSheet("font-weight: bold; font-size: 12pt")
        top = QHBoxLayout()
        top.addWidget(QLabel("Per"))
        top.addWidget(self.period)
        top.addStretch(1)
        top.addWidget(self.export_btn)
        self.answer_plot = _plot("999 answer time bands, % of answered", "%")
        self.answer_plot.setYRange(0, 100)
        self.answer_plot.addLegend(offset=(10, -10))  # bottom left: over the tallest band, not the bars' tops
        self.band_bars = []
        for name, colour in zip(("&lt; 10 s", "10–60 s", "≥ 60 s"), BAND_COLOURS):  # legend labels are HTML
            bars = pg.BarGraphItem(x=[], height=[], y0=[], width=0.7, brush=colour, name=name)
            self.answer_plot.addItem(bars)
            self.band_bars.append(bars)
        self.answer_plot.addItem(pg.InfiniteLine(pos=90, angle=0, label="90 %",
                                                 pen=pg.mkPen("#000", style=Qt.DashLine)))
        self.abandon_plot = _plot("101 abandonment, % of calls offered", "%")
        self.abandon_bars = pg.BarGraphItem(x=[], height=[], width=0.7, brushes=[])
        self.abandon_plot.addItem(self.abandon_bars)
        self.abandon_plot.addItem(pg.InfiniteLine(pos=5, angle=0, label="5 %",
                                                  pen=pg.mkPen("#000", style=Qt.DashLine)))
        grid = QGridLayout()
        grid.addWidget(self.answer_label, 0, 0)
        grid.addWidget(self.abandon_label, 0, 1)
        grid.addWidget(self.answer_plot, 1, 0)
        grid.addWidget(self.abandon_plot, 1, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(grid)
        self._timer = QTimer(self, interval=refresh_ms, timeout=self.refresh)
        self._timer.start()
        self.refresh()

    def range_now(self) -> tuple[str, datetime, datetime]:
        period = self.period.currentText()
        until = self.ctx.clock()
        until = until.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return period, until - RANGES[period], until

    def refresh(self) -> None:
        period, since, until = self.range_now()
        run_op(self, lambda: self.ctx.session.banding.bands(period=period, since=since, until=until),
               on_done=self.show_rows, on_error=lambda e: self.answer_label.setText(f"Could not load: {e}"))

    def show_rows(self, rows: list[BandRow]) -> None:
        self.rows = rows
        period = self.period.currentText()
        answer = [r for r in rows if r.measure == "answer" and r.answered]
        xs = list(range(len(answer)))
        base = [0.0] * len(answer)
        for bars, attr in zip(self.band_bars, ("under_10", "from_10_to_60", "over_60")):
            h = [100.0 * getattr(r, attr) / r.answered for r in answer]
            bars.setOpts(x=xs, height=h, y0=list(base))
            base = [b + v for b, v in zip(base, h)]
        self.answer_plot.getAxis("bottom").setTicks([[(i, r.period_start.astimezone().strftime(FMT[period]))
                                                      for i, r in enumerate(answer)]])
        ab = [r for r in rows if r.measure == "abandon" and r.offered]
        pct = [r.abandon_pct or 0.0 for r in ab]
        self.abandon_bars.setOpts(x=list(range(len(ab))), height=pct,
                                  brushes=[palette.COUNTDOWN_OK if r.meets_standard else palette.COUNTDOWN_BREACH
                                           for r in ab])
        self.abandon_plot.setYRange(0, max([10.0] + pct) * 1.1)
        self.abandon_plot.getAxis("bottom").setTicks([[(i, r.period_start.astimezone().strftime(FMT[period]))
                                                       for i, r in enumerate(ab)]])
        answered = sum(r.answered for r in answer)
        within = sum(r.under_10 for r in answer)
        offered = sum(r.offered for r in ab)
        abandoned = sum(r.abandoned for r in ab)
        self.answer_label.setText(self._verdict("999 answered < 10 s", within, answered, 90.0, higher=True))
        self.abandon_label.setText(self._verdict("101 abandoned", abandoned, offered, 5.0, higher=False))

    @staticmethod
    def _verdict(what: str, n: int, total: int, std: float, *, higher: bool) -> str:
        if not total:
            return f"{what}: no calls in range"
        pct = 100.0 * n / total
        ok = pct >= std if higher else pct <= std
        return f"{what}: {pct:.1f} % of {total} — {'MET' if ok else 'NOT MET'} (standard {std:g} %)"

    def export(self, path: str | None = None) -> str | None:
        """Write the figures on screen as CSV (asks for a file name unless given)."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export answer banding", "banding.csv", "CSV (*.csv)")
            if not path:
                return None
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(to_csv(self.rows))
        return path


def make_panel(ctx: ConsoleContext) -> QWidget:
    return BandingDashboard(ctx)
