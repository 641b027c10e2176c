"""Workforce forecasting (issue 23): Erlang C staffing, the roster, the forecast's weekly and
bank-holiday shape, DST days, and the facade's plan for a week (supervisors only)."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from controlroom.workforce import forecast as fc
from controlroom.workforce import staffing
from controlroom.errors import NotPermitted


def erlang_c_sl(contacts: float, aht: float, target: float, n: int, interval: float = 900) -> float:
    """Textbook Erlang C service level, written out independently of pyworkforce."""
    a = contacts * aht / interval
    if n <= a:
        return 0.0
    top = a ** n / math.factorial(n) * n / (n - a)
    pw = top / (sum(a ** k / math.factorial(k) for k in range(n)) + top)
    return 1 - pw * math.exp(-(n - a) * target / aht)


@pytest.mark.parametrize("contacts", [2, 6, 12, 20, 31])
def test_erlang_c_gives_the_fewest_agents_that_meet_999_service_level(contacts):
    line = staffing.lines()["999"]
    r = staffing.required(contacts, line)
    assert r.service_level >= 0.90 and erlang_c_sl(contacts, 300, 10, r.agents) == pytest.approx(r.service_level)
    fewer = r.agents - 1
    a = contacts * 300 / 900
    assert fewer < line.minimum or erlang_c_sl(contacts, 300, 10, fewer) < 0.90 or a / fewer > line.max_occupancy
    assert r.staff == math.ceil(r.agents / (1 - line.shrinkage))


def test_no_demand_still_needs_the_lines_minimum_staff():
    line = staffing.lines()["999"]
    assert staffing.required(0, line).agents == line.minimum


def test_roster_counts_shifts_running_past_midnight():
    monday = fc.utc(date(2026, 1, 12))
    starts = fc.slots_between(monday, monday + timedelta(days=1))
    heads = staffing.rostered(starts, "999")
    at = {f"{s.astimezone(fc.LONDON):%H:%M}": h for s, h in zip(starts, heads)}
    assert at["03:00"] == 8 and at["07:30"] == 12 and at["08:00"] == 12 + 2 and at["18:00"] == 14 + 5 and at["17:30"] == 2 + 14 + 5
    assert at["00:30"] == 8 + 5 and at["23:00"] == 8 + 5


def _daily(days: int, hol: date | None = None, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    start = date(2024, 1, 1)
    idx = [start + timedelta(days=i) for i in range(days)]
    week = [1.0, 0.95, 0.95, 1.0, 1.15, 1.25, 0.9]
    lam = [1500 * (0.8 if d == hol or d in fc.bank_holidays(start, idx[-1]) else week[d.weekday()]) for d in idx]
    return pd.Series(rng.poisson(lam).astype(float), index=idx)


def test_daily_model_carries_the_weekly_cycle_and_bank_holidays():
    hist = _daily(700)
    hols = fc.bank_holidays(hist.index[0], hist.index[-1] + timedelta(days=60))
    f = fc.fit_daily(hist, 56, hols)
    by = {d: m for d, m in zip(f.days, f.mean)}
    sats = [m for d, m in by.items() if d.weekday() == 5 and d not in hols]
    tues = [m for d, m in by.items() if d.weekday() == 1 and d not in hols]
    assert np.mean(sats) / np.mean(tues) == pytest.approx(1.25 / 0.95, rel=0.05)
    assert all(lo <= m <= hi for lo, m, hi in zip(f.lower, f.mean, f.upper))
    gf = date(2026, 4, 3)  # Good Friday, inside the forecast: runs at 0.8, not a Friday's 1.15
    if gf in by:
        assert by[gf] < 0.85 * np.mean([m for d, m in by.items() if d.weekday() == 4 and d not in hols])


def test_a_23_hour_day_gets_all_of_its_forecast_in_92_intervals():
    day = date(2026, 3, 29)  # clocks go forward
    starts = fc.slots_between(fc.utc(day), fc.utc(day + timedelta(days=1)))
    assert len(starts) == 92
    daily = fc.DailyForecast(days=(day,), mean=np.array([960.0]), lower=np.array([900.0]), upper=np.array([1020.0]))
    prof = np.full((9, 96), 1 / 96)
    out = fc.shape(daily, prof, starts, set())
    assert out.mean.sum() == pytest.approx(960.0) and (out.lower <= out.mean).all() and (out.mean <= out.upper).all()


def test_mape_ignores_empty_intervals():
    assert fc.mape(np.array([10, 0, 20]), np.array([11, 3, 18])) == pytest.approx(10.0)


@pytest.fixture(scope="module")
def history(db_url):
    from controlroom.db.engine import make_engine
    from controlroom.demo.demand import generate
    engine = make_engine(db_url)
    try:
        end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        generate(engine, days=70, end=end, scale=0.25, chunk_days=35)
    finally:
        engine.dispose()
    return end


def test_supervisor_gets_a_week_plan_with_forecast_actual_and_staffing(open_as, history):
    plan = open_as("super.north").workforce.plan(line="999", horizon="short")
    assert len(plan.starts) in (672, 668, 676) and plan.week_start.weekday() == 0
    assert plan.origin == plan.week_start - timedelta(days=14)
    assert not np.isnan(plan.actual).any()  # the last complete week: every interval has happened
    assert plan.mape < 60 and abs(plan.forecast.sum() / plan.actual.sum() - 1) < 0.15
    assert (plan.lower <= plan.forecast + 1e-9).all() and (plan.forecast <= plan.upper + 1e-9).all()
    assert (plan.required >= 5).all() and plan.rostered.max() == 2 + 14 + 5
    assert plan.gap.tolist() == (plan.rostered - plan.required).tolist()
    rt = open_as("inspector.north").workforce.plan(line="999", horizon="real_time", week_start=plan.week_start)
    assert rt.origin == plan.week_start and rt.mape <= plan.mape + 5


@pytest.mark.parametrize("who", ["handler.north", "despatch.north", "auditor"])
def test_only_supervisors_and_up_see_workforce_forecasts(open_as, who):
    with pytest.raises(NotPermitted):
        open_as(who).workforce.plan()


def test_dashboard_draws_band_actual_required_rostered_and_gap(qtbot, open_as, history):
    from ui.kit.context import ConsoleContext
    from ui.kit.event_bridge import EventBridge
    from ui.dashboards.workforce import WorkforceDashboard
    s = open_as("super.south")
    dash = WorkforceDashboard(ConsoleContext(session=s, bridge=EventBridge(s)))
    qtbot.addWidget(dash)
    assert dash.plan is None  # nothing is fitted until the dashboard is looked at
    dash.show()
    qtbot.waitUntil(lambda: dash.plan is not None, timeout=60_000)
    n = len(dash.plan.starts)
    assert len(dash.fc_curve.getData()[1]) == n and len(dash.act_curve.getData()[1]) == n
    assert len(dash.hi.getData()[1]) == n and len(dash.req_curve.getData()[1]) == n
    assert len(dash.gap_bars.opts["height"]) == n
    assert "staff-hours required" in dash.summary.text() and "MAPE" in dash.summary.text()
    dash.line.setCurrentIndex(dash.line.findData("101"))
    dash.refresh()
    qtbot.waitUntil(lambda: dash.plan.line == "101", timeout=60_000)


def test_a_supervisor_publishes_the_plan_evented_and_audited(open_as, history, db_url):
    from .helpers import sql, wait_for
    sup = open_as("super.north")
    watcher = open_as("inspector.south")
    seen = []
    watcher.events.subscribe(lambda ev: seen.append(ev) if ev.kind == "workforce.published" else None)
    plan = sup.workforce.plan(line="101", horizon="short")
    pub = sup.workforce.publish(plan)
    assert pub.published_by == "super.north" and pub.intervals_short == plan.intervals_short
    assert pub.staff_hours_required == plan.staff_hours_required
    assert wait_for(lambda: any(e.entity_id == str(pub.id) for e in seen))
    assert watcher.workforce.published(week_start=plan.week_start)[0].id == pub.id
    rows = sql(db_url, "SELECT username, details->>'line' FROM audit_log WHERE action = 'workforce.published' "
                       "AND entity = %s", (f"workforce:{pub.id}",))
    assert rows == [("super.north", "101")]
    stored = sql(db_url, "SELECT jsonb_array_length(summary->'required') FROM workforce_plans WHERE id = %s", (pub.id,))
    assert stored == [(len(plan.starts),)]


def test_real_time_reforecast_follows_a_busier_day_than_forecast():
    from tools.forecast_backtest import RT_LEADS, _real_time
    day = date(2026, 1, 14)
    starts = fc.slots_between(fc.utc(day), fc.utc(day + timedelta(days=1)))
    base = np.full(len(starts), 20.0)
    actual, fcast = _real_time(starts, base * 1.5, base)  # the day runs 50 % above the forecast
    assert len(actual) == RT_LEADS * len(starts)
    late = fcast[len(starts) - 10:len(starts)]  # lead 1, end of the day: nearly 1.5 x base
    assert (late > 28).all() and fcast[0] == 20.0  # nothing known before the first interval
    assert fc.mape(actual, fcast) < fc.mape(actual, np.tile(base, RT_LEADS))
