"""Shared by the incident service modules (the writes themselves are api.* functions)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LONDON_TZ = ZoneInfo("Europe/London")


def local_time(at: datetime | None) -> str:
    return at.astimezone(LONDON_TZ).strftime("%H:%M:%S") if at else "an unknown time"
