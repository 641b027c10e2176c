"""Exercise debrief: trainees' actions from the event stream against the scenario's expected timings."""
from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from .scenario import Scenario, format_time
from ..services.training import TimelineEntry

WATERMARK = "TRAINING — NOT A LIVE RECORD"


@dataclass(frozen=True)
class ExpectationResult:
    label: str
    kind: str
    within: float
    took: float | None  # seconds from the injected event to the trainee's action
    by: str | None
    outcome: str  # met | late | missed | not injected


@dataclass(frozen=True)
class Debrief:
    scenario: Scenario
    trainer: str
    results: tuple[ExpectationResult, ...]
    actions: tuple[TimelineEntry, ...]  # trainees' own actions, oldest first
    per_user: dict[str, int]
    injected: int

    def to_text(self) -> str:
        lines = [WATERMARK, f"Debrief: {self.scenario.title} ({self.scenario.name})",
                 f"Trainer: {self.trainer}; injected events: {self.injected}; "
                 f"trainee actions: {len(self.actions)}", "", "Expected timings:"]
        for r in self.results:
            took = "—" if r.took is None else _mmss(r.took)
            lines.append(f"  [{r.outcome.upper():>12}] {r.label}: took {took} "
                         f"(target {_mmss(r.within)}){' by ' + r.by if r.by else ''}")
        lines += ["", "Actions per trainee:"]
        lines += [f"  {u}: {n}" for u, n in sorted(self.per_user.items())] or ["  (none)"]
        lines += ["", "Timeline (trainees):"]
        for a in self.actions:
            lines.append(f"  {_clock(a.at)}  {a.username or '?':<16} {a.console_id or '':<10} "
                         f"{a.kind:<24} {describe(a)}")
        lines += ["", WATERMARK]
        return "\n".join(lines)

    def to_html(self) -> str:
        esc = html.escape
        rows = "".join(
            f"<tr class='{r.outcome.replace(' ', '-')}'><td>{esc(r.label)}</td><td>{esc(r.kind)}</td>"
            f"<td>{_mmss(r.within)}</td><td>{'—' if r.took is None else _mmss(r.took)}</td>"
            f"<td>{esc(r.by or '')}</td><td><b>{esc(r.outcome.upper())}</b></td></tr>" for r in self.results)
        acts = "".join(f"<tr><td>{_clock(a.at)}</td><td>{esc(a.username or '')}</td>"
                       f"<td>{esc(a.console_id or '')}</td><td>{esc(a.kind)}</td><td>{esc(describe(a))}</td></tr>"
                       for a in self.actions)
        users = "".join(f"<li>{esc(u)}: {n}</li>" for u, n in sorted(self.per_user.items()))
        return (
            "<html><head><meta charset='utf-8'><style>"
            "body{font-family:sans-serif} .wm{color:#c62828;font-weight:bold;letter-spacing:2px}"
            "table{border-collapse:collapse} td,th{border:1px solid #999;padding:2px 6px}"
            ".late{background:#fff3cd} .missed,.not-injected{background:#f8d7da} .met{background:#d4edda}"
            "</style></head><body>"
            f"<p class='wm'>{esc(WATERMARK)}</p><h1>Debrief: {esc(self.scenario.title)}</h1>"
            f"<p>Trainer {esc(self.trainer)} · {self.injected} injected events · "
            f"{len(self.actions)} trainee actions</p>"
            "<h2>Expected timings</h2><table><tr><th>Expectation</th><th>Action</th><th>Target</th>"
            f"<th>Took</th><th>By</th><th>Result</th></tr>{rows}</table>"
            f"<h2>Actions per trainee</h2><ul>{users}</ul>"
            "<h2>Timeline</h2><table><tr><th>Time</th><th>Who</th><th>Console</th><th>Action</th>"
            f"<th>Detail</th></tr>{acts}</table><p class='wm'>{esc(WATERMARK)}</p></body></html>")


def build_debrief(scenario: Scenario, timeline: Iterable[TimelineEntry], *, trainer: str,
                  ref_seq: dict[str, tuple[int, Any]], now: datetime | None = None) -> Debrief:
    """Match each expectation to the first trainee action of that kind on the same incident.

    With `now` (an exercise still running), an unmet expectation still inside its time is 'pending'.
    """
    entries = list(timeline)
    by_seq = {e.seq: e for e in entries}
    actions = tuple(e for e in entries if e.username != trainer and not e.kind.startswith(("training.", "console.")))
    results = []
    for exp in scenario.expectations:
        seq, entity = ref_seq.get(exp.after, (None, None))
        if seq is None:
            results.append(ExpectationResult(exp.label, exp.kind, exp.within, None, None, "not injected"))
            continue
        start = _injected_at(entries, by_seq, seq)
        hit = next((a for a in actions if a.seq > seq and a.kind == exp.kind and _concerns(a, entity)), None)
        if hit is None or start is None:
            waiting = now is not None and start is not None and (now - start).total_seconds() < exp.within
            results.append(ExpectationResult(exp.label, exp.kind, exp.within, None, None,
                                             "pending" if waiting else "missed"))
            continue
        took = (hit.at - start).total_seconds()
        results.append(ExpectationResult(exp.label, exp.kind, exp.within, took, hit.username,
                                         "met" if took <= exp.within else "late"))
    per_user = Counter(a.username or "?" for a in actions)
    injected = sum(1 for e in entries if e.username == trainer and not e.kind.startswith("training."))
    return Debrief(scenario, trainer, tuple(results), actions, dict(per_user), injected)


def _injected_at(entries: list[TimelineEntry], by_seq: dict[int, TimelineEntry], seq: int) -> datetime | None:
    if seq in by_seq:
        return by_seq[seq].at
    earlier = [e for e in entries if e.seq <= seq]
    return earlier[-1].at if earlier else None


def _concerns(entry: TimelineEntry, entity: Any) -> bool:
    """Does this event act on `entity` (an incident id)? Payload shapes differ by service."""
    if entity is None:
        return True
    want = str(entity)
    p = entry.payload if isinstance(entry.payload, dict) else {}
    inc = p.get("incident")
    if not isinstance(inc, dict):
        inc = {}
    return want in (str(entry.entity_id), str(p.get("incident_id")), str(inc.get("id")))


def describe(e: TimelineEntry) -> str:
    """A short human line for a timeline row."""
    p = e.payload if isinstance(e.payload, dict) else {}
    inc = p.get("incident")
    if not isinstance(inc, dict):
        inc = p
    parts = [str(v) for v in (inc.get("urn"), p.get("callsign") or (p.get("unit") or {}).get("callsign"),
                              p.get("status"), p.get("grade"), p.get("text")) if v]
    return " · ".join(parts)[:120]


def _mmss(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def _clock(at: datetime) -> str:
    return at.strftime("%H:%M:%S")


__all__ = ["Debrief", "ExpectationResult", "build_debrief", "describe", "WATERMARK", "format_time"]
