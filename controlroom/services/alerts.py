"""Officer safety and alerting: one database-backed alert queue (issue 20).

Alerts are rows with state — raised, acknowledged (by whom, when), escalated (level), cleared
(with a result) — so a console that signs in, or restarts after a crash, shows every open alert
for its role and room. The database raises them (API functions for emergencies and welfare
checks; a trigger on the event log for G1s, breaches, firearms declarations awaiting an ITFC,
downgrade sign-offs and prompts) and decides when an escalation is due; consoles only observe
time passing (`escalate_due` with an injectable clock) and ask.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Optional

from sqlalchemy import text

from ..kernel.errors import Conflict, InvalidInput, NotPermitted
from .base import ServiceContext
from .validate import callsign_field, int_id, text_field, time_field
from .views import parse_ts

RESULTS = {"officer_safe": "officer safe", "assistance_sent": "assistance sent"}
SAFETY_KINDS = ("emergency", "welfare", "welfare_overdue")
ROLE_RANK = {"call_handler": 0, "despatcher": 1, "supervisor": 2, "inspector": 3, "trainer": 3}
GROUP_RANK = {"cr_handler": 0, "cr_despatcher": 1, "cr_supervisor": 2, "cr_inspector": 3}

OPEN_SQL = text("SELECT cr_alert_json(a) AS j FROM alerts a WHERE a.state <> 'cleared' ORDER BY a.raised_at, a.id")
ONE_SQL = text("SELECT cr_alert_json(a) AS j FROM alerts a WHERE a.id = :id")
RECENT_SQL = text("SELECT cr_alert_json(a) AS j FROM alerts a WHERE a.raised_at > now() - make_interval(hours => :h) "
                  "ORDER BY a.raised_at DESC, a.id DESC LIMIT :n")
WELFARE_DUE_SQL = text("""
SELECT u.callsign FROM units u
LEFT JOIN incidents i ON i.id = u.incident_id
WHERE (u.status = 'at_scene'
       OR (u.capabilities && ARRAY(SELECT capability FROM welfare_single_crewed)::varchar[]
           AND u.status NOT IN ('off_duty', 'at_station', 'emergency')))
  AND u.status_at < CAST(:now AS timestamptz) - make_interval(mins => (
        SELECT w.minutes FROM welfare_policy w
        WHERE (w.capability = '*' OR w.capability = ANY(u.capabilities))
          AND (w.incident_type = '*' OR w.incident_type = i.incident_type)
        ORDER BY w.position LIMIT 1))
  AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.subject = u.callsign
                  AND a.kind IN ('welfare', 'welfare_overdue', 'emergency') AND a.state <> 'cleared')
