"""Demand history generator: fills `contacts` with realistic past contacts for dashboards/forecasting.

    python -m controlroom.demo.demand --days 365 [--database-url URL] [--scale 1.0]

Everything is generated inside PostgreSQL (generate_series + random(), one INSERT … SELECT per
month), so a year (≈ 2.2 M contacts) loads in about a minute. Pattern: a daily curve (quiet before
dawn, peak late afternoon/evening), a weekly one (Friday/Saturday busiest), a mild summer peak and
+5 %/year growth on 999, and bank holidays (England and Wales, from `holidays`) run like a
Sunday with more 999 and far fewer switchboard/direct-dial calls. The rollup trigger is switched off for the load (controlroom.bulk_load) and
`contacts_hourly` is rebuilt per chunk with one GROUP BY instead.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Connection, Engine, text

from ..kernel import config
from ..db.engine import make_engine

# Contacts per day at the end of the period (about 6,000/day: the size of a large force's demand).
DAILY = {"999": 1500, "999-text": 8, "101": 1700, "switchboard": 600, "direct": 300, "alarm": 150,
         "fire": 40, "ambulance": 120, "internal": 100, "online": 700, "sms": 90, "email": 350,
         "webchat": 300, "fax": 2}
TREND = {"999": 0.05, "999-text": 0.05}          # growth per year
# Mean seconds to answer (phone) at average load, and share abandoned.
ANSWER_MEAN_S = {"999": 4.0, "999-text": 20.0, "switchboard": 12.0, "101": 16.0, "direct": 15.0,
                 "alarm": 14.0, "fire": 8.0, "ambulance": 8.0, "internal": 18.0}
ABANDON = {"999": 0.01, "101": 0.07, "switchboard": 0.04}
# Relative demand by hour of day (London time, 0..23) and ISO weekday (Mon=1..Sun=7).
HOURLY = [3.2, 2.6, 2.1, 1.7, 1.4, 1.3, 1.6, 2.4, 3.4, 4.2, 4.6, 4.8, 5.0, 5.1, 5.2, 5.4, 5.6, 5.7,
          5.6, 5.3, 5.0, 4.7, 4.3, 3.8]
WEEKDAY = [0.97, 0.95, 0.96, 0.99, 1.08, 1.10, 0.95]
# On a bank holiday the day runs like a Sunday, times this per channel (default 1.0).
HOLIDAY = {"999": 1.15, "999-text": 1.15, "101": 0.9, "switchboard": 0.55, "direct": 0.45, "internal": 0.6,
           "email": 0.75, "alarm": 1.1}


def bank_holidays(start: datetime, end: datetime) -> list[date]:
    """England and Wales bank holidays between the two times (the force's calendar)."""
    import holidays
    return sorted(d for d in holidays.country_holidays("GB", subdiv="ENG", years=range(start.year, end.year + 1))
                  if start.date() <= d <= end.date())

GENERATE_SQL = """
WITH ch AS (
  SELECT * FROM unnest(CAST(:chs AS text[]), CAST(:per_day AS float8[]), CAST(:trend AS float8[]),
                       CAST(:prio AS int[]), CAST(:kind AS text[]), CAST(:ans AS float8[]),
                       CAST(:aband AS float8[]), CAST(:hol_factor AS float8[]))
    AS ch(channel, per_day, trend, prio, kind, ans_mean, aband, hol_factor)),
cells AS (
  SELECT h, ch.*, load,
         ch.per_day / 24.0 * load
           * CASE WHEN (h AT TIME ZONE 'Europe/London')::date = ANY(CAST(:hol AS date[]))
                  THEN (CAST(:wk AS float8[]))[7] * ch.hol_factor
                  ELSE (CAST(:wk AS float8[]))[extract(isodow FROM h AT TIME ZONE 'Europe/London')::int] END
           * (1 + 0.06 * cos(2 * pi() * (extract(doy FROM h) - 196) / 365.0))
           * power(1 + ch.trend, extract(epoch FROM h - CAST(:end AS timestamptz)) / 31557600.0) * :scale AS lam
  FROM generate_series(CAST(:a AS timestamptz), CAST(:b AS timestamptz) - interval '1 hour', interval '1 hour') h
  CROSS JOIN LATERAL (SELECT (CAST(:prof AS float8[]))[extract(hour FROM h AT TIME ZONE 'Europe/London')::int + 1]
                             AS load) l
  CROSS JOIN ch),
counts AS (
  SELECT *, greatest(0, round(lam + sqrt(lam) * random_normal()))::int AS n FROM cells),
draws AS (
  SELECT c.channel, c.prio, c.kind, c.ans_mean * c.load AS mean_s, c.aband,
         c.h + random() * interval '1 hour' AS received_at,
         random() AS r_abandon, -ln(1 - random()) AS e1, -ln(1 - random()) AS e2, random() AS r_cb,
         floor(random() * 400000)::int AS who
  FROM counts c CROSS JOIN LATERAL generate_series(1, c.n)),
shaped AS (
  SELECT d.*, d.kind <> 'digital' AND d.r_abandon < d.aband AS gone,
         CASE WHEN d.kind = 'digital' THEN 'user' || d.who || '@example.org'
              ELSE '07' || lpad(d.who::text, 9, '0') END AS sender
  FROM draws d)
INSERT INTO contacts (channel, base_priority, priority, state, from_addr, from_key, received_at,
                      queue_time, taken_at, taken_by, answered_at, abandoned_at, assessed_at,
                      callback_count, resolved_at, resolution)
SELECT channel, prio, prio,
       CASE WHEN gone AND r_cb >= 0.4 THEN 'abandoned' ELSE 'resolved' END,
       sender, sender, received_at, received_at,
       CASE WHEN NOT gone OR r_cb < 0.4 THEN received_at END,
       CASE WHEN NOT gone OR r_cb < 0.4 THEN 'history' END,
       CASE WHEN kind = 'digital' THEN NULL
            WHEN NOT gone THEN received_at + make_interval(secs => e1 * mean_s)
            WHEN r_cb < 0.4 THEN received_at + make_interval(secs => 300 + e2 * 1200) END,
       CASE WHEN gone THEN received_at + make_interval(secs => 5 + e1 * mean_s * 3) END,
       CASE WHEN kind = 'digital' THEN received_at + make_interval(secs => e1 * 5400) END,
       CASE WHEN gone AND r_cb < 0.4 THEN 1 ELSE 0 END,
       CASE WHEN kind = 'digital' THEN received_at + make_interval(secs => e1 * 5400 + e2 * 21600)
            WHEN NOT gone THEN received_at + make_interval(secs => e1 * mean_s + 120 + e2 * 300)
            WHEN r_cb < 0.4 THEN received_at + make_interval(secs => 600 + e2 * 1500) END,
       CASE WHEN NOT gone OR r_cb < 0.4 THEN 'generated history' END
FROM shaped
"""

ROLLUP_SQL = """
INSERT INTO contacts_hourly (hour, channel, received, answered, answer_wait_s, abandoned, callbacks,
                             assessed, resolved, to_incident, flagged)
SELECT date_trunc('hour', received_at), channel, count(*), count(answered_at),
       coalesce(sum(extract(epoch FROM answered_at - received_at)), 0), count(abandoned_at),
       sum(callback_count), count(assessed_at), count(*) FILTER (WHERE state = 'resolved'),
       count(*) FILTER (WHERE state = 'to_incident'),
       count(*) FILTER (WHERE flagged_emergency OR review_outcome IS NOT NULL)
FROM contacts WHERE received_at >= CAST(:a AS timestamptz) AND received_at < CAST(:b AS timestamptz)
GROUP BY 1, 2
"""


def _params(scale: float) -> dict[str, object]:
    chans = config.channels()
    codes = list(DAILY)
    return {"chs": codes, "per_day": [float(DAILY[c]) for c in codes],
            "trend": [TREND.get(c, 0.0) for c in codes], "prio": [int(chans[c]["priority"]) for c in codes],
            "kind": [str(chans[c]["kind"]) for c in codes],
            "ans": [ANSWER_MEAN_S.get(c, 15.0) for c in codes], "aband": [ABANDON.get(c, 0.03) for c in codes],
            "hol_factor": [HOLIDAY.get(c, 1.0) for c in codes],
            "prof": [x / (sum(HOURLY) / 24) for x in HOURLY], "wk": WEEKDAY, "scale": scale}


def rebuild_rollup(conn: Connection, start: datetime, end: datetime) -> None:
    """Recompute contacts_hourly for whole hours in [start, end) from the contact records."""
    conn.execute(text("DELETE FROM contacts_hourly WHERE hour >= :a AND hour < :b"), {"a": start, "b": end})
    conn.execute(text(ROLLUP_SQL), {"a": start, "b": end})


def generate(engine: Engine, *, days: int, end: datetime | None = None, scale: float = 1.0,
             seed: float = 0.42, chunk_days: int = 30, progress: bool = False) -> int:
    """Insert `days` of history ending at `end` (default: the current hour); returns rows inserted."""
    end = (end or datetime.now(timezone.utc)).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    params = {**_params(scale), "hol": bank_holidays(start, end)}
    total = 0
    a = start
    while a < end:
        b = min(a + timedelta(days=chunk_days), end)
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(text("SELECT set_config('controlroom.bulk_load', 'on', true)"))
            conn.execute(text("SELECT setseed(:s)"), {"s": (seed + a.timestamp() / 1e10) % 1})
            n = conn.execute(text(GENERATE_SQL), {**params, "a": a, "b": b, "end": end}).rowcount
            rebuild_rollup(conn, a, b)
        total += n
        if progress:
            print(f"  {a:%Y-%m-%d} … {b:%Y-%m-%d}: {n:,} contacts in {time.perf_counter() - t0:.1f} s",
                  flush=True)
        a = b
    with engine.begin() as conn:
        conn.execute(text("ANALYZE contacts"))
        conn.execute(text("ANALYZE contacts_hourly"))
        conn.execute(text("SELECT cr_audit('demand-generator', NULL, NULL, NULL, 'demand.generated', "
                          "NULL, 'ok', CAST(:d AS jsonb))"),
                     {"d": f'{{"days": {days}, "contacts": {total}, "end": "{end.isoformat()}"}}'})
    return total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m controlroom.demo.demand", description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--scale", type=float, default=1.0, help="multiply every channel's volume")
    p.add_argument("--database-url", default=os.environ.get("CONTROLROOM_DATABASE_URL"))
    args = p.parse_args(argv)
    if not args.database_url:
        p.error("--database-url (or CONTROLROOM_DATABASE_URL) is required")
    if not 1 <= args.days <= 3660:
        p.error("--days must be between 1 and 3660")
    engine = make_engine(args.database_url)
    try:
        t0 = time.perf_counter()
        n = generate(engine, days=args.days, scale=args.scale, progress=True)
        print(f"demand history: {n:,} contacts over {args.days} days in {time.perf_counter() - t0:.1f} s")
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())


def expected_per_hour(channel: str, hours: "list[datetime]", *, end: datetime, scale: float = 1.0) -> "list[float]":
    """The generator's true mean contacts per hour (what GENERATE_SQL draws around): the floor
    any forecast of this history can reach is the noise around these."""
    import math
    from zoneinfo import ZoneInfo
    london = ZoneInfo("Europe/London")
    prof = [x / (sum(HOURLY) / 24) for x in HOURLY]
    end = end.replace(minute=0, second=0, microsecond=0)
    hols = set(bank_holidays(min(hours) - timedelta(days=1), max(hours) + timedelta(days=1))) if hours else set()
    out = []
    for h in hours:
        loc = h.astimezone(london)
        wk = WEEKDAY[6] * HOLIDAY.get(channel, 1.0) if loc.date() in hols else WEEKDAY[loc.isoweekday() - 1]
        doy = h.astimezone(timezone.utc).timetuple().tm_yday
        lam = (DAILY[channel] / 24.0 * prof[loc.hour] * wk * (1 + 0.06 * math.cos(2 * math.pi * (doy - 196) / 365.0))
               * (1 + TREND.get(channel, 0.0)) ** ((h - end).total_seconds() / 31557600.0) * scale)
        out.append(lam)
    return out
