"""Answer banding: 999 answer times in the national bands and 101 abandonment, per hour/day/month.

Computed in SQL straight from `contacts` (the hourly rollup keeps only a sum of waits, not the
bands), on the (channel, received_at) index from migration 0014. Periods are local (Europe/London)
hours, days and months. Definitions (documented for inspection):
- answer time = answered_at - received_at; bands: < 10 s, 10 s to < 60 s, >= 60 s; the standard is
  90 % of answered 999 calls within 10 s.
- abandonment = abandoned 101 calls / 101 calls offered (received) in the period; standard <= 5 %.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import text

from ...kernel import config
from ...kernel.errors import InvalidInput
from ..base import ServiceContext

PERIODS = ("hour", "day", "month")

BANDS_SQL = """
SELECT date_trunc(:period, received_at AT TIME ZONE 'Europe/London') AT TIME ZONE 'Europe/London' AS period_start,
       count(*) AS offered,
       count(answered_at) AS answered,
       count(*) FILTER (WHERE answered_at - received_at < make_interval(secs => :b1)) AS under_10,
       count(*) FILTER (WHERE answered_at - received_at >= make_interval(secs => :b1)
                          AND answered_at - received_at < make_interval(secs => :b2)) AS from_10_to_60,
       count(*) FILTER (WHERE answered_at - received_at >= make_interval(secs => :b2)) AS over_60,
       count(abandoned_at) AS abandoned
FROM contacts
WHERE channel = ANY(CAST(:channels AS text[])) AND received_at >= :since AND received_at < :until
GROUP BY 1 ORDER BY 1
"""


@dataclass(frozen=True)
class BandRow:
    """One period of one measure ('answer' for 999, 'abandon' for 101)."""

    measure: str
    period_start: datetime
    offered: int
    answered: int
    under_10: int
    from_10_to_60: int
    over_60: int
    abandoned: int
    standard_pct: float

    @property
    def pct_under_10(self) -> Optional[float]:
        return None if not self.answered else 100.0 * self.under_10 / self.answered

    @property
    def abandon_pct(self) -> Optional[float]:
        return None if not self.offered else 100.0 * self.abandoned / self.offered

    @property
    def meets_standard(self) -> Optional[bool]:
        if self.measure == "answer":
            return None if self.pct_under_10 is None else self.pct_under_10 >= self.standard_pct
        return None if self.abandon_pct is None else self.abandon_pct <= self.standard_pct


def policy() -> dict[str, Any]:
    banding: dict[str, Any] = config.load_resource("standards")["banding"]
    return banding


def _check(period: Any, since: Any, until: Any) -> str:
    if period not in PERIODS:
        raise InvalidInput(f"Period '{period}' is not valid: use hour, day or month.", field="period")
    for name, v in (("since", since), ("until", until)):
        if not isinstance(v, datetime) or v.tzinfo is None:
            raise InvalidInput("Times must be timezone-aware date-times.", field=name)
    if until <= since:
        raise InvalidInput("The end of the range must be after its start.", field="until")
    return str(period)  # one of PERIODS


def bands(conn: Any, *, period: str, since: datetime, until: datetime) -> list[BandRow]:
    """999 answer bands and 101 abandonment for [since, until), one row per measure and period."""
    period = _check(period, since, until)
    p = policy()
    b1, b2 = (float(x) for x in p["bands_s"])
    out: list[BandRow] = []
    for measure, channels, std in (("answer", p["answer_channels"], p["answer_standard_pct"]),
                                   ("abandon", p["abandon_channels"], p["abandon_standard_pct"])):
        rows = conn.execute(text(BANDS_SQL), {"period": period, "b1": b1, "b2": b2, "channels": list(channels),
                                              "since": since, "until": until}).mappings().all()
        out += [BandRow(measure=measure, standard_pct=float(std), **dict(r)) for r in rows]
    return sorted(out, key=lambda r: (r.period_start, r.measure))


CSV_HEADER = ["period_start", "measure", "offered", "answered", "under_10s", "10_to_60s", "60s_or_more",
              "pct_under_10s", "abandoned", "abandon_pct", "standard_pct", "meets_standard"]


def to_csv(rows: list[BandRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for r in rows:
        pct = r.pct_under_10 if r.measure == "answer" else None
        ab = r.abandon_pct if r.measure == "abandon" else None
        w.writerow([r.period_start.isoformat(), "999 answer" if r.measure == "answer" else "101 abandonment",
                    r.offered, r.answered, r.under_10, r.from_10_to_60, r.over_60,
                    "" if pct is None else f"{pct:.1f}", r.abandoned, "" if ab is None else f"{ab:.1f}",
                    f"{r.standard_pct:g}", {True: "yes", False: "no", None: ""}[r.meets_standard]])
    return buf.getvalue()


class BandingService:
    """session.banding: the figures inspectors ask for."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def bands(self, *, period: str = "hour", since: datetime, until: datetime) -> list[BandRow]:
        with self.ctx.read() as conn:
            return bands(conn, period=period, since=since, until=until)

    def csv(self, *, period: str = "day", since: datetime, until: datetime) -> str:
        """The same figures as CSV (one row per period and measure)."""
        return to_csv(self.bands(period=period, since=since, until=until))


__all__ = ["BandingService", "BandRow", "bands", "to_csv", "PERIODS", "CSV_HEADER"]
