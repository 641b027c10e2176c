"""Contact demand forecasting per channel per 15-minute interval (strategy §7.8, §8.2).

The model, and why (the workforce-management way: forecast the day, then shape it):

1. **Daily volume per channel**: statsmodels ARIMA on log(1 + contacts per London day) as a
   regression with AR(1) errors: day-of-week indicators (the weekly cycle), a bank-holiday
   indicator (England and Wales, `holidays`), one pair of annual Fourier terms and a linear trend.
   The weekly cycle of a control room's volume is stable, so six indicators estimate it directly
   (a seasonal ARIMA at s=7 gave the same accuracy here at twenty times the fitting time); the
   holiday term lets a bank holiday run like a quiet Sunday (less switchboard, more 999) — a
   weekly model alone would forecast Good Friday as a busy Friday; the AR(1) error carries the
   short-lived swings of recent days and fades out, so far horizons fall back on the calendar.
   Daily series are a few hundred points: a fit takes well under a second and the model is
   refitted at every forecast origin.
2. **Intraday shape**: the share of the day's contacts in each 15-minute slot of the London day,
   by day type (Mon…Sun, bank holiday), from the last 16 weeks. 15-minute counts of a control room
   are mostly Poisson noise around a stable daily curve; a seasonal model at 96/672 points per
   cycle would spend its parameters modelling that noise (and SARIMA at s=672 is not tractable).
   DST days (92/100 slots) are handled by normalising the shares over the slots the day has.
3. **Real time**: during the day, the rest of today's intervals are scaled by today's actual so
   far over forecast so far (shrunk towards 1 by a prior of `RT_PRIOR` contacts), the usual
   intraday re-forecast.

Band: the daily model's 80 % interval (relative) combined with Poisson variation of the interval.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

LONDON = ZoneInfo("Europe/London")
SLOT = timedelta(minutes=15)
SLOTS_PER_DAY = 96
PROFILE_WEEKS = 16
RT_PRIOR = 60.0
Z80 = 1.2816

# name -> (days ahead covered, label): the four horizons of strategy §7.8
HORIZONS: dict[str, tuple[int, str]] = {
    "long": (456, "Long term (15 months)"),
    "medium": (84, "Medium term (12 weeks)"),
    "short": (28, "Short term (4 weeks)"),
    "real_time": (1, "Real time (intraday)"),
}


def bank_holidays(start: date, end: date) -> set[date]:
    import holidays
    return {d for d in holidays.country_holidays("GB", subdiv="ENG", years=range(start.year, end.year + 2))}


def local_day(ts: datetime) -> date:
    return ts.astimezone(LONDON).date()


def day_type(d: date, hols: set[date]) -> int:
    """1..7 = ISO weekday, 8 = bank holiday."""
    return 8 if d in hols else d.isoweekday()


def slot_of(ts: datetime) -> int:
    t = ts.astimezone(LONDON)
    return (t.hour * 60 + t.minute) // 15


def slots_between(start: datetime, end: datetime) -> list[datetime]:
    """UTC interval starts in [start, end), on the 15-minute grid."""
    n = int((end - start) / SLOT)
    return [start + i * SLOT for i in range(n)]


@dataclass(frozen=True)
class DailyForecast:
    days: tuple[date, ...]
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _exog(days: list[date], hols: set[date], t0: date, *, annual: bool) -> np.ndarray:
    t = np.array([(d - t0).days for d in days], dtype=float)
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    dow = np.array([d.isoweekday() for d in days])
    cols = [(dow == k).astype(float) for k in range(1, 7)]  # Sunday is the base day
    cols.append(np.array([1.0 if d in hols else 0.0 for d in days]))
    if annual:
        cols += [np.sin(2 * np.pi * doy / 365.25), np.cos(2 * np.pi * doy / 365.25)]
    cols.append(t / 365.25)
    return np.column_stack(cols)


def fit_daily(history: pd.Series, ahead: int, hols: set[date]) -> DailyForecast:
    """Forecast `ahead` days after the last day of `history` (index: London dates, values: counts)."""
    from statsmodels.tsa.arima.model import ARIMA
    days = list(history.index)
    t0 = days[0]
    y = np.log1p(history.to_numpy(dtype=float))
    future = [days[-1] + timedelta(days=i) for i in range(1, ahead + 1)]
    # annual terms need most of two years to be told apart from the trend
    annual = len(days) >= 600
    x, xf = _exog(days, hols, t0, annual=annual), _exog(future, hols, t0, annual=annual)
    if not any(d in hols for d in days):  # no holiday seen yet: it cannot be estimated, treat as Sunday
        x[:, 6] = 0.0
        xf[:, :6] = np.where(xf[:, [6]] > 0, 0.0, xf[:, :6])
        xf[:, 6] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short or flat series
        res = ARIMA(y, exog=x, order=(1, 0, 0), trend="c").fit(cov_type="none")  # forecasts only
        fc = res.get_forecast(ahead, exog=xf)
        mean = np.asarray(fc.predicted_mean)
        var = np.asarray(fc.var_pred_mean)
        ci = np.asarray(fc.conf_int(alpha=0.2))
    # E[exp(X)] for a normal X: add half the variance back (a log model's median is low)
    expm = np.expm1(mean + var / 2)
    return DailyForecast(days=tuple(future), mean=np.maximum(expm, 0.0),
                         lower=np.maximum(np.expm1(ci[:, 0]), 0.0), upper=np.maximum(np.expm1(ci[:, 1]), 0.0))


def intraday_profile(counts: pd.Series, hols: set[date]) -> np.ndarray:
    """shares[day_type 1..8, slot 0..95] from 15-minute counts (index: UTC interval starts)."""
    tot = np.zeros((9, SLOTS_PER_DAY))
    for ts, n in counts.items():
        d = local_day(ts)
        tot[day_type(d, hols), slot_of(ts)] += n
    if tot[8].sum() < 0.5 * tot[7].sum() / 7:  # too few bank holidays seen: they run like a Sunday
        tot[8] = tot[7]
    tot[1:] += 0.5  # no slot of the day is impossible
    shares: np.ndarray = tot / tot.sum(axis=1, keepdims=True).clip(min=1e-9)
    return shares


@dataclass(frozen=True)
class IntervalForecast:
    starts: tuple[datetime, ...]
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def shape(daily: DailyForecast, profile: np.ndarray, starts: list[datetime], hols: set[date]) -> IntervalForecast:
    """Spread each day's forecast over its 15-minute intervals."""
    by_day = {d: i for i, d in enumerate(daily.days)}
    days = [local_day(s) for s in starts]
    slots = [slot_of(s) for s in starts]
    share = np.array([profile[day_type(d, hols), k] for d, k in zip(days, slots)])
    # normalise over the slots each day really has (23/25-hour days)
    norm: dict[date, float] = {}
    for d, sh in zip(days, share):
        norm[d] = norm.get(d, 0.0) + sh
    w = share / np.array([norm[d] for d in days])
    idx = np.array([by_day[d] for d in days])
    mean = daily.mean[idx] * w
    rel = (daily.upper[idx] - daily.lower[idx]) / (2 * Z80 * np.maximum(daily.mean[idx], 1e-9))
    sd = np.sqrt((mean * rel) ** 2 + mean)
    return IntervalForecast(starts=tuple(starts), mean=mean, lower=np.maximum(mean - Z80 * sd, 0.0),
                            upper=mean + Z80 * sd)


