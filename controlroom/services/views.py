"""Frozen views handed to callers (never live ORM objects), built from rows or event payloads."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Optional, TypeVar

T = TypeVar("T")


def parse_ts(value: Any) -> Optional[datetime]:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def view_from(cls: type[T], row: Mapping[Any, Any]) -> T:
    """Build a frozen view from a mapping (DB row or JSON payload); unknown keys are ignored."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
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
        names = ("firearms", "domestic_abuse", "vulnerable_person", "repeat_victim", "missing_person")
        return tuple(n for n in names if getattr(self, n))


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
