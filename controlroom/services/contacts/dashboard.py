"""Service levels and dashboard figures, computed in SQL (FILTER aggregates + the hourly rollup).

Nothing here loops over contacts in Python: live figures read the queue's partial index and the
recent range of `received_at`; history reads `contacts_hourly` (one row per hour and channel).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from ...kernel import config

LONDON = ZoneInfo("Europe/London")

SL_SQL = text("""
WITH t AS (SELECT * FROM unnest(CAST(:ch AS text[]), CAST(:ans AS int[]), CAST(:ass AS int[]),
                                CAST(:res AS int[])) AS t(channel, answer_s, assess_s, resolve_s)),
     a AS (SELECT coalesce(CAST(:until AS timestamptz), now()) AS at)
SELECT t.channel, count(c.id) AS received,
  count(c.id) FILTER (WHERE c.answered_at <= a.at OR c.abandoned_at <= a.at
                        OR a.at - c.received_at > make_interval(secs => t.answer_s)) AS ans_offered,
  count(c.id) FILTER (WHERE c.answered_at <= a.at
                        AND c.answered_at - c.received_at <= make_interval(secs => t.answer_s)) AS ans_met,
  count(c.id) FILTER (WHERE c.assessed_at <= a.at
                        OR a.at - c.received_at > make_interval(secs => t.assess_s)) AS ass_offered,
  count(c.id) FILTER (WHERE c.assessed_at <= a.at
                        AND c.assessed_at - c.received_at <= make_interval(secs => t.assess_s)) AS ass_met,
  count(c.id) FILTER (WHERE c.resolved_at <= a.at
                        OR a.at - c.received_at > make_interval(secs => t.resolve_s)) AS res_offered,
  count(c.id) FILTER (WHERE c.resolved_at <= a.at
                        AND c.resolved_at - c.received_at <= make_interval(secs => t.resolve_s)) AS res_met
FROM t CROSS JOIN a
LEFT JOIN contacts c ON c.channel = t.channel AND c.received_at >= CAST(:since AS timestamptz)
                    AND c.received_at < a.at
GROUP BY t.channel
""")

QUEUE_SQL = text("""
SELECT priority, count(*) AS waiting, count(*) FILTER (WHERE state = 'callback') AS callbacks,
       extract(epoch FROM CAST(:now AS timestamptz) - min(queue_time)) AS longest_s
FROM contacts WHERE state IN ('queued', 'callback') GROUP BY priority ORDER BY priority
""")

COUNTS_SQL = text("""
SELECT (SELECT count(*) FROM contacts WHERE needs_review) AS needs_review,
       (SELECT count(*) FROM contacts WHERE state IN ('taken', 'answered', 'assessed')) AS held,
       (SELECT count(*) FILTER (WHERE arrived_at IS NOT NULL AND arrived_at <= deadline_at)
          FROM incidents WHERE grade = 'G1' AND created_at >= CAST(:shift AS timestamptz)) AS g1_met,
       (SELECT count(*) FILTER (WHERE arrived_at IS NOT NULL OR CAST(:now AS timestamptz) > deadline_at)
          FROM incidents WHERE grade = 'G1' AND created_at >= CAST(:shift AS timestamptz)) AS g1_due
""")

HOURLY_SQL = text("""
SELECT hour, sum(received) AS received, sum(abandoned) AS abandoned, sum(callbacks) AS callbacks,
       sum(answered) AS answered, sum(answer_wait_s) AS wait_s
FROM contacts_hourly
WHERE hour BETWEEN CAST(:h0 AS timestamptz) AND CAST(:h1 AS timestamptz)
   OR hour BETWEEN CAST(:h0 AS timestamptz) - interval '7 days' AND CAST(:h1 AS timestamptz) - interval '7 days'
GROUP BY hour
""")

DAILY_SQL = text("""
SELECT (hour AT TIME ZONE 'Europe/London')::date AS day, sum(received) AS received
FROM contacts_hourly
WHERE channel IN ('999', '999-text') AND hour >= CAST(:since AS timestamptz)
GROUP BY 1 ORDER BY 1
""")

GRADES_SQL = text("SELECT coalesce(grade, '-') AS grade, count(*) AS n FROM incidents "
                  "WHERE status <> 'closed' GROUP BY 1 ORDER BY 1")
UNITS_SQL = text("""
SELECT coalesce(area_code, home_area_code) AS area,
       count(*) FILTER (WHERE status IN ('available', 'at_station')) AS available,
       count(*) FILTER (WHERE status <> 'off_duty') AS on_duty