def forecast_intervals(daily_history: pd.Series, recent_counts: pd.Series, starts: list[datetime]) -> IntervalForecast:
    """15-minute forecast for `starts` (all after the history) from daily totals + recent intervals."""
    if not starts:
        return IntervalForecast((), np.zeros(0), np.zeros(0), np.zeros(0))
    first, last = daily_history.index[0], local_day(starts[-1])
    hols = bank_holidays(first, last)
    ahead = (last - daily_history.index[-1]).days
    daily = fit_daily(daily_history, max(ahead, 1), hols)
    return shape(daily, intraday_profile(recent_counts, hols), starts, hols)


def real_time_adjust(fc: IntervalForecast, actual: np.ndarray, *, now_index: int, lead: int = 4) -> np.ndarray:
    """Re-forecast intervals now_index..now_index+lead-1 of one day from its actuals before now_index."""
    f_sofar, a_sofar = fc.mean[:now_index].sum(), actual[:now_index].sum()
    ratio = (a_sofar + RT_PRIOR) / (f_sofar + RT_PRIOR)
    adjusted: np.ndarray = fc.mean[now_index:now_index + lead] * ratio
    return adjusted


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error over intervals with at least one contact (percent)."""
    a, f = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    m = a > 0
    return float(np.mean(np.abs(a[m] - f[m]) / a[m]) * 100) if m.any() else float("nan")


def daily_totals(counts: pd.Series) -> pd.Series:
    """15-minute (or hourly) counts indexed by UTC time -> totals per London day, gaps as zero."""
    by: dict[date, float] = {}
    for ts, n in counts.items():
        d = local_day(ts)
        by[d] = by.get(d, 0.0) + n
    if not by:
        return pd.Series(dtype=float)
    days = pd.date_range(min(by), max(by), freq="D").date
    return pd.Series([by.get(d, 0.0) for d in days], index=list(days), dtype=float)


def utc(d: date) -> datetime:
    """Midnight London time on day d, as a UTC datetime."""
    return datetime(d.year, d.month, d.day, tzinfo=LONDON).astimezone(timezone.utc)
