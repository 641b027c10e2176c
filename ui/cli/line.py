"""The bottom command line (F2): short verbs for keyboard-first operators."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (QHBoxLayout, QLineEdit, QPlainTextEdit, QSizePolicy, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.errors import ControlRoomError

from ..kit.ops import run_op

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext

# The verbs, all registered in one place (ui/cli/verbs.py); COMMANDS stays importable from here.
from .registry import Command, CommandRegistry, Handler  # noqa: E402,F401
from .verbs import COMMANDS  # noqa: E402


class ReplyView(QPlainTextEdit):
    """The command's reply: plain text, wrapped, scrollable, a fixed few lines high.

    Its size never follows its text, so a long reply (HELP, REC) scrolls here instead of
    widening the main window or squeezing the input (issue 18).
    """

    LINES = 3

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("commandMessage")
        self.setReadOnly(True)
        self.setFocusPolicy(Qt.ClickFocus)  # F2/Tab stay on the input; a click lets one select/scroll
        self.setWordWrapMode(QTextOption.WrapAtWordBoundaryOrAnywhere)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * self.LINES + 12)

    def text(self) -> str:
        return self.toPlainText()

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel-like name the verbs' tests use)
        self.setPlainText(text)


class CommandLine(QWidget):
    """Type a verb and arguments, Enter runs it; the result or error shows beside it."""

    executed = Signal(str, str)  # line, message

    def __init__(self, ctx: "ConsoleContext", registry: CommandRegistry = COMMANDS) -> None:
        super().__init__()
        self.ctx, self.registry = ctx, registry
        self.setObjectName("commandLine")
        self.setAttribute(Qt.WA_StyledBackground, True)  # else the theme's dark band is never painted
        self.edit = QLineEdit(placeholderText="Command (F2) — e.g. N, G1 <URN>, L <URN> text, HELP")
        self.edit.setObjectName("commandEdit")
        self.edit.setMinimumWidth(360)  # never squeezed by a reply
        self.message = ReplyView()
        prompt = QLabel("▶")
        prompt.setObjectName("commandPrompt")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.addWidget(prompt)
        lay.addWidget(self.edit, 2)
        lay.addWidget(self.message, 3)
        self.edit.returnPressed.connect(self.run_current)

    def run_current(self) -> None:
        line = self.edit.text().strip()
        if line:
            self.run(line)

    def run(self, line: str) -> None:
        cmd, args = self.registry.find(line)
        if cmd is None:
            self._show(line, f"Unknown command '{line.split()[0]}'. Type HELP.", error=True)
            return
        if cmd.blocking:
            try:
                self._show(line, cmd.handler(self.ctx, args))
            except ControlRoomError as exc:
                self._show(line, str(exc), error=True)
            return
        run_op(self, lambda: cmd.handler(self.ctx, args), on_done=lambda msg: self._show(line, msg),
               on_error=lambda exc: self._show(line, str(exc), error=True))

    def _show(self, line: str, message: str, *, error: bool = False) -> None:
        self.message.setText(message)
        self.message.setProperty("error", error)
        self.message.style().polish(self.message)
        if error:  # the whole command is selected: the next one replaces it, not appends to it
            if self.edit.text().strip() == line.strip():  # (unless the operator is typing the next one)
                self.edit.selectAll()
        else:
            self.edit.clear()
        self.executed.emit(line, message)
