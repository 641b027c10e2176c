"""Frozen views handed to callers (never live ORM objects), built from rows or event payloads."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping, Optional, TypeVar

from ..kernel import config

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")  # a view is a dataclass
# an incident's flags (IncidentView's boolean fields; reference documents are filed under them)
FLAG_NAMES = ("firearms", "domestic_abuse", "vulnerable_person", "repeat_victim", "missing_person")


def parse_ts(value: Any) -> Optional[datetime]:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def view_from(cls: type[T], row: Mapping[Any, Any]) -> T:
    """Build a frozen view from a mapping (DB row or JSON payload); unknown keys are ignored."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in row:
            v = row[f.name]
            if (f.name == "at" or f.name.endswith("_at")) and isinstance(v, str):
                v = parse_ts(v)
            kwargs[f.name] = v
    return cls(**kwargs)


@dataclass(frozen=True)
class IncidentView:
    id: int
    urn: str
    channel: str
    incident_type: str
    summary: str
    lat: float
    lon: float
    area_code: str
    room_code: str
    grade: Optional[str]
    status: str
    version: int
    created_at: datetime
    address: Optional[str] = None
    caller_name: Optional[str] = None
    caller_phone: Optional[str] = None
    firearms: bool = False
    domestic_abuse: bool = False
    vulnerable_person: bool = False
    repeat_victim: bool = False
    missing_person: bool = False
    created_by: Optional[str] = None
    updated_at: Optional[datetime] = None
    updated_by: Optional[str] = None
    deadline_at: Optional[datetime] = None
    despatched_at: Optional[datetime] = None
    arrived_at: Optional[datetime] = None
    closed_at: Optional[datetime] = None
    closing_code: Optional[str] = None
    closing_qualifier: Optional[str] = None
    result: Optional[str] = None
    uprn: Optional[int] = None            # the property picked from the gazetteer
    location_ref: Optional[str] = None    # or the postcode / street it stands for

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(n for n in FLAG_NAMES if getattr(self, n))


@dataclass(frozen=True)
class LogEntryView:
    id: int
    incident_id: int
    at: datetime
    username: str
    kind: str
    text: str
    console_id: Optional[str] = None
    original_at: Optional[datetime] = None  # a back-record's time on the paper log (kind 'back_record')


# ---- contacts: read by the contact service and by handoff (work held by dead consoles) ----
@dataclass(frozen=True)
class ContactView:
    id: int
    channel: str
    priority: int
    state: str
    received_at: datetime
    from_addr: str
    flagged_emergency: bool = False
    needs_review: bool = False
    base_priority: int = 4
    queue_time: Optional[datetime] = None
    text: Optional[str] = None
    repeat_count: int = 0
    flag_reason: Optional[str] = None
    taken_by: Optional[str] = None
    taken_console: Optional[str] = None
    taken_at: Optional[datetime] = None
    answered_at: Optional[datetime] = None
    abandoned_at: Optional[datetime] = None
    assessed_at: Optional[datetime] = None
    thrive: Optional[dict[str, Any]] = None
    callback_count: int = 0
    callback_at: Optional[datetime] = None
    resolved_at: Optional[datetime] = None
    resolution: Optional[str] = None
    incident_id: Optional[int] = None
    review_outcome: Optional[str] = None
    reviewed_by: Optional[str] = None
    reviewed_at: Optional[datetime] = None
    review_reason: Optional[str] = None

    @property
    def from_(self) -> str:
        return self.from_addr

    @property
    def repeat_caller(self) -> bool:
        return self.repeat_count > 0

    @property
    def kind(self) -> str:
        return channel_kind(self.channel)

    @property
    def waiting(self) -> bool:
        return self.state in ("queued", "callback")


def contact_view(row: Any) -> ContactView:
    """From a DB row or an event payload (JSON: timestamps are strings)."""
    d = dict(row)
    d["queue_time"] = parse_ts(d.get("queue_time"))
    return view_from(ContactView, d)


def channel_kind(channel: str) -> str:
    return str(config.channels().get(channel, {}).get("kind", "phone"))