""")


@dataclass(frozen=True)
class AlertView:
    id: int
    kind: str
    label: str
    state: str
    level: int
    title: str
    room_code: Optional[str]
    raised_at: datetime
    ack_group: str
    levels: tuple[str, ...]
    audience: tuple[str, ...]
    incident_id: Optional[int] = None
    urn: Optional[str] = None
    callsign: Optional[str] = None
    talk_group: Optional[str] = None
    area_code: Optional[str] = None
    lat: Optional[float] = None
    lon: Optional[float] = None
    source: Optional[str] = None
    raised_by: Optional[str] = None
    escalated_at: Optional[datetime] = None
    next_escalation_at: Optional[datetime] = None
    acknowledged_at: Optional[datetime] = None
    acknowledged_by: Optional[str] = None
    cleared_at: Optional[datetime] = None
    cleared_by: Optional[str] = None
    result: Optional[str] = None
    result_units: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.state != "cleared"

    @property
    def needs_acknowledgement(self) -> bool:
        return self.state == "raised"

    @property
    def safety(self) -> bool:
        """An officer-safety alarm (red band, map centred) rather than a work alert."""
        return self.kind in SAFETY_KINDS

    def reaches(self, role: str, room: Optional[str]) -> bool:
        """Whether a console of `role` in `room` is to show this alert now.

        Emergencies reach every console of the owning room and the other room's supervisors and
        inspectors; other alerts reach the roles of their current escalation level (and above)
        in the owning room; an escalation to the inspector reaches both rooms' inspectors.
        """
        rank = ROLE_RANK.get(role)
        if rank is None:
            return False
        own = room is not None and room == self.room_code
        if self.kind in ("emergency", "welfare_overdue"):
            return own or rank >= ROLE_RANK["supervisor"]
        if self.kind == "firearms_itfc":
            return rank >= ROLE_RANK["inspector"]
        needed = min(ROLE_RANK[r] for r in self.audience) if self.audience else 0
        if "inspector" in self.audience and rank >= ROLE_RANK["inspector"]:
            return True
        return own and rank >= needed


def alert_view(data: dict[str, Any]) -> AlertView:
    d = dict(data)
    for k in ("raised_at", "escalated_at", "next_escalation_at", "acknowledged_at", "cleared_at"):
        d[k] = parse_ts(d.get(k))
    d["levels"] = tuple(d.get("levels") or ())
    d["audience"] = tuple(d.get("audience") or ())
    d["result_units"] = tuple(d.get("result_units") or ())
    d["details"] = d.get("details") or {}
    names = AlertView.__dataclass_fields__
    return AlertView(**{k: v for k, v in d.items() if k in names})


class AlertService:
    """`session.alerts`: the open alert queue, acknowledgement, escalation, clearing."""

    def __init__(self, ctx: ServiceContext, *, clock: Callable[[], datetime] | None = None) -> None:
        self.ctx = ctx
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    # -- reads -------------------------------------------------------------------------------
    def open(self, *, for_me: bool = False) -> list[AlertView]:
        """Every open alert, oldest first (`for_me`: only those this console is to show)."""
        with self.ctx.read() as conn:
            rows = [alert_view(r[0]) for r in conn.execute(OPEN_SQL)]
        if for_me:
            a = self.ctx.actor
            rows = [r for r in rows if r.reaches(a.role, a.room_code)]
        return rows

    def get(self, alert_id: int) -> AlertView:
        with self.ctx.read() as conn:
            row = conn.execute(ONE_SQL, {"id": int_id(alert_id)}).scalar()
        if row is None:
            raise InvalidInput(f"No alert number {alert_id}.", field="alert")
        return alert_view(row)

    def recent(self, *, hours: int = 12, limit: int = 200) -> list[AlertView]:
        with self.ctx.read() as conn:
            return [alert_view(r[0]) for r in conn.execute(RECENT_SQL, {"h": hours, "n": limit})]

    def welfare_min_minutes(self) -> int:
        """The shortest welfare interval of the policy: no unit is due a check before it."""
        with self.ctx.read() as conn:
            return int(conn.execute(text("SELECT coalesce(min(minutes), 10) FROM welfare_policy")).scalar_one())

    # -- actions -----------------------------------------------------------------------------
    def raise_emergency(self, callsign: str, *, at: datetime | None = None, lat: float | None = None,
                        lon: float | None = None, source: str = "console") -> AlertView:
        """A radio's emergency button (or an operator raising one for an officer)."""
        cs = callsign_field(callsign)
        when = time_field(at, "Activation time", field="at", required=False) if at is not None else None
        if (lat is None) != (lon is None):
            raise InvalidInput("Give both latitude and longitude of the activation, or neither.", field="lat")
        for v, name in ((lat, "lat"), (lon, "lon")):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise InvalidInput("The activation position must be numbers.", field=name)
        src = text_field(source, "Source", field="source", max_len=80, multiline=False) or "console"
        with self.ctx.single() as tx:
            row = tx.call("api.unit_emergency", callsign=cs, at=when, lat=lat, lon=lon, source=src)
        return alert_view(row)

    def _may_handle(self, alert: AlertView, verb: str) -> None:
        """The friendly refusal (the database's own check is the one that counts)."""
        a = self.ctx.actor
        need = GROUP_RANK.get(alert.ack_group, 99)
        if ROLE_RANK.get(a.role, -1) >= need and not (a.role == "trainer" and not self.ctx.training):
            return
        who = {0: "call handlers", 1: "despatchers", 2: "supervisors", 3: "inspectors"}.get(need, "")
        message = f"Only {who} or above may {verb} a {alert.label.lower()} alert."
        self.ctx.audit_refused(f"alert.{verb}", entity=f"alert:{alert.id}", reason=message)
        raise NotPermitted(message)

    def acknowledge(self, alert_id: int) -> AlertView:
        """Take the alert: named, seen by every console."""
        alert = self.get(alert_id)
        self._may_handle(alert, "acknowledge")
        with self.ctx.single() as tx:
            row = tx.call("api.alert_acknowledge", alert_id=alert.id)
        return alert_view(row)

    def clear(self, alert_id: int, *, result: str, units: Iterable[str] = (), note: str | None = None) -> AlertView:
        """Clear with a result: for an emergency or welfare check "officer_safe" or
        "assistance_sent" (with the units sent)."""
        alert_id = int_id(alert_id)
        res = text_field(result, "Result", field="result", max_len=200, multiline=False)
        if res is None:
            raise InvalidInput("Say how the alert was resolved.", field="result")
        sent = [callsign_field(u) for u in units]
        note = text_field(note, "Note", field="note", max_len=500, required=False)
        self._may_handle(self.get(alert_id), "clear")
        with self.ctx.single() as tx:
            row = tx.call("api.alert_clear", alert_id=alert_id, result=res, units_sent=sent or None, note=note)
        return alert_view(row)

    def mute(self, minutes: int) -> datetime:
        """Mute G1 alarm tones on this console for `minutes` (recorded; emergencies never mute)."""
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 30:
            raise InvalidInput("Mute for between 1 and 30 minutes.", field="minutes")
        with self.ctx.single() as tx:
            row = tx.call("api.alarm_mute", minutes=minutes)
        until = parse_ts(row["until"])
        assert until is not None, "api.alarm_mute returns when the mute ends"
        return until

    def unmute_room(self, room: str | None = None) -> None:
        """A supervisor ends every console's mute in the room (their own room by default)."""
        a = self.ctx.actor
        if ROLE_RANK.get(a.role, -1) < ROLE_RANK["supervisor"]:
            message = "Only supervisors or above may override consoles' alarm mute."
            self.ctx.audit_refused("alarm.unmute_room", entity=f"room:{room or a.room_code}", reason=message)
            raise NotPermitted(message)
        with self.ctx.single() as tx:
            tx.call("api.alarm_unmute_room", room=room or a.room_code)

    def escalate_due(self, *, now: datetime | None = None) -> list[AlertView]:
        """Escalate every open, unacknowledged alert whose level timed out by `now` (the
        console's clock; the database re-checks with its own and refuses an early call)."""
        now = now or self.clock()
        done: list[AlertView] = []
        for alert in self.open():
            due = alert.next_escalation_at
            if alert.state != "raised" or due is None or due > now:
                continue
            try:
                with self.ctx.single() as tx:
                    row = tx.call("api.alert_escalate", alert_id=alert.id, from_level=alert.level)
            except Conflict:  # the database's clock says not yet: the next tick will do it
                continue
            if row is not None:
                done.append(alert_view(row))
        return done

    def raise_welfare_due(self, *, now: datetime | None = None) -> list[AlertView]:
        """Prompt a welfare check for every unit past its interval without an update."""
        now = now or self.clock()
        with self.ctx.read() as conn:
            due = [r[0] for r in conn.execute(WELFARE_DUE_SQL, {"now": now})]
        raised: list[AlertView] = []
        for cs in due:
            try:
                with self.ctx.single() as tx:
                    raised.append(alert_view(tx.call("api.welfare_check_raise", callsign=cs)))
            except Conflict:
                continue
        for alert in self.open():
            if alert.kind == "welfare" and alert.state == "raised" and alert.next_escalation_at is None \
                    and alert.escalated_at is not None:
                try:
                    with self.ctx.single() as tx:
                        row = tx.call("api.welfare_check_overdue", alert_id=alert.id)
                except Conflict:
                    continue
                if row is not None:
                    raised.append(alert_view(row))
        return raised

    def tick(self, *, now: datetime | None = None) -> list[AlertView]:
        """What a console's alert timer does each second or so: escalations and welfare checks."""
        now = now or self.clock()
        return self.escalate_due(now=now) + self.raise_welfare_due(now=now)
