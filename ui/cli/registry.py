"""Command-line verbs: a verb, its handler and its help line (the table ui/cli/verbs.py fills)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext

Handler = Callable[["ConsoleContext", str], str]


@dataclass(frozen=True)
class Command:
    verb: str
    handler: Handler
    help: str
    blocking: bool = False  # True: run on the GUI thread (opens dialogs); else on a worker


class CommandRegistry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def register(self, verb: str, handler: Handler, help: str, *, blocking: bool = False) -> None:
        self._commands[verb.upper()] = Command(verb.upper(), handler, help, blocking)

    def find(self, line: str) -> tuple[Command | None, str]:
        verb, _, args = line.strip().partition(" ")
        return self._commands.get(verb.upper()), args.strip()

    def help_text(self) -> str:
        return "  ".join(f"{c.verb}: {c.help}" for c in sorted(self._commands.values(), key=lambda c: c.verb))
