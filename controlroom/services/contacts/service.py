"""Contact service: the writer of `contacts` — one virtual queue for every channel.

Life of a contact: queued → taken (one operator, exclusively) → answered (phone) / assessed
(digital, THRIVE) → resolved or to_incident. A caller may leave the queue as a call-back (state
'callback') and keeps the original queue_time, so they come back at their old place.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Iterable, overload

from ...kernel import config
from ...kernel.errors import Conflict, InvalidInput
from ..base import ServiceContext
from .rules import scan
from ..validate import code_field, int_id, text_field, time_field
from ..views import ContactView, contact_view  # the views live at the services root (handoff reads them too)

THRIVE_KEYS = ("threat", "harm", "risk", "investigation", "vulnerability", "engagement")
STATE_WORDS = {"queued": "waiting in the queue", "callback": "waiting for a call-back",
               "taken": "taken", "answered": "answered", "abandoned": "abandoned",
               "assessed": "assessed", "resolved": "resolved", "to_incident": "already an incident"}


def contact_policy() -> dict[str, Any]:
    return config.load_resource("contact_policy")


def from_key(value: str) -> str:
    """Normalised caller identity for repeat-caller matching: email lower-case, phone digits (0…)."""
    v = value.strip().lower()
    if "@" in v:
        return v
    digits = re.sub(r"\D", "", v)
    if not digits:
        return v
    if digits.startswith("44") and len(digits) > 10:
        digits = "0" + digits[2:]
    return digits


class ContactService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # ---- writes -------------------------------------------------------------------------------
    def receive(self, channel: str, *, from_: str, text: str | None = None,
                at: datetime | None = None) -> ContactView:
        """Queue a new contact; priority from its channel, raised to 1 when its text needs a human."""
        ctx = self.ctx
        ctx.require("contact.handle", what="take contacts")
        channel = code_field(channel, "Channel", field="channel", allowed=config.channels())
        sender = text_field(from_, "Caller number or address", field="from_", max_len=200,
                            multiline=False)
        body = text_field(text, "Contact text", field="text", max_len=4000, required=False)
        at = _timestamp(at, "at")
        base = int(config.channels()[channel]["priority"])
        hits = scan(body) if base > 1 else []
        with ctx.single() as tx:  # priority from the channel policy in the database, not from here
            row = tx.call("api.contact_receive", channel=channel, from_addr=sender, from_key=from_key(sender or ""),
                          text=body, at=at, flag_reason="; ".join(hits) or None,
                          audit_as=("contact.handle", None))
        return contact_view(row)

    def next_contact(self, *, skills: Iterable[str] | None = None) -> ContactView | None:
        """Take the highest-priority, longest-waiting contact this operator is skilled for."""
        ctx = self.ctx
        ctx.require("contact.handle", what="take contacts")
        skill_list = None
        if skills is not None:
            if isinstance(skills, (str, bytes)) or not isinstance(skills, Iterable):
                raise InvalidInput("Give the skill channels as a list.", field="skills")
            skill_list = [code_field(s, "Skill channel", field="skills", allowed=config.channels())
                          for s in skills]
        with ctx.single() as tx:
            row = tx.call("api.contact_next", skills=skill_list, audit_as=("contact.handle", None))
        return None if row is None else contact_view(row)

    def answer(self, contact_id: int, *, at: datetime | None = None) -> ContactView:
        """The operator is now speaking with the caller (service-level clock stops here)."""
        return self._move(contact_id, "api.contact_answer", at=_timestamp(at, "at"))

    def abandon(self, contact_id: int, *, at: datetime | None = None) -> ContactView:
        """The caller hung up before being answered."""
        return self._move(contact_id, "api.contact_abandon", at=_timestamp(at, "at"))

    def request_callback(self, contact_id: int) -> ContactView:
        """Back into the queue as a call-back at the original queue time (the caller keeps their place)."""
        return self._move(contact_id, "api.contact_callback")

    def assess(self, contact_id: int, *, thrive: dict[str, str], at: datetime | None = None) -> ContactView:
        """Acknowledge a (digital) contact with its THRIVE assessment."""
        if not isinstance(thrive, dict) or set(thrive) - set(THRIVE_KEYS):
            raise InvalidInput("THRIVE needs threat, harm, risk, investigation, vulnerability and "
                               "engagement.", field="thrive")
        clean = {k: text_field(thrive.get(k), f"THRIVE {k}", field=f"thrive.{k}", max_len=500)
                 for k in THRIVE_KEYS}
        return self._move(contact_id, "api.contact_assess", thrive=clean, at=_timestamp(at, "at"))

    def resolve(self, contact_id: int, *, resolution: str, at: datetime | None = None) -> ContactView:
        """Close the contact without deployment (advice given, referred, no police action…)."""
        why = text_field(resolution, "Resolution", field="resolution", max_len=2000)
        return self._move(contact_id, "api.contact_resolve", resolution=why, at=_timestamp(at, "at"))

    def to_incident(self, contact_id: int, *, incident_type: str, lat: float, lon: float,
                    summary: str | None = None, grade: str | None = None, address: str | None = None,
                    caller_name: str | None = None, **flags: bool) -> ContactView:
        """Create an incident pre-filled from the contact and link the contact to it.

        Two calls (the incident is its own action): the contact is checked first and marked only
        after the incident exists, so a failure never leaves a contact pointing nowhere.
        """
        from ..incidents import IncidentService

        c = self._held(contact_id, ("taken", "answered", "assessed"), "turned into an incident")
        phone = c.from_addr if c.kind != "digital" and re.fullmatch(r"\+?[0-9 ()-]{3,30}", c.from_addr) else None
        incident = IncidentService(self.ctx).create(
            channel=c.channel, incident_type=incident_type, lat=lat, lon=lon, grade=grade,
            summary=summary or (c.text or f"{c.channel} contact from {c.from_addr}")[:2000],
            caller_name=caller_name, caller_phone=phone, address=address, uprn=None, location_ref=None, **flags)
        return self._move(contact_id, "api.contact_to_incident", incident_id=incident.id)

    def confirm_emergency(self, contact_id: int) -> ContactView:
        """A human agrees the flagged text is an emergency: it stays priority 1."""
        return self._move(contact_id, "api.contact_confirm_emergency")

    def dismiss_emergency(self, contact_id: int, *, reason: str) -> ContactView:
        """A human rules the flag out: back to the channel's priority, same place in time."""
        why = text_field(reason, "Reason for dismissing", field="reason", max_len=1000)
        return self._move(contact_id, "api.contact_dismiss_emergency", reason=why)

    # ---- reads --------------------------------------------------------------------------------
    def get(self, contact_id: int) -> ContactView:
        row = self._row(int_id(contact_id, "Contact"))
        if row is None:
            raise InvalidInput(f"No contact with reference {contact_id}.", field="id")
        return contact_view(row)

    def queue(self, *, limit: int = 500) -> list[ContactView]:
        """Waiting contacts in the order next_contact hands them out."""
        return self._list("state IN ('queued','callback') ORDER BY priority, queue_time, id LIMIT :n",
                          {"n": int(limit)})

    def active(self, *, mine: bool = False) -> list[ContactView]:
        """Contacts held by operators (taken, answered, assessed); `mine` for this operator only."""
        where = "state IN ('taken','answered','assessed')" + (" AND taken_by = :u" if mine else "")
        return self._list(where + " ORDER BY taken_at, id", {"u": self.ctx.actor.username})

    def caller_history(self, from_: str, *, limit: int = 20) -> list[ContactView]:
        """Earlier contacts from the same number/email, newest first (repeat-caller view)."""
        key = from_key(text_field(from_, "Caller", field="from_", max_len=200, multiline=False) or "")
        return self._list("from_key = :k ORDER BY received_at DESC LIMIT :n", {"k": key, "n": int(limit)})

    def service_levels(self, *, since: datetime, until: datetime | None = None) -> list[Any]:
        """Service level per channel for contacts received in [since, until) (as of `until`/now)."""
        from .dashboard import service_levels
        with self.ctx.read() as conn:
            return service_levels(conn, since=_timestamp(since, "since"), until=_timestamp(until, "until"))

    def dashboard(self, *, now: datetime | None = None) -> Any:
        """Everything the dashboards and the wallboard show, from SQL aggregates and the rollup."""
        from .dashboard import snapshot
        with self.ctx.read() as conn:
            return snapshot(conn, now=_timestamp(now, "now"))

    # ---- helpers ------------------------------------------------------------------------------
    def _row(self, contact_id: int) -> Any:
        with self.ctx.read() as conn:
            from sqlalchemy import text as sql
            return conn.execute(sql("SELECT * FROM contacts WHERE id = :id"), {"id": contact_id}).mappings().first()

    def _list(self, where: str, params: dict[str, Any]) -> list[ContactView]:
        from sqlalchemy import text as sql
        with self.ctx.read() as conn:
            rows = conn.execute(sql(f"SELECT * FROM contacts WHERE {where}"), params).mappings().all()
        return [contact_view(r) for r in rows]

    def _held(self, contact_id: Any, states: tuple[str, ...], verb: str) -> ContactView:
        c = self.get(contact_id)
        if c.state in ("taken", "answered", "assessed") and c.taken_by != self.ctx.actor.username:
            raise Conflict(f"Contact {c.id} is being handled by {c.taken_by} (console {c.taken_console}).")
        if c.state not in states:
            raise InvalidInput(f"Contact {c.id} is {STATE_WORDS[c.state]}; it cannot be {verb} now.",
                               field="id")
        return c

    def _move(self, contact_id: Any, function: str, **params: Any) -> ContactView:
        """One API call: the database moves the contact only if this operator may (it holds it, or
        it is waiting), emits, and says who or what is in the way when not."""
        ctx = self.ctx
        ctx.require("contact.handle", entity=f"contact:{contact_id}", what="handle contacts")
        cid = int_id(contact_id, "Contact")
        with ctx.single() as tx:
            row = tx.call(function, contact_id=cid, audit_as=("contact.handle", f"contact:{cid}"), **params)
        return contact_view(row)


@overload
def _timestamp(value: datetime, field: str) -> datetime: ...
@overload
def _timestamp(value: datetime | None, field: str) -> datetime | None: ...
def _timestamp(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput("Times must be timezone-aware date-times.", field=field)
    return time_field(value, "The time", field=field)
