"""Every command-line verb, registered here and only here (issue 24: no verb registers itself as a
side effect of importing a panel). The handlers live beside their kind: incidents.py (N, G1..G4,
L, C), despatch.py (D, DV, ARR, CLR, ST, REC), talkgroups.py (TG, TGR, TGM, TGP),
police_command.py (FA, ACK: police command, not this line), and the replay window (REPLAY).
Handlers run on a worker thread unless `blocking` (they open a window or dialog)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import despatch, incidents, police_command, talkgroups
from .registry import CommandRegistry

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext


def _replay(ctx: "ConsoleContext", args: str) -> str:
    from ..replay.window import replay_verb  # the replay window (and its map) loads when first asked for
    return replay_verb(ctx, args)


def build_registry() -> CommandRegistry:
    r = CommandRegistry()
    r.register("HELP", lambda ctx, args: r.help_text(), "list commands", blocking=True)
    # incidents
    r.register("N", incidents.new_incident, "new incident: N [channel] TYPE [G1-4] place / summary")
    for g in ("G1", "G2", "G3", "G4"):
        r.register(g, incidents.grade_verb(g), f"grade {g}: {g} <urn> [rationale]")
    r.register("L", incidents.log_line, "log: L <urn> text")
    r.register("C", incidents.close_incident, "close: C <urn> CODE [qualifier] [/ result]")
    # despatch
    r.register("D", despatch.assign, "despatch: D <urn> <callsign>")
    r.register("DV", lambda ctx, args: despatch.assign(ctx, args, divert=True), "divert: DV <urn> <callsign>")
    r.register("ARR", despatch.arrived, "at scene: ARR <urn> <callsign>")
    r.register("CLR", despatch.clear, "clear unit: CLR <urn> <callsign> <result>")
    r.register("ST", despatch.unit_status, "unit status: ST <callsign> <status> [note]")
    r.register("REC", despatch.recommend, "recommended units: REC <urn>")
    # talk groups
    r.register("TG", talkgroups.cmd_allocate, "TG <URN> [group] allocate a talk group")
    r.register("TGR", talkgroups.cmd_release, "TGR <URN> [group] release talk group(s)")
    r.register("TGM", talkgroups.cmd_move, "TGM <group> <callsigns> move units to a talk group")
    r.register("TGP", talkgroups.cmd_patch, "TGP <group> <partner> patch a partner group")
    # police command (firearms)
    r.register("FA", police_command.declare_firearms, "declare firearms: FA <urn>")
    r.register("ACK", police_command.accept_firearms, "accept firearms command (inspector): ACK <urn>")
    # replay
    r.register("REPLAY", _replay, "open the time-travel replay window (inspector, trainer, auditor)", blocking=True)
    return r


COMMANDS = build_registry()
