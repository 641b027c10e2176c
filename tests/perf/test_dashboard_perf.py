"""Dashboard refresh with a year of contact history (≥ 2 M contacts): must stay ≤ 200 ms."""
from __future__ import annotations

import time

import psycopg
import pytest

from controlroom.db.engine import make_engine
from controlroom.demo.demand import generate

from .baselines import report

pytestmark = pytest.mark.perf


def test_dashboard_refresh_with_a_year_of_history(open_as, fresh_db_url):
    engine = make_engine(fresh_db_url)
    try:
        t0 = time.perf_counter()
        n = generate(engine, days=365)
        gen_s = time.perf_counter() - t0
    finally:
        engine.dispose()
    print(f"demand_generator_contacts: {n} contacts")
    print(f"demand_generator_time: {gen_s:.1f} s")
    print(f"demand_generator_rate: {n / gen_s:,.0f} contacts/s")
    assert n >= 2_000_000

    s = open_as("super.north", url=fresh_db_url)
    for i in range(40):  # a live queue on top of the history
        s.contacts.receive(["999", "101", "sms", "email"][i % 4], from_=f"0770090{i:04d}",
                           text="he has a knife" if i % 13 == 0 else "noise next door")
    for _ in range(3):
        s.contacts.dashboard()  # warm the cache and pool
    times = []
    for _ in range(60):
        t0 = time.perf_counter()
        d = s.contacts.dashboard()
        times.append(time.perf_counter() - t0)
    out = report("dashboard_refresh", times)
    print(f"dashboard_days_in_trend: {len(d.days)} days")
    with psycopg.connect(fresh_db_url) as conn:
        rows = conn.execute("SELECT count(*) FROM contacts_hourly").fetchone()[0]
    print(f"contacts_hourly_rows: {rows} rows")
    assert len(d.days) >= 364 and sum(d.demand_last_week) > 0
    assert out["p95"] <= 200.0
