"""Backtest of the demand forecast on held-out generated history: MAPE per horizon per line at
15-minute intervals (and per day), beside the noise floor (the generator's own true intensity
scored the same way: no forecast of this history can do better on average).

    python -m tools.forecast_backtest --database-url URL   (after python -m controlroom.demo.demand --days 1200)
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import Connection

from controlroom.demo import demand
from controlroom.workforce import forecast as fc
from controlroom.workforce import staffing
from controlroom.services.workforce import forecast_channel, interval_counts

# horizon -> (window days, origins back from the end of history, step between origins in days)
WINDOWS = {"long": (456, 1, 0), "medium": (84, 3, 28), "short": (28, 4, 28), "real_time": (28, 1, 0)}
RT_LEADS = 4  # real time: each interval forecast 15, 30, 45 and 60 minutes ahead


@dataclass(frozen=True)
class BacktestResult:
    line: str
    horizon: str
    origins: tuple[date, ...]
    intervals: int
    mape_15min: float
    mape_daily: float
    floor_15min: float
    fit_s: float


def _oracle(channels: tuple[str, ...], starts: list[datetime], gen_end: datetime, scale: float) -> np.ndarray:
    hours = sorted({s.replace(minute=0) for s in starts})
    lam = np.zeros(len(hours))
    for ch in channels:
        lam += np.array(demand.expected_per_hour(ch, hours, end=gen_end, scale=scale))
    per = dict(zip(hours, lam / 4))
    return np.array([per[s.replace(minute=0)] for s in starts])


def _daily_mape(starts: list[datetime], actual: np.ndarray, forecast: np.ndarray) -> float:
    days = np.array([fc.local_day(s).toordinal() for s in starts])
    keys = np.unique(days)
    a = np.array([actual[days == k].sum() for k in keys])
    f = np.array([forecast[days == k].sum() for k in keys])
    return fc.mape(a, f)


def _real_time(starts: list[datetime], actual: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forecasts at leads 1..RT_LEADS from each day's actuals so far; returns (actual, forecast) pooled."""
    days = [fc.local_day(s) for s in starts]
    acts, fcs = [], []
    i0 = 0
    for i in range(1, len(starts) + 1):
        if i == len(starts) or days[i] != days[i0]:
            a, f = actual[i0:i], base[i0:i]
            ca, cf = np.concatenate([[0], np.cumsum(a)]), np.concatenate([[0], np.cumsum(f)])
            ratio = (ca + fc.RT_PRIOR) / (cf + fc.RT_PRIOR)  # ratio[j]: known before interval j
            for lead in range(1, RT_LEADS + 1):
                j = np.maximum(np.arange(len(a)) - lead + 1, 0)
                acts.append(a)
                fcs.append(f * ratio[j])
            i0 = i
    return np.concatenate(acts), np.concatenate(fcs)


def backtest(conn: Connection, *, end: date, gen_end: datetime, lines: tuple[str, ...] = ("999", "101"),
             horizons: tuple[str, ...] = tuple(WINDOWS), scale: float = 1.0) -> list[BacktestResult]:
    spec = staffing.lines()
    out = []
    for line in lines:
        chs = spec[line].channels
        for hz in horizons:
            days, n_orig, step = WINDOWS[hz]
            acts, fcs, floors, origins, dailies = [], [], [], [], []
            t0 = time.perf_counter()
            for k in range(n_orig):
                origin = end - timedelta(days=days + k * step)
                starts = fc.slots_between(fc.utc(origin), fc.utc(origin + timedelta(days=days)))
                seen = interval_counts(conn, chs, starts[0], starts[-1] + fc.SLOT)
                actual = sum(seen[c].to_numpy() for c in chs)
                base = sum(forecast_channel(conn, c, origin, starts).mean for c in chs)
                floor = _oracle(chs, starts, gen_end, scale)
                if hz == "real_time":  # scored at every lead 15..60 minutes, pooled
                    actual_rt, base_rt = _real_time(starts, actual, base)
                    acts.append(actual_rt)
                    fcs.append(base_rt)
                    floors.append(np.tile(floor, RT_LEADS))
                else:
                    acts.append(actual)
                    fcs.append(base)
                    floors.append(floor)
                dailies.append(_daily_mape(starts, actual, base))  # day totals before any intraday update
                origins.append(origin)
            a, f, fl = np.concatenate(acts), np.concatenate(fcs), np.concatenate(floors)
            out.append(BacktestResult(line=line, horizon=hz, origins=tuple(origins), intervals=len(a),
                                      mape_15min=fc.mape(a, f), mape_daily=float(np.mean(dailies)), floor_15min=fc.mape(a, fl),
                                      fit_s=time.perf_counter() - t0))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.forecast_backtest", description=__doc__.splitlines()[0])
    p.add_argument("--database-url", default=os.environ.get("CONTROLROOM_DATABASE_URL"))
    p.add_argument("--lines", default="999,101")
    args = p.parse_args(argv)
    from sqlalchemy import text
    from controlroom.db.engine import make_engine
    engine = make_engine(args.database_url)
    try:
        with engine.connect() as conn:
            hi = conn.execute(text("SELECT max(hour) + interval '1 hour' FROM contacts_hourly")).scalar_one()
            for r in backtest(conn, end=fc.local_day(hi), gen_end=hi, lines=tuple(args.lines.split(","))):
                print(f"forecast_mape_{r.line}_{r.horizon}_15min: {r.mape_15min:.1f} %  "
                      f"(floor {r.floor_15min:.1f} %, daily {r.mape_daily:.1f} %, {r.intervals} intervals, "
                      f"{r.fit_s:.1f} s)")
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
