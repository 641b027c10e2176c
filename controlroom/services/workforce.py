"""Workforce demand forecasting (strategy §7.8, §8.2): contacts per channel per 15 minutes at the
long (15 months), medium (12 weeks), short (4 weeks) and real-time horizons, staff required per
line with Erlang C, compared with the rostered staff. Reads only (contact history and the roster);
the model is described in controlroom/workforce/forecast.py, the staffing in controlroom/workforce/staffing.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from ..workforce import forecast as fc
from ..workforce import staffing
from ..kernel.errors import InvalidInput
from .base import ServiceContext
from .validate import code_field

# How far before the shown week each horizon's forecast is made (its origin).
ORIGIN_LEAD_DAYS = {"long": 365, "medium": 56, "short": 14, "real_time": 0}
TRAIN_DAYS = 730

INTERVALS_SQL = """
SELECT date_bin('15 minutes', received_at, TIMESTAMPTZ '2000-01-03 00:00+00') AS s, channel, count(*) AS n
FROM contacts WHERE channel = ANY(CAST(:chs AS text[])) AND received_at >= :a AND received_at < :b
GROUP BY 1, 2
"""
HOURLY_SQL = """
SELECT hour, sum(received) AS n FROM contacts_hourly
WHERE channel = :ch AND hour >= :a AND hour < :b GROUP BY 1 ORDER BY 1
"""


def interval_counts(conn: Connection, channels: Iterable[str], start: datetime, end: datetime) -> dict[str, pd.Series]:
    """15-minute counts per channel on the grid [start, end), zero where nothing came in."""
    chs = list(channels)
    grid = fc.slots_between(start, end)
    out = {c: pd.Series(0.0, index=grid) for c in chs}
    for s, ch, n in conn.execute(text(INTERVALS_SQL), {"chs": chs, "a": start, "b": end}).tuples():
        if s in out[ch].index:
            out[ch][s] = float(n)
    return out


def daily_history(conn: Connection, channel: str, start: date, end: date) -> pd.Series:
    """Contacts per London day in [start, end) from the hourly rollup."""
    rows = conn.execute(text(HOURLY_SQL), {"ch": channel, "a": fc.utc(start), "b": fc.utc(end)}).tuples().all()
    s = fc.daily_totals(pd.Series({h: float(n) for h, n in rows}, dtype=float))
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    return s.reindex(days, fill_value=0.0) if len(s) else pd.Series(0.0, index=days)


def forecast_channel(conn: Connection, channel: str, origin: date, starts: list[datetime],
                     *, train_days: int = TRAIN_DAYS) -> fc.IntervalForecast:
    """The forecast for `starts` made at London midnight of `origin` from the history before it."""
    hist = daily_history(conn, channel, origin - timedelta(days=train_days), origin)
    first = hist.ne(0).idxmax() if hist.any() else origin - timedelta(days=1)
    hist = hist[hist.index >= first]
    recent = interval_counts(conn, [channel], fc.utc(origin - timedelta(weeks=fc.PROFILE_WEEKS)), fc.utc(origin))[channel]
    if len(hist) < 28:
        raise InvalidInput(f"Not enough contact history before {origin:%d %b %Y} to forecast {channel} "
                           "(four weeks at least).", field="week_start")
    return fc.forecast_intervals(hist, recent, starts)


@dataclass(frozen=True)
class StaffingPlan:
    line: str
    label: str
    horizon: str
    origin: date
    week_start: date
    starts: tuple[datetime, ...]
    forecast: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    actual: np.ndarray          # NaN where the interval has not happened yet
    agents: np.ndarray          # Erlang C agents on the phones
    required: np.ndarray        # rostered heads needed (with shrinkage)
    rostered: np.ndarray
    service_level: np.ndarray

    @property
    def gap(self) -> np.ndarray:
        """Rostered minus required heads: negative = short."""
        gap: np.ndarray = self.rostered - self.required
        return gap

    @property
    def mape(self) -> float:
        m = ~np.isnan(self.actual)
        return fc.mape(self.actual[m], self.forecast[m]) if m.any() else float("nan")

    @property
    def intervals_short(self) -> int:
        return int((self.gap < 0).sum())

    @property
    def staff_hours_required(self) -> float:
        return float(self.required.sum()) / 4

    @property
    def staff_hours_rostered(self) -> float:
        return float(self.rostered.sum()) / 4


class WorkforceService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def lines(self) -> dict[str, staffing.Line]:
        return staffing.lines()

    def history_range(self) -> tuple[datetime, datetime] | None:
        """First and last hour of contact history (the hourly rollup)."""
        with self.ctx.read() as conn:
            lo, hi = conn.execute(text("SELECT min(hour), max(hour) FROM contacts_hourly")).tuples().one()
        return None if lo is None else (lo, hi + timedelta(hours=1))

    def plan(self, *, line: str = "999", horizon: str = "short", week_start: date | None = None) -> StaffingPlan:
        """Forecast, Erlang C staff required and rostered staff for one week (Monday start, London)."""
        self.ctx.require("workforce.view", entity=f"workforce:{line}", what="see workforce forecasts")
        lines = staffing.lines()
        code_field(line, "Line", field="line", allowed=lines)
        code_field(horizon, "Horizon", field="horizon", allowed=fc.HORIZONS)
        span = self.history_range()
        if span is None:
            raise InvalidInput("There is no contact history to forecast from yet "
                               "(python -m controlroom.demo.demand fills the demo's).", field="week_start")
        last_day = fc.local_day(span[1])  # history is complete up to this day's London midnight
        if week_start is None:  # the last complete week, so the actual line is there to compare
            week_start = last_day - timedelta(days=7)
            week_start -= timedelta(days=week_start.weekday())
        if not isinstance(week_start, date) or isinstance(week_start, datetime):
            raise InvalidInput("Week start must be a date.", field="week_start")
        origin = min(week_start - timedelta(days=ORIGIN_LEAD_DAYS[horizon]), last_day)
        starts = fc.slots_between(fc.utc(week_start), fc.utc(week_start + timedelta(days=7)))
        spec = lines[line]
        n = len(starts)
        mean, lower, upper = np.zeros(n), np.zeros(n), np.zeros(n)
        actual = np.zeros(n)
        with self.ctx.read() as conn:
            seen = interval_counts(conn, spec.channels, starts[0], starts[-1] + fc.SLOT)
            for ch in spec.channels:
                f = forecast_channel(conn, ch, origin, starts)
                m = f.mean
                if horizon == "real_time":
                    m = _real_time(f, seen[ch].to_numpy(), starts)
                mean += m
                lower += f.lower * (m / np.maximum(f.mean, 1e-9))
                upper += f.upper * (m / np.maximum(f.mean, 1e-9))
                actual += seen[ch].to_numpy()
        end_seen = span[1]
        actual = np.where(np.array([s + fc.SLOT <= end_seen for s in starts]), actual, np.nan)
        need = staffing.required_series(mean, spec)  # Erlang C per interval
        return StaffingPlan(line=line, label=spec.label, horizon=horizon, origin=origin, week_start=week_start,
                            starts=tuple(starts), forecast=mean, lower=lower, upper=upper, actual=actual,
                            agents=np.array([r.agents for r in need]), required=np.array([r.staff for r in need]),
                            rostered=staffing.rostered(starts, line),
                            service_level=np.array([r.service_level for r in need]))

    def publish(self, plan: StaffingPlan) -> PublishedPlan:
        """Publish the week's staffing gap to the rooms (supervisors; evented and audited)."""
        self.ctx.require("workforce.publish", entity=f"workforce:{plan.line}", what="publish workforce plans")
        with self.ctx.single() as tx:
            p = tx.call("api.workforce_publish", line=plan.line, horizon=plan.horizon, week_start=plan.week_start,
                        origin=plan.origin, summary=_summary(plan))
        return _published(p)

    def published(self, *, week_start: date | None = None, limit: int = 20) -> list[PublishedPlan]:
        """Plans published, newest first (for a week, or all recent ones)."""
        with self.ctx.read() as conn:
            rows = conn.execute(text(
                "SELECT id, line, horizon, week_start, origin, published_at, published_by, summary "
                "FROM workforce_plans WHERE CAST(:w AS date) IS NULL OR week_start = :w ORDER BY id DESC LIMIT :n"),
                {"w": week_start, "n": max(1, min(int(limit), 200))}).mappings()
            return [_published(dict(r)) for r in rows]


