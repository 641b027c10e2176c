"""Frozen views for THRIVE, links, breaches, related incidents and gazetteer suggestions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

THRIVE_FIELDS = ("threat", "harm", "risk", "investigation", "vulnerability", "engagement")


@dataclass(frozen=True)
class ThriveView:
    id: int
    incident_id: int
    version: int
    threat: str
    harm: str
    risk: str
    investigation: str
    vulnerability: str
    engagement: str
    at: datetime
    username: str
    risk_level: Optional[str] = None
    console_id: Optional[str] = None


@dataclass(frozen=True)
class LinkView:
    id: int
    a_id: int
    b_id: int
    kind: str
    reason: str
    at: datetime
    username: str
    other_id: Optional[int] = None  # filled when listed for one incident: the incident at the other end
    other_urn: Optional[str] = None


@dataclass(frozen=True)
class BreachView:
    incident_id: int
    urn: str
    grade: Optional[str]
    deadline_at: datetime
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True)
class RelatedIncident:
    id: int
    urn: str
    incident_type: str
    summary: str
    status: str
    created_at: datetime
    grade: Optional[str] = None
    address: Optional[str] = None
    caller_phone: Optional[str] = None
    closing_code: Optional[str] = None
    closed_at: Optional[datetime] = None
    distance_m: Optional[float] = None
    reason: str = "nearby"  # "nearby" (within the radius) or "same caller"


@dataclass(frozen=True)
class RelatedView:
    """What a call handler should see while the call is still being typed."""

    duplicates: tuple[RelatedIncident, ...] = ()
    history: tuple[RelatedIncident, ...] = ()
    repeat_caller_count: int = 0

    @property
    def empty(self) -> bool:
        return not (self.duplicates or self.history or self.repeat_caller_count)


@dataclass(frozen=True)
class PlaceView:
    name: str
    kind: str  # place, junction, landmark, street, postcode, address, coordinates
    lat: float
    lon: float
    area_code: Optional[str]
    room_code: Optional[str]
    score: float = 1.0
    uprn: Optional[int] = None          # an address: the property's UPRN
    postcode: Optional[str] = None
    ref: Optional[str] = None           # 'postcode:MK9 3EJ', 'street:midsummer boulevard|milton keynes'

    @property
    def area(self) -> Optional[str]:
        return self.area_code

    @property
    def room(self) -> Optional[str]:
        return self.room_code

    @property
    def inside_force(self) -> bool:
        return self.area_code is not None
