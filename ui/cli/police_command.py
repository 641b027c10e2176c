"""Command-line verbs for firearms command.

    FA <urn>     declare a spontaneous firearms incident (alerts every inspector console)
    ACK <urn>    the duty inspector accepts initial tactical firearms command (ITFC)

<urn> is a full URN or today's number, as for the incident verbs. Handlers run on a worker thread.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .incidents import resolve

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext


def declare_firearms(ctx: "ConsoleContext", args: str) -> str:
    inc = resolve(ctx, args.split()[0] if args.split() else "")
    after = ctx.session.command.declare_firearms(inc.id)
    return f"{after.urn} declared a FIREARMS incident: duty inspector alerted."


def accept_firearms(ctx: "ConsoleContext", args: str) -> str:
    inc = resolve(ctx, args.split()[0] if args.split() else "")
    role = ctx.session.command.accept_firearms_command(inc.id)
    return f"{role.holder} is Initial Tactical Firearms Commander on {inc.urn}."
