"""Performance dashboards (pyqtgraph): queue, service levels, demand vs last week, abandoned and
call-backs, 999 trend, incidents by grade, unit availability, G1 attendance.

Curves and bars are created once; a DashboardFeed fetches `contacts.dashboard()` off the GUI thread
(ui.kit.ops.run_op) on a timer — sooner after contact events — and the widgets only `setData`/`setOpts`.
"""
from __future__ import annotations

import time
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (QGridLayout, QHBoxLayout, QPushButton, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.services.contacts.dashboard import Dashboard

from controlroom.kernel import palette
from ..kit.context import ConsoleContext
from ..contacts.panel import fmt_wait
from ..kit.ops import run_op

PRIORITY_COLOURS = [palette.GRADE_COLOURS[g] for g in ("G1", "G2", "G3", "G4")]
SL_CHANNELS = ("999", "999-text", "switchboard", "101", "alarm", "online", "email", "webchat", "sms")
SHORT = {"999-text": "999t", "switchboard": "swb", "webchat": "chat"}
AREAS = ("mk", "bucks", "berks-east", "berks-west", "oxon", "motorways")


class DashboardFeed(QObject):
    """Polls the dashboard figures (every `period_s`, or within a second of a contact event)."""

    updated = Signal(object)
    failed = Signal(str)

    def __init__(self, ctx: ConsoleContext, *, period_s: float = 5.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.period_s = period_s
        self.last: Dashboard | None = None
        self._busy = False
        self._dirty = True
        self._last_at = 0.0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.timer.start(1000)
        ctx.bridge.event.connect(self._on_event)
        QTimer.singleShot(0, self.refresh)

    def _on_event(self, ev: Any) -> None:
        if ev.kind.startswith(("contact.", "incident.", "unit.status", "despatch.")):
            self._dirty = True

    def _tick(self) -> None:
        if self._dirty or time.monotonic() - self._last_at >= self.period_s:
            self.refresh()

    def refresh(self) -> None:
        if self._busy:
            return
        self._busy, self._dirty, self._last_at = True, False, time.monotonic()
        run_op(self, self.ctx.session.contacts.dashboard, on_done=self._done, on_error=self._failed)

    def _done(self, d: Dashboard) -> None:
        self._busy = False
        self.last = d
        self.updated.emit(d)

    def _failed(self, err: Exception) -> None:
        self._busy = False
        self.failed.emit(str(err))


def _plot(title: str, *, y_label: str = "") -> pg.PlotWidget:
    w = pg.PlotWidget(title=title)
    w.setBackground("w")
    w.showGrid(x=False, y=True, alpha=0.3)
    w.setMouseEnabled(x=False, y=False)
    w.hideButtons()
    if y_label:
        w.setLabel("left", y_label)
    w.setMinimumSize(260, 170)
    return w


def _ticks(plot: pg.PlotWidget, labels: list[str]) -> None:
    plot.getAxis("bottom").setTicks([list(enumerate(labels))])


class DashboardsPanel(QWidget):
    def __init__(self, ctx: ConsoleContext, feed: DashboardFeed | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.feed = feed or DashboardFeed(ctx, parent=self)
        grid = QGridLayout()
        # Queue per priority (bars) — longest waits in the title.
        self.queue_plot = _plot("Queue per priority", y_label="waiting")
        self.queue_bars = pg.BarGraphItem(x=range(4), height=[0] * 4, width=0.6, brushes=PRIORITY_COLOURS)
        self.queue_plot.addItem(self.queue_bars)
        _ticks(self.queue_plot, ["P1", "P2", "P3", "P4"])
        self.queue_plot.setXRange(-0.5, 3.5, padding=0)
        # Service level per channel: last hour and this shift, with the 90 % target line.
        self.sl_plot = _plot("Service level % (hour ▮ / shift ▯) — target 90 %")
        n = len(SL_CHANNELS)
        self.sl_hour = pg.BarGraphItem(x=[i - 0.18 for i in range(n)], height=[0] * n, width=0.34,
                                       brush=palette.ROOM_COLOURS["north"])
        self.sl_shift = pg.BarGraphItem(x=[i + 0.18 for i in range(n)], height=[0] * n, width=0.34,
                                        brush="w", pen=pg.mkPen(palette.ROOM_COLOURS["north"], width=2))
        self.sl_plot.addItem(self.sl_hour)
        self.sl_plot.addItem(self.sl_shift)
        self.sl_plot.addItem(pg.InfiniteLine(pos=90, angle=0, pen=pg.mkPen(palette.COUNTDOWN_BREACH, style=pg.QtCore.Qt.DashLine)))
        self.sl_plot.setYRange(0, 100)
        _ticks(self.sl_plot, [SHORT.get(c, c) for c in SL_CHANNELS])
        # Demand per hour vs the same hour last week.
        self.demand_plot = _plot("Demand per hour: today vs same hour last week", y_label="contacts")
        self.demand_plot.addLegend(offset=(5, 5))
        self.demand_now = self.demand_plot.plot(name="last 24 h", pen=pg.mkPen(palette.ROOM_COLOURS["north"], width=2))
        self.demand_week = self.demand_plot.plot(name="a week earlier",
                                                 pen=pg.mkPen(palette.GRADE_COLOURS["G4"], width=2, style=pg.QtCore.Qt.DashLine))
        # Abandoned calls and call-backs per hour.
        self.ab_plot = _plot("Abandoned calls and call-backs per hour")
        self.ab_plot.addLegend(offset=(5, 5))
        self.ab_curve = self.ab_plot.plot(name="abandoned", pen=pg.mkPen(palette.COUNTDOWN_BREACH, width=2))
        self.cb_curve = self.ab_plot.plot(name="call-backs", pen=pg.mkPen(palette.COUNTDOWN_OK, width=2))
        # 999 demand per day over the year (trend), with downsampling for 365 points.
        self.trend_plot = _plot("999 calls per day — last 12 months")
        self.trend_curve = self.trend_plot.plot(pen=pg.mkPen(palette.GRADE_COLOURS["G1"], width=1))
        self.trend_curve.setDownsampling(auto=True, method="peak")
        self.trend_curve.setClipToView(True)
        # Incidents by grade and unit availability per area.
        self.grade_plot = _plot("Open incidents by grade")
        self.grade_bars = pg.BarGraphItem(x=range(4), height=[0] * 4, width=0.6, brushes=PRIORITY_COLOURS)
        self.grade_plot.addItem(self.grade_bars)
        _ticks(self.grade_plot, ["G1", "G2", "G3", "G4"])
        self.units_plot = _plot("Units available / on duty per area")
        m = len(AREAS)
        self.units_duty = pg.BarGraphItem(x=range(m), height=[0] * m, width=0.6,
                                          brush=palette.UNIT_STATUS_COLOURS["off_duty"])
        self.units_avail = pg.BarGraphItem(x=range(m), height=[0] * m, width=0.6,
                                           brush=palette.UNIT_STATUS_COLOURS["available"])
        self.units_plot.addItem(self.units_duty)
        self.units_plot.addItem(self.units_avail)
        _ticks(self.units_plot, list(AREAS))
        self.g1_label = QLabel("G1 attendance within target: —")
        self.g1_label.setObjectName("g1Attendance")
        self.status = QLabel("")
        for i, w in enumerate((self.queue_plot, self.sl_plot, self.demand_plot, self.ab_plot,
                               self.trend_plot, self.grade_plot, self.units_plot)):
            grid.addWidget(w, i // 3, i % 3)
        lay = QVBoxLayout(self)
        lay.addLayout(grid, 1)
        foot = QHBoxLayout()
        foot.addWidget(self.g1_label, 1)
        foot.addWidget(self.status)
        self.wall_button = QPushButton("Wallboard (full screen)")
        self.wall_button.clicked.connect(lambda: self._open_wallboard(ctx))
        foot.addWidget(self.wall_button)
        lay.addLayout(foot)
        self.feed.updated.connect(self.apply)
        self.feed.failed.connect(self.status.setText)
        if self.feed.last is not None:
            self.apply(self.feed.last)

    def _open_wallboard(self, ctx: ConsoleContext) -> None:
        from .wallboard import show_wallboard
        self.wallboard = show_wallboard(ctx, self.feed)

    def apply(self, d: Dashboard) -> None:
        """Push a snapshot into the existing items (no items are created here)."""
        by_p = {q.priority: q for q in d.queue}
        self.queue_bars.setOpts(height=[by_p[p].waiting if p in by_p else 0 for p in (1, 2, 3, 4)])
        longest = " · ".join(f"P{p} {fmt_wait(by_p[p].longest_wait_s)}" for p in (1, 2, 3, 4) if p in by_p)
        self.queue_plot.setTitle(f"Queue — longest {longest or ': none waiting'}")

        def pct(s: Any) -> float:
            return 0.0 if s is None or s.pct is None else s.pct

        measure = {c: ("answered" if not d.sl(c, "assessed") else "assessed") for c in SL_CHANNELS}
        self.sl_hour.setOpts(height=[pct(d.sl(c, measure[c])) for c in SL_CHANNELS])
        self.sl_shift.setOpts(height=[pct(d.sl(c, measure[c], shift=True)) for c in SL_CHANNELS])
        x = list(range(-23, 1))
        self.demand_now.setData(x, list(d.demand))
        self.demand_week.setData(x, list(d.demand_last_week))
        self.ab_curve.setData(x, list(d.abandoned))
        self.cb_curve.setData(x, list(d.callbacks))
        self.trend_curve.setData(list(range(-len(d.daily_999) + 1, 1)), list(d.daily_999))
        self.grade_bars.setOpts(height=[d.incidents_by_grade.get(g, 0) for g in ("G1", "G2", "G3", "G4")])
        units = {a: (av, on) for a, av, on in d.units_by_area}
        self.units_duty.setOpts(height=[units.get(a, (0, 0))[1] for a in AREAS])
        self.units_avail.setOpts(height=[units.get(a, (0, 0))[0] for a in AREAS])
        g1 = f"{100 * d.g1_met / d.g1_due:.0f}% ({d.g1_met}/{d.g1_due})" if d.g1_due else "no G1 due yet"
        self.g1_label.setText(f"G1 attendance within target this shift: {g1}")
        self.status.setText(f"Updated {d.now:%H:%M:%S}")


def make_panel(ctx: ConsoleContext) -> QWidget:
    return DashboardsPanel(ctx)
