"""Workforce forecasting backtest (issue 23): 3¼ years of generated contact history (≈ 2.2 M a
year), the forecast scored on held-out history per horizon (MAPE at 15-minute intervals, beside
the noise floor: the generator's true intensity scored the same way), and Erlang C staffing for
one generated week per line against the demo roster. Figures are printed, not asserted on speed."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import numpy as np
import psycopg
import pytest

from controlroom.workforce import forecast as fc
from controlroom.db.engine import make_engine
from controlroom.demo.demand import generate
from tools.forecast_backtest import backtest

pytestmark = pytest.mark.perf

END = datetime(2026, 11, 30, tzinfo=timezone.utc)  # a Monday midnight (London = UTC in winter)


def test_forecast_backtest_mape_per_horizon_and_erlang_c_week(open_as, fresh_db_url):
    engine = make_engine(fresh_db_url)
    try:
        t0 = time.perf_counter()
        n = generate(engine, days=1190, end=END)
        print(f"demand_history_contacts: {n} contacts")
        print(f"demand_history_contacts_per_year: {n / 1190 * 365:,.0f} contacts")
        print(f"demand_history_generate_time: {time.perf_counter() - t0:.1f} s")
        with engine.connect() as conn:
            results = backtest(conn, end=fc.local_day(END), gen_end=END, lines=("999", "101", "digital"))
    finally:
        engine.dispose()
    for r in results:
        print(f"forecast_mape_{r.line}_{r.horizon}_15min: {r.mape_15min:.1f} %")
        print(f"forecast_noise_floor_{r.line}_{r.horizon}_15min: {r.floor_15min:.1f} %")
        print(f"forecast_mape_{r.line}_{r.horizon}_daily: {r.mape_daily:.1f} %")
        print(f"forecast_backtest_{r.line}_{r.horizon}_time: {r.fit_s:.1f} s ({len(r.origins)} origins, "
              f"{r.intervals} intervals)")
        assert r.mape_15min < r.floor_15min + 10  # within reach of the noise floor

    s = open_as("super.north", url=fresh_db_url)
    for line in ("999", "emergency_services", "101", "switchboard", "digital"):
        t0 = time.perf_counter()
        plan = s.workforce.plan(line=line, horizon="short")
        took = time.perf_counter() - t0
        print(f"erlang_c_{line}_week: {plan.week_start:%Y-%m-%d} .. +7 d, forecast {plan.forecast.sum():,.0f} "
              f"contacts (actual {np.nansum(plan.actual):,.0f}), MAPE {plan.mape:.1f} %")
        print(f"erlang_c_{line}_agents_peak: {plan.agents.max()} agents")
        print(f"erlang_c_{line}_agents_trough: {plan.agents.min()} agents")
        print(f"erlang_c_{line}_staff_hours_required: {plan.staff_hours_required:,.0f} h")
        print(f"erlang_c_{line}_staff_hours_rostered: {plan.staff_hours_rostered:,.0f} h")
        print(f"erlang_c_{line}_intervals_short: {plan.intervals_short} of {len(plan.gap)} intervals "
              f"(worst {int(min(plan.gap.min(), 0))} heads)")
        print(f"workforce_plan_{line}_time: {took:.2f} s")
        if line == "999":
            by_day: dict[str, list[int]] = {}
            for st, a, req, ros in zip(plan.starts, plan.agents, plan.required, plan.rostered):
                by_day.setdefault(f"{st.astimezone(fc.LONDON):%a}", []).append((a, req, ros))
            for day, v in by_day.items():
                arr = np.array(v)
                print(f"erlang_c_999_{day}: agents {arr[:, 0].min()}-{arr[:, 0].max()}, heads required "
                      f"{arr[:, 1].min()}-{arr[:, 1].max()}, rostered {arr[:, 2].min()}-{arr[:, 2].max()}, "
                      f"short in {(arr[:, 2] < arr[:, 1]).sum()} intervals")
    # raw PostgreSQL baseline beside the plan: the week's 15-minute counts straight from SQL
    with psycopg.connect(fresh_db_url) as conn:
        t0 = time.perf_counter()
        conn.execute("SELECT date_bin('15 minutes', received_at, TIMESTAMPTZ '2000-01-03'), count(*) FROM contacts "
                     "WHERE channel IN ('999', '999-text') AND received_at >= %s::timestamptz - interval '7 days' "
                     "AND received_at < %s GROUP BY 1", (END, END)).fetchall()
        print(f"raw_sql_week_15min_counts_999: {(time.perf_counter() - t0) * 1000:.1f} ms")