@dataclass(frozen=True)
class PublishedPlan:
    id: int
    line: str
    horizon: str
    week_start: date
    origin: date
    published_at: datetime
    published_by: str
    staff_hours_required: float
    staff_hours_rostered: float
    intervals_short: int
    worst_gap: int
    forecast_contacts: float


def _published(row: dict[str, Any]) -> PublishedPlan:
    s = row.get("summary") or row
    return PublishedPlan(id=row["id"], line=row["line"], horizon=row["horizon"],
                         week_start=_as_date(row["week_start"]), origin=_as_date(row["origin"]),
                         published_at=row["published_at"] if isinstance(row["published_at"], datetime)
                         else datetime.fromisoformat(row["published_at"]), published_by=row["published_by"],
                         staff_hours_required=float(s["staff_hours_required"]),
                         staff_hours_rostered=float(s["staff_hours_rostered"]),
                         intervals_short=int(s["intervals_short"]), worst_gap=int(s["worst_gap"]),
                         forecast_contacts=float(s["forecast_contacts"]))


def _as_date(v: object) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))


def _summary(plan: StaffingPlan) -> dict[str, Any]:
    return {"staff_hours_required": plan.staff_hours_required, "staff_hours_rostered": plan.staff_hours_rostered,
            "intervals_short": plan.intervals_short, "worst_gap": int(min(plan.gap.min(), 0)),
            "forecast_contacts": round(float(plan.forecast.sum()), 1),
            "required": [int(x) for x in plan.required], "rostered": [int(x) for x in plan.rostered]}


def _real_time(f: fc.IntervalForecast, actual: np.ndarray, starts: list[datetime]) -> np.ndarray:
    """Each interval re-forecast 15 minutes before it from that day's actuals so far."""
    out = f.mean.copy()
    day_start = 0
    for i, s in enumerate(starts):
        if i and fc.local_day(s) != fc.local_day(starts[i - 1]):
            day_start = i
        if i > day_start:
            day_fc = fc.IntervalForecast(f.starts[day_start:], f.mean[day_start:], f.lower[day_start:],
                                         f.upper[day_start:])
            out[i] = fc.real_time_adjust(day_fc, actual[day_start:], now_index=i - day_start, lead=1)[0]
    return out


__all__ = ["WorkforceService", "StaffingPlan", "interval_counts", "daily_history", "forecast_channel",
           "ORIGIN_LEAD_DAYS", "datetime", "timezone"]
