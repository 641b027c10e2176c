"""A replay segment as a time-stamped report (plain text or HTML) for debriefs and inquiries."""
from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any, Iterable, Optional

from .state import VirtualRoomState


def _t(at: Optional[datetime]) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if at else "—"


def describe_event(ev: Any) -> str:
    """One line: what happened, in words close to the console's."""
    p = ev.payload if isinstance(ev.payload, dict) else {}
    inc = p.get("incident")
    if not isinstance(inc, dict):
        inc = p
    urn = inc.get("urn") or p.get("urn") or ""
    unit = (p.get("unit") or {}).get("callsign") if isinstance(p.get("unit"), dict) else p.get("callsign")
    bits = [ev.kind, urn, unit or "", p.get("grade") if ev.kind.startswith("incident.") else "",
            p.get("status") if ev.kind in ("unit.status", "incident.closed") else "",
            p.get("name") if ev.kind.startswith("talkgroup.") else "",
            ", ".join(f"{k}→{v}" for k, v in (p.get("area_rooms") or {}).items()) if ev.kind.startswith("room.") else ""]
    return "  ".join(str(b) for b in bits if b)


def _incident_lines(state: VirtualRoomState, room: Optional[str]) -> list[str]:
    out = []
    for d in state.open_incidents(room=room):
        chain = ", ".join(f"{r} {v['holder']}" for r, v in d["command"].items())
        out.append(f"{d['urn']}  {d['grade'] or 'ungraded'}  {d['status']}  {d['room_code']}  "
                   f"{d['summary'][:60]}  units: {', '.join(d['units']) or '—'}"
                   + (f"  talk groups: {', '.join(d['talk_groups'])}" if d["talk_groups"] else "")
                   + (f"  command: {chain}" if chain else ""))
    return out or ["(no open incidents)"]


def segment_report(start: VirtualRoomState, end: VirtualRoomState, events: Iterable[Any], *,
                   room: Optional[str] = None, console: Optional[str] = None, by: str = "",
                   fmt: str = "text") -> str:
    """Report of the room between two states: the picture at each end and every event between."""
    events = [e for e in events if e.kind not in ("unit.position", "console.presence")]
    head = [f"REPLAY REPORT — generated {_t(datetime.now(timezone.utc))}" + (f" by {by}" if by else ""),
            f"Segment: {_t(start.at)} (event #{start.seq}) to {_t(end.at)} (event #{end.seq})",
            f"View: {'console ' + console + ' (' + (room or '?') + ' room)' if console else 'whole virtual room'}"]
    sections = [("Open incidents at the start", _incident_lines(start, room)),
                ("Events in the segment (AVL fixes and presence omitted)",
                 [f"{_t(e.at)}  #{e.seq}  {e.username or ''}@{e.console_id or ''}  {describe_event(e)}"
                  for e in events] or ["(none)"]),
                ("Open incidents at the end", _incident_lines(end, room))]
    if fmt == "html":
        body = "".join(f"<h2>{html.escape(t)}</h2><pre>{html.escape(chr(10).join(lines))}</pre>"
                       for t, lines in sections)
        return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Replay report</title></head><body>"
                "<div style='background:#6a1b9a;color:white;padding:6px;font-weight:bold'>REPLAY</div>"
                + "".join(f"<p>{html.escape(h)}</p>" for h in head) + body + "</body></html>")
    out = head[:]
    for title, lines in sections:
        out += ["", title, "-" * len(title), *lines]
    return "\n".join(out) + "\n"
