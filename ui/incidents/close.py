"""'Close incident…' from the form: closing code, qualifier and result, nothing pre-chosen."""
from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLineEdit,
                               QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.services.incidents.lifecycle import closing_codes


class CloseIncidentDialog(QDialog):
    """Asks how the incident ends; OK only once a code and a result are given."""

    def __init__(self, urn: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Close {urn}")
        self.code = QComboBox()
        self.code.addItem("— choose the closing code", None)
        for code, spec in closing_codes().items():
            self.code.addItem(f"{code} — {spec['label']}", code)
        self.qualifier = QComboBox()
        self.result_edit = QLineEdit(placeholderText="Result, e.g. words of advice given, caller satisfied")
        self.result_edit.setMaxLength(4000)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.ok = buttons.button(QDialogButtonBox.Ok)
        self.ok.setText("Close incident")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.code.currentIndexChanged.connect(self._code_changed)
        self.result_edit.textChanged.connect(self._update_ok)
        form = QFormLayout()
        form.addRow("Closing code", self.code)
        form.addRow("Qualifier", self.qualifier)
        form.addRow("Result", self.result_edit)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"Close {urn} with a result:"))
        lay.addLayout(form)
        lay.addWidget(buttons)
        self._code_changed()

    def _code_changed(self, *_: object) -> None:
        self.qualifier.clear()
        self.qualifier.addItem("— none", None)
        code = self.code.currentData()
        for q in (closing_codes().get(code, {}).get("qualifiers") or []) if code else []:
            self.qualifier.addItem(q.replace("_", " "), q)
        if code and not self.result_edit.text():
            self.result_edit.setPlaceholderText(closing_codes()[code]["label"])
        self._update_ok()

    def _update_ok(self, *_: object) -> None:
        self.ok.setEnabled(self.code.currentData() is not None)

    def values(self) -> dict[str, str | None]:
        code = self.code.currentData()
        result = self.result_edit.text().strip() or closing_codes().get(code, {}).get("label", "")
        return {"closing_code": code, "qualifier": self.qualifier.currentData(), "result": result}