FROM units GROUP BY 1 ORDER BY 1
""")


@dataclass(frozen=True)
class ServiceLevelView:
    channel: str
    measure: str            # answered | assessed | resolved
    threshold_s: int
    target_pct: float
    offered: int            # contacts whose outcome is known, or whose time is already up
    met: int
    received: int

    @property
    def pct(self) -> Optional[float]:
        return None if self.offered == 0 else round(100.0 * self.met / self.offered, 1)

    @property
    def meets_target(self) -> Optional[bool]:
        return None if self.pct is None else self.pct >= self.target_pct


@dataclass(frozen=True)
class QueueRow:
    priority: int
    waiting: int
    callbacks: int
    longest_wait_s: float


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    shift_start: datetime
    queue: tuple[QueueRow, ...]
    needs_review: int
    held: int
    sl_hour: tuple[ServiceLevelView, ...]
    sl_shift: tuple[ServiceLevelView, ...]
    hours: tuple[datetime, ...]             # the last 24 hours (start of each hour)
    demand: tuple[int, ...]
    demand_last_week: tuple[int, ...]       # the same hours seven days earlier
    abandoned: tuple[int, ...]
    callbacks: tuple[int, ...]
    avg_answer_s: tuple[float, ...]
    days: tuple[date, ...]                  # 999 demand per day over the last year (trend)
    daily_999: tuple[int, ...]
    incidents_by_grade: dict[str, int]
    units_by_area: tuple[tuple[str, int, int], ...]   # (area, available, on duty)
    g1_met: int
    g1_due: int

    def queue_total(self) -> int:
        return sum(q.waiting for q in self.queue)

    def longest_wait_s(self) -> float:
        return max((q.longest_wait_s for q in self.queue), default=0.0)

    def sl(self, channel: str, measure: str = "answered", *, shift: bool = False) -> Optional[ServiceLevelView]:
        for s in self.sl_shift if shift else self.sl_hour:
            if s.channel == channel and s.measure == measure:
                return s
        return None


def _targets() -> dict[str, dict[str, Any]]:
    targets: dict[str, dict[str, Any]] = config.load_resource("contact_policy")["service_levels"]
    return targets


def service_levels(conn: Connection, *, since: datetime, until: datetime | None = None) -> list[ServiceLevelView]:
    """Per channel and measure: share of contacts answered/assessed/resolved within the target time."""
    t = _targets()
    chans = list(t)
    rows = conn.execute(SL_SQL, {
        "ch": chans, "ans": [t[c].get("answer_s") for c in chans], "ass": [t[c].get("assess_s") for c in chans],
        "res": [t[c].get("resolve_s") for c in chans], "since": since, "until": until}).mappings().all()
    out: list[ServiceLevelView] = []
    by_channel = {r["channel"]: r for r in rows}
    for c in chans:
        r, pol = by_channel[c], t[c]
        for measure, key, prefix in (("answered", "answer_s", "ans"), ("assessed", "assess_s", "ass"),
                                     ("resolved", "resolve_s", "res")):
            if pol.get(key) is not None:
                out.append(ServiceLevelView(channel=c, measure=measure, threshold_s=int(pol[key]),
                                            target_pct=float(pol.get("target_pct", 90)),
                                            offered=int(r[f"{prefix}_offered"]), met=int(r[f"{prefix}_met"]),
                                            received=int(r["received"])))
    return out


def shift_start(now: datetime) -> datetime:
    """Start of the current shift (resources/contact_policy.yaml shift_starts, London time)."""
    starts = sorted(int(h) for h in config.load_resource("contact_policy").get("shift_starts", [7, 17]))
    local = now.astimezone(LONDON)
    candidates = [local.replace(hour=h, minute=0, second=0, microsecond=0) for h in starts]
    candidates += [c - timedelta(days=1) for c in candidates]
    return max(c for c in candidates if c <= local)


def snapshot(conn: Connection, *, now: datetime | None = None) -> Dashboard:
    """Every dashboard figure in a handful of indexed queries on one connection."""
    if now is None:
        now = conn.execute(text("SELECT now()")).scalar_one()
    shift = shift_start(now)
    queue = tuple(QueueRow(int(r.priority), int(r.waiting), int(r.callbacks), max(0.0, float(r.longest_s)))
                  for r in conn.execute(QUEUE_SQL, {"now": now}))
    counts = conn.execute(COUNTS_SQL, {"now": now, "shift": shift}).mappings().one()
    h1 = now.replace(minute=0, second=0, microsecond=0)
    hours = tuple(h1 - timedelta(hours=23 - i) for i in range(24))
    hourly = {r.hour: r for r in conn.execute(HOURLY_SQL, {"h0": hours[0], "h1": h1})}

    def series(field: str, shift_days: int = 0) -> tuple[Any, ...]:
        out = []
        for h in hours:
            r = hourly.get(h - timedelta(days=shift_days))
            out.append(0 if r is None else (getattr(r, field) or 0))
        return tuple(out)

    answered, wait = series("answered"), series("wait_s")
    daily = conn.execute(DAILY_SQL, {"since": now - timedelta(days=365)}).all()
    return Dashboard(
        now=now, shift_start=shift, queue=queue, needs_review=int(counts["needs_review"]),
        held=int(counts["held"]),
        sl_hour=tuple(service_levels(conn, since=now - timedelta(hours=1), until=now)),
        sl_shift=tuple(service_levels(conn, since=shift, until=now)),
        hours=hours, demand=tuple(int(x) for x in series("received")),
        demand_last_week=tuple(int(x) for x in series("received", 7)),
        abandoned=tuple(int(x) for x in series("abandoned")),
        callbacks=tuple(int(x) for x in series("callbacks")),
        avg_answer_s=tuple(float(w) / a if a else 0.0 for a, w in zip(answered, wait)),
        days=tuple(r.day for r in daily), daily_999=tuple(int(r.received) for r in daily),
        incidents_by_grade={r.grade: int(r.n) for r in conn.execute(GRADES_SQL)},
        units_by_area=tuple((r.area, int(r.available), int(r.on_duty)) for r in conn.execute(UNITS_SQL)),
        g1_met=int(counts["g1_met"]), g1_due=int(counts["g1_due"]))
