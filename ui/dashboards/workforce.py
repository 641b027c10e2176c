"""Workforce demand dashboard (strategy §7.8): forecast band and actual contacts per 15 minutes,
staff required (Erlang C) against rostered, and the gap by interval, for one line and one week.

pyqtgraph house style: the curves are made once and updated with setData; the forecast runs on a
worker (run_op) because fitting the models takes a few seconds.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from controlroom.workforce.forecast import HORIZONS

from ..kit.context import ConsoleContext
from ..kit.ops import run_op

BAND = (70, 130, 220, 70)
FORECAST = (40, 90, 200)
ACTUAL = (20, 20, 20)
REQUIRED = (200, 40, 40)
ROSTERED = (30, 140, 60)


class WorkforceDashboard(QWidget):
    def __init__(self, ctx: ConsoleContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.plan: Any = None
        svc = ctx.session.workforce
        self.line = QComboBox()
        for code, spec in svc.lines().items():
            self.line.addItem(spec.label, code)
        self.horizon = QComboBox()
        for code, (_days, label) in HORIZONS.items():
            self.horizon.addItem(label, code)
        self.horizon.setCurrentIndex(self.horizon.findData("short"))
        self.week = QDateEdit(calendarPopup=True)
        self.week.setDisplayFormat("ddd dd MMM yyyy")
        self.use_latest = True
        self.week.userDateChanged.connect(lambda _d: setattr(self, "use_latest", False))
        go = QPushButton("Forecast")
        go.clicked.connect(self.refresh)
        self.publish_btn = QPushButton("Publish to rooms")
        self.publish_btn.setEnabled(False)
        self.publish_btn.clicked.connect(self.publish)
        self.published = QLabel("")
        self.published.setTextFormat(Qt.PlainText)
        self.summary = QLabel("")
        self.summary.setTextFormat(Qt.PlainText)
        self.summary.setWordWrap(True)
        top = QHBoxLayout()
        for w in (QLabel("Line"), self.line, QLabel("Horizon"), self.horizon, QLabel("Week from"), self.week, go,
                  self.publish_btn):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.published)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.plots = pg.GraphicsLayoutWidget()
        self.demand = self.plots.addPlot(row=0, col=0, title="Contacts per 15 minutes: forecast (80 % band) and actual",
                                         axisItems={"bottom": pg.DateAxisItem()})
        self.staff = self.plots.addPlot(row=1, col=0, title="Staff: required (Erlang C, with shrinkage) vs rostered",
                                        axisItems={"bottom": pg.DateAxisItem()})
        self.gap_plot = self.plots.addPlot(row=2, col=0, title="Gap: rostered − required (below 0 = short)",
                                           axisItems={"bottom": pg.DateAxisItem()})
        for p in (self.staff, self.gap_plot):
            p.setXLink(self.demand)
        for p in (self.demand, self.staff, self.gap_plot):
            p.showGrid(x=True, y=True, alpha=0.25)
            p.addLegend(offset=(10, 5))
        self.plots.ci.layout.setRowStretchFactor(0, 3)
        self.plots.ci.layout.setRowStretchFactor(1, 2)
        self.plots.ci.layout.setRowStretchFactor(2, 1)
        # made once, updated with setData
        self.lo = self.demand.plot(pen=pg.mkPen(BAND[:3], width=0.5))
        self.hi = self.demand.plot(pen=pg.mkPen(BAND[:3], width=0.5))
        self.band = pg.FillBetweenItem(self.lo, self.hi, brush=pg.mkBrush(*BAND))
        self.demand.addItem(self.band)
        self.fc_curve = self.demand.plot(pen=pg.mkPen(FORECAST, width=2), name="forecast")
        self.act_curve = self.demand.plot(pen=pg.mkPen(ACTUAL, width=1), name="actual")
        self.req_curve = self.staff.plot(pen=pg.mkPen(REQUIRED, width=2), name="required", stepMode="right")
        self.rost_curve = self.staff.plot(pen=pg.mkPen(ROSTERED, width=2, style=Qt.DashLine), name="rostered",
                                          stepMode="right")
        self.gap_bars = pg.BarGraphItem(x=[], height=[], width=800)
        self.gap_plot.addItem(self.gap_bars)
        self.gap_plot.addLine(y=0, pen=pg.mkPen("k", width=1))
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(self.plots, 1)
        ctx.bridge.event.connect(self._on_event)
        self._shown_once = False

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt name)
        # fitting the models costs seconds of CPU: only when someone first looks at the dashboard
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self.refresh()
            self._load_published()

    def refresh(self) -> None:
        line, horizon = self.line.currentData(), self.horizon.currentData()
        qd = self.week.date()
        week = None if self.use_latest else date(qd.year(), qd.month(), qd.day())
        self.summary.setText("Forecasting…")
        svc = self.ctx.session.workforce
        run_op(self, lambda: svc.plan(line=line, horizon=horizon, week_start=week), on_done=self.show_plan,
               on_error=lambda e: self.summary.setText(str(e)))

    def publish(self) -> None:
        plan = self.plan
        if plan is not None:
            run_op(self, lambda: self.ctx.session.workforce.publish(plan), on_done=self._show_published,
                   on_error=lambda e: self.published.setText(str(e)))

    def _on_event(self, ev: Any) -> None:
        if ev.kind == "workforce.published":
            self._load_published()

    def _load_published(self) -> None:
        svc = self.ctx.session.workforce
        run_op(self, lambda: svc.published(limit=1),
               on_done=lambda ps: self._show_published(ps[0]) if ps else None)

    def _show_published(self, p: Any) -> None:
        self.published.setText(f"Published: {p.line} {p.week_start:%d %b} by {p.published_by} at "
                               f"{p.published_at:%H:%M} ({p.intervals_short} intervals short)")

    def show_plan(self, plan: Any) -> None:
        self.plan = plan
        self.publish_btn.setEnabled(True)
        x = np.array([s.timestamp() for s in plan.starts])
        self.week.blockSignals(True)
        self.week.setDate(QDate(plan.week_start.year, plan.week_start.month, plan.week_start.day))
        self.week.blockSignals(False)
        self.lo.setData(x, plan.lower)
        self.hi.setData(x, plan.upper)
        self.fc_curve.setData(x, plan.forecast)
        seen = ~np.isnan(plan.actual)
        self.act_curve.setData(x[seen], plan.actual[seen])
        self.req_curve.setData(x, plan.required.astype(float))  # each value holds for its 15 minutes
        self.rost_curve.setData(x, plan.rostered.astype(float))
        gap = plan.gap
        brushes = [pg.mkBrush(200, 40, 40) if g < 0 else pg.mkBrush(30, 140, 60) for g in gap]
        self.gap_bars.setOpts(x=x + 450, height=gap, width=800, brushes=brushes, pens=[None] * len(gap))
        self.demand.setXRange(x[0], x[-1] + 900, padding=0.01)
        mape = "" if np.isnan(plan.mape) else f"MAPE against actual {plan.mape:.1f} % · "
        end = plan.week_start + timedelta(days=6)
        self.summary.setText(
            f"{plan.label} · {HORIZONS[plan.horizon][1]} forecast made {plan.origin:%d %b %Y} for "
            f"{plan.week_start:%d %b} – {end:%d %b %Y} · forecast {plan.forecast.sum():,.0f} contacts · {mape}"
            f"staff-hours required {plan.staff_hours_required:,.0f} vs rostered {plan.staff_hours_rostered:,.0f} · "
            f"{plan.intervals_short} of {len(gap)} intervals short (worst {int(min(gap.min(), 0))})")


def make_panel(ctx: ConsoleContext) -> QWidget:
    return WorkforceDashboard(ctx)
