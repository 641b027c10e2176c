"""Paper fallback: print the open-incident log and blank log sheets for an outage; afterwards re-key
the paper entries with the times they were written (kind 'back_record' + incident_log.original_at,
audited, shown as back-record in the timeline) so the record is whole.

HTML here is plain (tables, no scripts or external CSS) so Qt's QTextDocument prints it or saves
a PDF, and a browser prints it too.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import text

from ..kernel.errors import InvalidInput
from .base import ServiceContext
from .validate import int_id, text_field, time_field
from .views import view_from

LONDON = ZoneInfo("Europe/London")

OPEN_SQL = """
SELECT i.id, i.urn, i.grade, i.status, i.incident_type, i.summary, i.address, i.area_code, a.room_code,
       i.created_at, i.deadline_at, i.caller_name, i.caller_phone,
       (SELECT string_agg(u.callsign, ', ' ORDER BY u.callsign) FROM units u WHERE u.incident_id = i.id) AS units,
       (SELECT json_agg(x ORDER BY x.id) FROM (SELECT l.id, l.at, l.username, l.kind, l.text FROM incident_log l
          WHERE l.incident_id = i.id ORDER BY l.id DESC LIMIT :lines) x) AS recent
FROM incidents i JOIN areas a ON a.code = i.area_code
WHERE i.status <> 'closed' AND (CAST(:room AS text) IS NULL OR a.room_code = CAST(:room AS text))
ORDER BY a.room_code, i.grade NULLS LAST, i.created_at
"""

STYLE = ("<style>body{font-family:sans-serif;font-size:10pt} table{border-collapse:collapse;width:100%}"
         "td,th{border:1px solid #444;padding:3px;vertical-align:top} th{background:#ddd;text-align:left}"
         "h1{font-size:14pt} h2{font-size:12pt} .small{font-size:8pt}</style>")


@dataclass(frozen=True)
class TimelineEntry:
    id: int
    incident_id: int
    at: datetime                 # when it was keyed into the system
    username: str
    kind: str
    text: str
    original_at: Optional[datetime] = None   # when it was written on paper (back-records only)
    console_id: Optional[str] = None

    @property
    def back_record(self) -> bool:
        return self.kind == "back_record"

    @property
    def when(self) -> datetime:
        """The time the entry describes: the paper time for back-records."""
        return self.original_at or self.at


def _t(at: Any) -> str:
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.astimezone(LONDON).strftime("%d/%m %H:%M") if at else ""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


class PaperService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # ---- print ----------------------------------------------------------------------------
    def open_log_html(self, *, room: str | None = None, log_lines: int = 5) -> str:
        """The current open-incident log as printable HTML (all rooms unless `room`)."""
        with self.ctx.read() as conn:
            rows = conn.execute(text(OPEN_SQL), {"room": room, "lines": int(log_lines)}).mappings().all()
            now: datetime = conn.execute(text("SELECT now()")).scalar_one()
        a = self.ctx.actor
        out = [f"<html><head><meta charset='utf-8'>{STYLE}</head><body>",
               f"<h1>Open incident log{' — ' + _e(room) + ' room' if room else ''}</h1>",
               f"<p class='small'>Printed {_t(now)} by {_e(a.username)} (console {_e(a.console_id)}). "
               f"{len(rows)} open incident(s). Continue on blank log sheets; re-key with original times.</p>",
               "<table><tr><th>URN</th><th>Grade</th><th>Status</th><th>Type / location</th><th>Created</th>"
               "<th>Target</th><th>Units</th><th>Latest log</th></tr>"]
        for r in rows:
            recent = "<br>".join(f"{_t(x['at'])} {_e(x['username'])}: {_e(x['text'])}" for x in (r["recent"] or []))
            out.append(f"<tr><td><b>{_e(r['urn'])}</b><br>{_e(r['room_code'])}</td><td>{_e(r['grade'] or '—')}</td>"
                       f"<td>{_e(r['status'])}</td><td>{_e(r['incident_type'])}: {_e(r['summary'])}<br>"
                       f"{_e(r['address'] or r['area_code'])}</td><td>{_t(r['created_at'])}</td>"
                       f"<td>{_t(r['deadline_at'])}</td><td>{_e(r['units'] or '')}</td>"
                       f"<td class='small'>{recent}</td></tr>")
        out.append("</table></body></html>")
        return "".join(out)

    def blank_log_sheets_html(self, *, sheets: int = 1, lines: int = 28) -> str:
        """Blank paper log sheets (time / entry / initials) to use while the system is down."""
        if isinstance(sheets, bool) or not isinstance(sheets, int) or not 1 <= sheets <= 50:
            raise InvalidInput("Print between 1 and 50 sheets.", field="sheets")
        room = _e(self.ctx.actor.room_code or "")
        page = (f"<h2>Paper incident log — {room} room &nbsp; Sheet ____ of ____</h2>"
                "<table><tr><td>Incident / URN:</td><td style='width:35%'></td><td>Date:</td><td></td></tr>"
                "<tr><td>Location:</td><td></td><td>Grade:</td><td></td></tr>"
                "<tr><td>Caller / number:</td><td></td><td>Operator:</td><td></td></tr></table><br>"
                "<table><tr><th style='width:12%'>Time (24h)</th><th>Entry</th><th style='width:10%'>Initials</th></tr>"
                + "<tr><td>&nbsp;</td><td></td><td></td></tr>" * lines
                + "</table><p class='small'>Re-key every entry afterwards with its time (back-record).</p>")
        brk = "<p style='page-break-after:always'></p>"
        return f"<html><head><meta charset='utf-8'>{STYLE}</head><body>" + brk.join([page] * sheets) + "</body></html>"

    # ---- re-key ---------------------------------------------------------------------------
    def back_record(self, incident_id: int, *, text: str, original_at: datetime,
                    written_by: str | None = None) -> TimelineEntry:
        """Re-key one paper log entry with the time it was written (audited, marked back-record)."""
        ctx = self.ctx
        ctx.require("incident.log", entity=f"incident:{incident_id}", what="write incident logs")
        iid = int_id(incident_id)
        body = text_field(text, "Log entry", field="text", max_len=3800)
        who = text_field(written_by, "Written by", field="written_by", max_len=64, required=False, multiline=False)
        if not isinstance(original_at, datetime) or original_at.tzinfo is None:
            raise InvalidInput("Give the time written on the paper log, with its time zone.", field="original_at")
        time_field(original_at, "The time written on the paper log", field="original_at")
        line = body + (f" [paper entry by {who}]" if who else "")
        with ctx.single() as tx:  # the database checks the paper time against now and the incident
            row = tx.call("api.incident_back_record", incident_id=iid, text=line,
                          original_at=original_at.astimezone(timezone.utc),
                          audit_as=("incident.log", f"incident:{incident_id}"))
        return view_from(TimelineEntry, row)

    def timeline(self, incident_id: int) -> list[TimelineEntry]:
        """The incident's log in the order things happened (back-records at their paper time)."""
        iid = int_id(incident_id)
        with self.ctx.read() as conn:
            rows = conn.execute(text("SELECT id, incident_id, at, username, kind, text, original_at, console_id "
                                     "FROM incident_log WHERE incident_id = :id "
                                     "ORDER BY coalesce(original_at, at), id"), {"id": iid}).mappings().all()
        return [TimelineEntry(**dict(r)) for r in rows]


__all__ = ["PaperService", "TimelineEntry"]
