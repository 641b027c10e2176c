"""Input checks with messages a call handler understands. Nothing is written when one fails."""
from __future__ import annotations

import re
from typing import Any, Iterable

from ..errors import InvalidInput

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
    if _CONTROL.search(value) or (not multiline and ("\n" in value or "\r" in value)):
        raise InvalidInput(f"{label} contains control characters; retype it without them.", field=field)
    if len(value) > max_len:
        raise InvalidInput(f"{label} is too long ({len(value):,} characters; at most {max_len:,}). "
                           "Put the detail in the incident log instead.", field=field)
    return value


def code_field(value: Any, label: str, *, field: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        shown = ", ".join(allowed[:20]) + ("…" if len(allowed) > 20 else "")
        raise InvalidInput(f"{label} '{value}' is not recognised. Choose one of: {shown}.", field=field)
    return value


def grade_field(value: Any, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"G{value}"
    if isinstance(value, str) and value.strip().upper() in ("G1", "G2", "G3", "G4"):
        return value.strip().upper()
    raise InvalidInput(f"Grade '{value}' is not valid: use G1 (emergency), G2 (priority), "
                       "G3 (scheduled) or G4 (resolution without deployment).", field="grade")


_PHONE = re.compile(r"^\+?[0-9 ()-]{3,30}$")


def phone_field(value: Any, *, field: str = "caller_phone") -> str | None:
    v = text_field(value, "Caller number", field=field, max_len=40, required=False, multiline=False)
    if v is not None and not _PHONE.match(v):
        raise InvalidInput(f"Caller number '{v}' is not a phone number (digits, spaces, + ( ) - only).",
                           field=field)
    return v


def int_id(value: Any, label: str = "Incident") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (0 < value < 2**63):
        raise InvalidInput(f"{label} reference '{value}' is not valid.", field="id")
    return value
