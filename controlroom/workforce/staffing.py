"""Staff required per 15-minute interval to meet each line's service level (Erlang C), and the
rostered staff to compare with. Erlang C is pyworkforce's (maintained; `required_positions` gives
the agents for a service level with a maximum occupancy and scales for shrinkage).

Lines, service levels, handling times, shrinkage and the demo roster: resources/workforce.yaml.
Non-phone work (assessed within 4 h) goes through the same Erlang C with a 4-hour answer target:
that staffs each interval for its own arrivals and so overstates deferrable work, which a team
can work down over the four hours — a known limit of this first version.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Iterable

import numpy as np

from ..kernel import config
from .forecast import LONDON

INTERVAL_S = 900


@dataclass(frozen=True)
class Line:
    code: str
    label: str
    channels: tuple[str, ...]
    aht_s: float
    answer_s: float
    target: float
    max_occupancy: float
    shrinkage: float
    minimum: int


def lines() -> dict[str, Line]:
    raw = config.load_resource("workforce")["lines"]
    return {code: Line(code=code, label=v["label"], channels=tuple(v["channels"]), aht_s=float(v["aht_s"]),
                       answer_s=float(v["answer_s"]), target=float(v["target"]),
                       max_occupancy=float(v.get("max_occupancy", 1.0)), shrinkage=float(v.get("shrinkage", 0.0)),
                       minimum=int(v.get("minimum", 0)))
            for code, v in raw.items()}


@dataclass(frozen=True)
class IntervalStaffing:
    agents: int            # on the phones (Erlang C), before shrinkage
    staff: int             # rostered heads needed (agents grossed up for shrinkage)
    service_level: float   # expected share answered within the target time
    occupancy: float


def required(contacts: float, line: Line) -> IntervalStaffing:
    """Erlang C for one interval's forecast contacts on a line."""
    from pyworkforce.queuing import ErlangC
    if contacts <= 1e-6:
        n = line.minimum
        return IntervalStaffing(agents=n, staff=math.ceil(n / (1 - line.shrinkage)) if n else 0,
                                service_level=1.0, occupancy=0.0)
    erl = ErlangC(transactions=contacts, aht=line.aht_s, asa=line.answer_s, interval=INTERVAL_S,
                  shrinkage=line.shrinkage)
    r = erl.required_positions(service_level=line.target, max_occupancy=line.max_occupancy)
    agents = max(int(r["raw_positions"]), line.minimum)
    if agents != r["raw_positions"]:
        sl, occ = erl.service_level(agents), erl.achieved_occupancy(agents)
    else:
        sl, occ = r["service_level"], r["occupancy"]
    return IntervalStaffing(agents=agents, staff=math.ceil(agents / (1 - line.shrinkage)),
                            service_level=float(sl), occupancy=float(occ))


def required_series(contacts: Iterable[float], line: Line) -> list[IntervalStaffing]:
    return [required(float(c), line) for c in contacts]


def _parse(hhmm: str) -> time:
    h, m = hhmm.split(":")
    return time(int(h) % 24, int(m))


def rostered(starts: Iterable[datetime], line_code: str) -> np.ndarray:
    """Heads rostered on the line in each interval (shifts in London time, resources/workforce.yaml)."""
    roster: dict[str, Any] = config.load_resource("workforce")["roster"]
    shifts = {k: (_parse(a), _parse(b)) for k, (a, b) in roster["shifts"].items()}
    crew: dict[str, int] = roster["lines"].get(line_code, {})
    out = []
    for s in starts:
        t = s.astimezone(LONDON).time()
        heads = 0
        for shift, n in crew.items():
            a, b = shifts[shift]
            on = (a <= t < b) if a < b else (t >= a or t < b)  # a shift may run past midnight
            heads += n if on else 0
        out.append(heads)
    return np.array(out, dtype=int)


def week_starts(monday: datetime) -> list[datetime]:
    return [monday + i * timedelta(minutes=15) for i in range(7 * 96)]
