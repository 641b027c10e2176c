"""Command-line verbs for despatch and unit status.

    D <urn> <callsign>                 assign (unit goes en route)
    DV <urn> <callsign>                divert (the unit leaves its current incident)
    ARR <urn> <callsign>               book the unit at scene
    CLR <urn> <callsign> <result>      clear the unit from the incident with a result
    ST <callsign> <status> [note]      change a unit's status (available, at_station, refs, off, ...)
    REC <urn>                          recommended units, one line

<urn> is a full URN or today's number (42 = today's TV-YYYYMMDD-00042), as for the incident verbs.
Handlers run on a worker thread (ui.cli.line): they only call services and return the message.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from controlroom.errors import InvalidInput
from controlroom.models.resources import UNIT_STATUSES

from ..despatch.tab import eta_text
from .incidents import resolve


if TYPE_CHECKING:
    from ..kit.context import ConsoleContext

# Words operators type for statuses (the radio shorthand), besides the codes themselves.
STATUS_ALIASES = {
    "avail": "available", "av": "available", "a": "available", "free": "available",
    "station": "at_station", "stn": "at_station", "as": "at_station",
    "scene": "at_scene", "atscene": "at_scene", "arr": "at_scene",
    "refs": "refreshments", "ref": "refreshments", "meal": "refreshments",
    "off": "off_duty", "offduty": "off_duty", "od": "off_duty",
    "com": "committed", "comm": "committed", "tx": "transporting", "transport": "transporting",
}


def _urn_and_callsign(args: str, usage: str) -> tuple[str, str, str]:
    """Split '<urn> <callsign> [rest]'; InvalidInput with the usage line when parts are missing."""
    parts = args.split(None, 2)
    if len(parts) < 2:
        raise InvalidInput(f"Usage: {usage}", field="callsign")
    return parts[0], parts[1].upper(), parts[2].strip() if len(parts) > 2 else ""


def status_code(word: str) -> str:
    """'at scene' / 'AT_SCENE' / 'refs' -> the status code; InvalidInput listing the choices."""
    w = word.strip().lower().replace("-", "_").replace(" ", "_")
    code = STATUS_ALIASES.get(w.replace("_", ""), w)
    if code not in UNIT_STATUSES:
        raise InvalidInput(f"Unknown status '{word}'. Use one of: {', '.join(UNIT_STATUSES)} "
                           "(or avail, stn, refs, off).", field="status")
    return code


def assign(ctx: "ConsoleContext", args: str, *, divert: bool = False) -> str:
    verb = "DV" if divert else "D"
    token, cs, _ = _urn_and_callsign(args, f"{verb} <urn> <callsign>")
    inc = resolve(ctx, token)
    r = ctx.session.despatch.assign(inc.id, cs, divert=divert)
    extra = f" (diverted from {r.from_incident.urn})" if r.from_incident else ""
    return f"{r.unit.callsign} assigned to {r.incident.urn}{extra}: en route."


def arrived(ctx: "ConsoleContext", args: str) -> str:
    token, cs, _ = _urn_and_callsign(args, "ARR <urn> <callsign>")
    inc = resolve(ctx, token)
    r = ctx.session.despatch.arrived(inc.id, cs)
    return f"{r.unit.callsign} at scene at {r.incident.urn}."


def clear(ctx: "ConsoleContext", args: str) -> str:
    token, cs, result = _urn_and_callsign(args, "CLR <urn> <callsign> <result text>")
    if not result:
        raise InvalidInput(f"Say what {cs} did: CLR <urn> {cs} <result text>.", field="result")
    inc = resolve(ctx, token)
    r = ctx.session.despatch.clear(inc.id, cs, result=result)
    return f"{r.unit.callsign} cleared from {r.incident.urn}: {result}"


def unit_status(ctx: "ConsoleContext", args: str) -> str:
    parts = args.split(None, 2)
    if len(parts) < 2:
        raise InvalidInput("Usage: ST <callsign> <status> [note]", field="status")
    code = status_code(parts[1])
    u = ctx.session.units.set_status(parts[0], code, note=parts[2].strip() if len(parts) > 2 else None)
    return f"{u.callsign} is {u.status_label}."


def recommend(ctx: "ConsoleContext", args: str) -> str:
    token = args.strip()
    inc = resolve(ctx, token)
    recs = ctx.session.despatch.recommend(inc.id)
    if not recs:
        return f"{inc.urn}: no available unit with the needed capability."
    shown = "; ".join(f"{r.callsign} {eta_text(r)} ({r.distance_m / 1000:.1f} km)"
                      + (" other room" if r.other_room else "") for r in recs)
    return f"{inc.urn}: {shown}"
