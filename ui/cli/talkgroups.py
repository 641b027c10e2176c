"""Talk-group verbs for the command line: TG, TGR, TGM, TGP."""
from __future__ import annotations

from typing import TYPE_CHECKING

from controlroom.errors import InvalidInput

from .incidents import resolve

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext


def cmd_allocate(ctx: "ConsoleContext", args: str) -> str:
    """TG <URN> [group]: allocate a free (or the named) incident talk group."""
    parts = args.split()
    if not parts:
        raise InvalidInput("Usage: TG <URN> [talk group]")
    inc = resolve(ctx, parts[0])
    v = ctx.session.talkgroups.allocate(inc.id, name=parts[1] if len(parts) > 1 else None)
    return f"{v.name} allocated to {inc.urn}."


def cmd_release(ctx: "ConsoleContext", args: str) -> str:
    """TGR <URN> [group]: release the named group, or every group of the incident."""
    parts = args.split()
    if not parts:
        raise InvalidInput("Usage: TGR <URN> [talk group]")
    inc = resolve(ctx, parts[0])
    names = parts[1:] or [g.name for g in ctx.session.talkgroups.for_incident(inc.id)]
    if not names:
        raise InvalidInput(f"{inc.urn} has no talk groups allocated.")
    for name in names:
        ctx.session.talkgroups.release(inc.id, name)
    return f"{', '.join(n.upper() for n in names)} released from {inc.urn}."


def cmd_move(ctx: "ConsoleContext", args: str) -> str:
    """TGM <group> <callsign> ...: move units onto a talk group."""
    parts = args.split()
    if len(parts) < 2:
        raise InvalidInput("Usage: TGM <talk group> <callsign> [callsign ...]")
    v = ctx.session.talkgroups.move_units(parts[0], parts[1:])
    return f"{', '.join(c.upper() for c in parts[1:])} moved to {v.name}."


def cmd_patch(ctx: "ConsoleContext", args: str) -> str:
    """TGP <group> <partner group>: patch a partner or hailing group to an incident group."""
    parts = args.split()
    if len(parts) != 2:
        raise InvalidInput("Usage: TGP <incident talk group> <partner or hailing group>")
    v = ctx.session.talkgroups.patch(parts[0], parts[1])
    return f"{v.name} patched with {', '.join(v.patched_with)}."
