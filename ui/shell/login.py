"""Sign-in dialog: user name and password; a wrong password is said plainly, nothing else."""
from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QVBoxLayout)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.errors import ControlRoomError
from controlroom.session import Session


class LoginDialog(QDialog):
    def __init__(self, open_fn: Callable[[str, str], Session], *, training: bool = False,
                 username: str = "") -> None:
        super().__init__()
        self.open_fn = open_fn
        self.session: Session | None = None
        self.setWindowTitle(("TRAINING — " if training else "") + "controlroom — sign in")
        self.username = QLineEdit(username, placeholderText="e.g. handler.north")
        self.password = QLineEdit(echoMode=QLineEdit.Password)
        self.error = QLabel("")
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("User name", self.username)
        form.addRow("Password", self.password)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Sign in")
        buttons.accepted.connect(self.try_sign_in)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        if training:
            band = QLabel("TRAINING")
            band.setObjectName("trainingBand")
            lay.addWidget(band)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        (self.password if username else self.username).setFocus()

    def try_sign_in(self) -> None:
        try:
            self.session = self.open_fn(self.username.text().strip(), self.password.text())
        except ControlRoomError as exc:
            self.error.setText(str(exc))
            self.password.selectAll()
            self.password.setFocus()
            return
        self.accept()
