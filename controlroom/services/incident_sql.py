"""SQL shared by the incident service modules: one statement that changes a row and emits."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LONDON_TZ = ZoneInfo("Europe/London")


def emitting(kind: str, cte: str, *, extra: str = "'{}'::jsonb", pre: str = "") -> str:
    """Wrap a `u AS (UPDATE incidents ... RETURNING *)` CTE so the same statement emits `kind`.

    The payload is the full new row with the room that owns the area *now* (areas follow transfers).
    """
    return f"""WITH {pre}u AS ({cte})
SELECT u.*, cr_emit('{kind}', u.id::text, (SELECT room_code FROM areas WHERE code = u.area_code),
    to_jsonb(u) || jsonb_build_object('room_code', (SELECT room_code FROM areas WHERE code = u.area_code))
        || {extra},
    CAST(:username AS text), CAST(:role AS text), CAST(:console AS text)) AS seq
FROM u"""


def local_time(at: datetime | None) -> str:
    return at.astimezone(LONDON_TZ).strftime("%H:%M:%S") if at else "an unknown time"
