"""Input checks with messages a call handler understands. Nothing is written when one fails."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Literal, cast, overload

from ..kernel.errors import InvalidInput

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def shown(value: Any, limit: int = 40) -> str:
    """A short, printable rendering of what the caller gave, for echoing in an error message
    (a 100 kB paste, control characters or a Python repr must never reach the operator)."""
    if isinstance(value, str):
        text = _UNPRINTABLE.sub("?", value)
    elif value is None or isinstance(value, (bool, float)) or (isinstance(value, int) and abs(value) < 10**30):
        text = str(value)
    elif isinstance(value, int):
        text = "a number too large"
    else:
        return f"({type(value).__name__})"
    return text if len(text) <= limit else text[:limit - 1] + "…"


@overload
def text_field(value: Any, label: str, *, field: str, max_len: int, required: Literal[True] = True,
               multiline: bool = True) -> str: ...
@overload
def text_field(value: Any, label: str, *, field: str, max_len: int, required: bool,
               multiline: bool = True) -> str | None: ...
def text_field(value: Any, label: str, *, field: str, max_len: int, required: bool = True,
               multiline: bool = True) -> str | None:
    """Trimmed text, or InvalidInput naming the field and what is wrong."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{label} is required.", field=field)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{label} must be text.", field=field)
    value = value.strip()
    if _SURROGATE.search(value):  # half of an emoji pair from a broken paste: UTF-8 cannot hold it
        raise InvalidInput(f"{label} contains a broken character (half an emoji or symbol); "
                           "retype that part.", field=field)
    if _CONTROL.search(value) or (not multiline and ("\n" in value or "\r" in value)):
        raise InvalidInput(f"{label} contains control characters; retype it without them.", field=field)
    if len(value) > max_len:
        raise InvalidInput(f"{label} is too long ({len(value):,} characters; at most {max_len:,}). "
                           "Put the detail in the incident log instead.", field=field)
    return cast(str, value)  # a str by the checks above


def code_field(value: Any, label: str, *, field: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(allowed[:20]) + ("…" if len(allowed) > 20 else "")
        raise InvalidInput(f"{label} '{shown(value)}' is not recognised. Choose one of: {choices}.",
                           field=field)
    return value


def grade_field(value: Any, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"G{value}"
    if isinstance(value, str) and value.strip().upper() in ("G1", "G2", "G3", "G4"):
        return value.strip().upper()
    raise InvalidInput(f"Grade '{shown(value)}' is not valid: use G1 (emergency), G2 (priority), "
                       "G3 (scheduled) or G4 (resolution without deployment).", field="grade")


_PHONE = re.compile(r"^\+?[0-9 ()-]{3,30}$")


def phone_field(value: Any, *, field: str = "caller_phone") -> str | None:
    v = text_field(value, "Caller number", field=field, max_len=40, required=False, multiline=False)
    if v is not None and not _PHONE.match(v):
        raise InvalidInput(f"Caller number '{shown(v)}' is not a phone number (digits, spaces, + ( ) - only).",
                           field=field)
    return v


EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)


def time_field(value: Any, label: str, *, field: str, required: bool = True,
               future: timedelta = timedelta(days=1)) -> datetime | None:
    """An aware date-time between 1970 and `future` from now. Beyond that it is a typo or a broken
    clock, and the extremes cannot even be stored (year 0) or read back (year 10000)."""
    if value is None:
        if required:
            raise InvalidInput(f"{label} is required.", field=field)
        return None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInput(f"{label} must be a date and time with a time zone.", field=field)
    try:
        utc = value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not (EARLIEST <= utc <= datetime.now(timezone.utc) + future):
        raise InvalidInput(f"{label} ({value.year:04d}-{value.month:02d}-{value.day:02d} "
                           f"{value.hour:02d}:{value.minute:02d}) is not a plausible time; check the clock "
                           "or the date typed.", field=field)
    return value


def int_id(value: Any, label: str = "Incident") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (0 < value < 2**63):
        raise InvalidInput(f"{label} reference '{shown(value)}' is not valid.", field="id")
    return cast(int, value)


def uprn_field(value: Any) -> int | None:
    """A Unique Property Reference Number (1 to 12 digits), or None."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not (0 < value < 10**12):
        raise InvalidInput(f"UPRN '{shown(value)}' is not valid (a UPRN is a number of up to 12 digits).",
                           field="location")
    return cast(int, value)


def callsign_field(value: Any) -> str:
    """A unit's callsign, trimmed and upper-cased (units, despatch and alerts all take one)."""
    cs = text_field(value, "Callsign", field="callsign", max_len=16, multiline=False)
    return (cs or "").upper()
