"""Command-line verbs for incidents: N (new), G1..G4 (grade), L (log), C (close).

    N                                          open a blank incident form
    N [channel] TYPE [G1-G4] place-or-lat,lon / summary
    G2 <urn> [rationale]                       grade or regrade (a regrade needs a rationale)
    L <urn> text                               add to the incident log
    C <urn> CODE [qualifier] [/ result]        close with a closing code

<urn> is a full URN or just the day's number (42 = today's TV-YYYYMMDD-00042).
Handlers run on a worker thread (ui.cli.line), so they only call services and emit signals.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING


from controlroom.kernel import config
from controlroom.errors import InvalidInput
from controlroom.services.incidents.lifecycle import closing_codes
from controlroom.services.incidents.clock import LONDON_TZ
from controlroom.services.views import IncidentView

from ..incidents.hub import HUB


if TYPE_CHECKING:
    from ..kit.context import ConsoleContext




def resolve(ctx: "ConsoleContext", token: str) -> IncidentView:
    token = token.strip().upper()
    if not token:
        raise InvalidInput("Give the incident's URN (or today's number).", field="urn")
    if token.isdigit():
        day = datetime.now(timezone.utc).astimezone(LONDON_TZ).strftime("%Y%m%d")
        token = f"{'TRN' if ctx.training else 'TV'}-{day}-{int(token):05d}"
    return ctx.session.incidents.get_by_urn(token)


def new_incident(ctx: "ConsoleContext", args: str) -> str:
    if not args.strip():
        HUB.newIncidentRequested.emit()
        return "New incident form ready."
    head, sep, summary = args.partition("/")
    if not sep or not summary.strip():
        raise InvalidInput("Usage: N [channel] TYPE [G1-G4] place / summary  (e.g. N ASSAULT G2 Aylesbury / "
                           "fight outside pub)", field="summary")
    tokens = head.split()
    channel = "999"
    if tokens and tokens[0].lower() in config.channels():
        channel = tokens.pop(0).lower()
    if not tokens:
        raise InvalidInput("Give the incident type, e.g. N ASSAULT Aylesbury / summary.", field="incident_type")
    incident_type = tokens.pop(0).upper()
    grade = tokens.pop(0).upper() if tokens and tokens[0].upper() in ("G1", "G2", "G3", "G4") else None
    place_text = " ".join(tokens)
    places = ctx.session.incidents.suggest_places(place_text, limit=1) if place_text else []
    if not places:
        raise InvalidInput(f"Place '{place_text}' not found: type a town, street, postcode, address or "
                           "landmark, or paste 'lat, lon'.", field="location")
    p = places[0]
    inc = ctx.session.incidents.create(channel=channel, incident_type=incident_type, summary=summary.strip(),
                                       lat=p.lat, lon=p.lon, grade=grade, uprn=p.uprn, location_ref=p.ref,
                                       address=None if p.kind == "coordinates" else p.name)
    HUB.incidentTouched.emit(inc.id)
    return f"Created {inc.urn} {inc.grade or 'ungraded'} {inc.incident_type} at {p.name} ({inc.area_code}, {inc.room_code})."


def grade_verb(grade: str):
    def handler(ctx: "ConsoleContext", args: str) -> str:
        token, _, rationale = args.strip().partition(" ")
        inc = resolve(ctx, token)
        after = ctx.session.incidents.grade(inc.id, grade, rationale=rationale.strip() or None)
        HUB.incidentTouched.emit(after.id)
        return f"{after.urn} is now {after.grade}" + (f" (was {inc.grade})." if inc.grade else ".")
    return handler


def log_line(ctx: "ConsoleContext", args: str) -> str:
    token, _, body = args.strip().partition(" ")
    inc = resolve(ctx, token)
    ctx.session.incidents.add_log(inc.id, body)
    return f"Logged on {inc.urn}."


def close_incident(ctx: "ConsoleContext", args: str) -> str:
    head, _, result = args.partition("/")
    tokens = head.split()
    if len(tokens) < 2:
        raise InvalidInput(f"Usage: C <urn> CODE [qualifier] [/ result]. Codes: {', '.join(closing_codes())}.",
                           field="closing_code")
    inc = resolve(ctx, tokens[0])
    code = tokens[1].upper()
    qualifier = tokens[2] if len(tokens) > 2 else None
    label = closing_codes().get(code, {}).get("label", code)
    after = ctx.session.incidents.close(inc.id, closing_code=code, qualifier=qualifier,
                                        result=result.strip() or label)
    return f"Closed {after.urn}: {after.closing_code}."
