"""Command panel: incidents under command, the command chain, the armed-deployment state (big and
clear), the NDM decision log and the METHANE form with its versions. Writes go through run_op."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QCheckBox, QComboBox, QFormLayout,
                               QGridLayout, QHBoxLayout, QHeaderView, QLineEdit, QListWidget,
                               QListWidgetItem, QPlainTextEdit, QPushButton, QSplitter, QTableView,
                               QTabWidget, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.errors import ControlRoomError, NotPermitted
from controlroom.services.command.views import (METHANE_FIELDS, NDM_STAGES, ROLE_ORDER, ROLE_TITLES,
    CommandView, MethaneView, format_methane, row_view)

from controlroom.kernel import palette
from .models import DecisionModel, UnderCommandModel, local_time
from ..kit.ops import run_op

if TYPE_CHECKING:
    from ..kit.context import ConsoleContext

INSPECTOR_ROLES = ("inspector", "trainer")
NOT_AUTHORISED = "ARMED DEPLOYMENT NOT AUTHORISED"
SHORT_HEADINGS = {"major_incident": "Major incident", "exact_location": "Exact location",
                  "incident_type": "Type", "hazards": "Hazards", "access": "Access",
                  "casualties": "Casualties", "emergency_services": "Services"}


def _banner_style(colour: str) -> str:
    return (f"QLabel {{ background: {colour}; color: white; font-weight: bold; padding: 8px; "
            "border-radius: 4px; }")


class CommandPanel(QWidget):
    def __init__(self, ctx: "ConsoleContext") -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("commandPanel")
        self.command = ctx.session.command
        self.is_inspector = ctx.session.user.role in INSPECTOR_ROLES
        self.current: int | None = None
        self.model = UnderCommandModel()
        self.decisions = DecisionModel()
        self.methane_rows: list[MethaneView] = []

        self.table = QTableView()
        self.table.setObjectName("underCommand")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)

        self.title = QLabel("Select an incident under command")
        self.title.setObjectName("commandTitle")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold; font-size: 13pt;")
        self.banner = QLabel()
        self.banner.setObjectName("armedBanner")
        self.banner.setAlignment(Qt.AlignCenter)
        self.banner.setTextFormat(Qt.PlainText)
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.chain = QLabel()
        self.chain.setObjectName("commandChain")
        self.chain.setTextFormat(Qt.PlainText)
        self.chain.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("commandMessage")
        self.message.setWordWrap(True)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._actions_tab(), "Command")
        self.tabs.addTab(self._decisions_tab(), "Decision log")
        self.tabs.addTab(self._methane_tab(), "METHANE")

        detail = QWidget()
        dl = QVBoxLayout(detail)
        dl.setContentsMargins(0, 0, 0, 0)
        for w in (self.title, self.banner, self.chain, self.tabs, self.message):
            dl.addWidget(w)
        dl.setStretch(3, 1)
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.table)
        split.addWidget(detail)
        split.setSizes([140, 560])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(split)

        ctx.bridge.event.connect(self.on_event)
        ctx.selection.incidentSelected.connect(self.select_incident)
        self._set_enabled(False)
        run_op(self, self.command.under_command, on_done=self._loaded, on_error=self._error)

    # -- building --------------------------------------------------------------------------------
    def _actions_tab(self) -> QWidget:
        w = QWidget()
        g = QGridLayout(w)
        self.accept_btn = QPushButton("Accept firearms command (ITFC)")
        self.accept_btn.clicked.connect(lambda: self._write(self.command.accept_firearms_command,
                                                            "You hold ITFC."))
        self.threat = QPlainTextEdit(placeholderText="Threat assessment")
        self.strategy = QPlainTextEdit(placeholderText="Working strategy")
        self.rationale = QPlainTextEdit(placeholderText="Rationale")
        self.authorise_btn = QPushButton("Record authorisation of armed deployment")
        self.authorise_btn.setObjectName("authoriseButton")
        self.authorise_btn.clicked.connect(self._authorise)
        self.role_box = QComboBox()
        self.role_box.addItems([r for r in ROLE_ORDER])
        self.holder = QLineEdit(placeholderText="Name of the commander taking the role")
        self.accredited = QCheckBox("Accredited")
        self.reason = QLineEdit(placeholderText="Reason for handover")
        self.assign_btn = QPushButton("Hand over role")
        self.assign_btn.clicked.connect(self._assign)
        self.major_box = QComboBox()
        self.major_box.addItems(["major", "critical"])
        self.major_btn = QPushButton("Declare")
        self.major_btn.clicked.connect(lambda: self._write(
            lambda i: self.command.declare_major(i, kind=self.major_box.currentText()), "Declared."))
        for box in (self.threat, self.strategy, self.rationale):
            box.setMaximumHeight(54)
        g.addWidget(self.accept_btn, 0, 0, 1, 4)
        g.addWidget(self.threat, 1, 0, 1, 4)
        g.addWidget(self.strategy, 2, 0, 1, 4)
        g.addWidget(self.rationale, 3, 0, 1, 4)
        g.addWidget(self.authorise_btn, 4, 0, 1, 4)
        g.addWidget(self.role_box, 5, 0)
        g.addWidget(self.holder, 5, 1, 1, 2)
        g.addWidget(self.accredited, 5, 3)
        g.addWidget(self.reason, 6, 0, 1, 3)
        g.addWidget(self.assign_btn, 6, 3)
        g.addWidget(QLabel("Major / critical incident:"), 7, 0, 1, 2)
        g.addWidget(self.major_box, 7, 2)
        g.addWidget(self.major_btn, 7, 3)
        g.setRowStretch(8, 1)
        return w

    def _decisions_tab(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        self.decision_view = QTableView()
        self.decision_view.setObjectName("decisionLog")
        self.decision_view.setModel(self.decisions)
        self.decision_view.verticalHeader().hide()
        self.decision_view.setWordWrap(True)
        hh = self.decision_view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.Interactive)
        hh.setStretchLastSection(True)
        for col, width in enumerate((64, 150, 170, 170)):
            self.decision_view.setColumnWidth(col, width)
        self.stage = QComboBox()
        for n, name in NDM_STAGES.items():
            self.stage.addItem(f"{n} {name}", n)
        self.decision_text = QLineEdit(placeholderText="Decision")
        self.decision_why = QLineEdit(placeholderText="Rationale")
        self.decision_options = QLineEdit(placeholderText="Options considered (optional)")
        self.decision_btn = QPushButton("Add to decision log")
        self.decision_btn.clicked.connect(self._log_decision)
        v.addWidget(self.decision_view, 1)
        for x in (self.stage, self.decision_text, self.decision_why, self.decision_options, self.decision_btn):
            v.addWidget(x)
        return w

    def _methane_tab(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        form = QFormLayout()
        self.methane_edits: dict[str, QLineEdit] = {}
        for key, (letter, heading) in METHANE_FIELDS.items():
            edit = QLineEdit(placeholderText=heading)
            edit.setToolTip(heading)
            self.methane_edits[key] = edit
            form.addRow(f"<b>{letter}</b> {SHORT_HEADINGS[key]}", edit)
        self.methane_btn = QPushButton("Save new version")
        self.methane_btn.clicked.connect(self._save_methane)
        form.addRow(self.methane_btn)
        self.versions = QListWidget()
        self.versions.setObjectName("methaneVersions")
        self.versions.setMaximumWidth(170)
        self.versions.currentRowChanged.connect(self._show_version)
        self.methane_text = QPlainTextEdit(readOnly=True)
        self.methane_text.setObjectName("methaneText")
        copy = QPushButton("Copy text for other agencies")
        copy.clicked.connect(lambda: QApplication.clipboard().setText(self.methane_text.toPlainText()))
        below = QHBoxLayout()
        below.addWidget(self.versions)
        below.addWidget(self.methane_text, 1)
        v.addLayout(form)
        v.addWidget(QLabel("Versions (select one to see the text passed to other agencies)"))
        v.addLayout(below, 1)
        v.addWidget(copy)
        return w

    # -- state ------------------------------------------------------------------------------------
    def _loaded(self, views: list[CommandView]) -> None:
        self.model.load(views)
        if views and self.current is None:
            self.select_incident(views[0].incident_id)

    def select_incident(self, incident_id: int) -> None:
        row = self.model.row_of(incident_id)
        if row < 0:
            return
        self.table.selectionModel().setCurrentIndex(
            self.model.index(row, 0), QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)

    def _row_changed(self, current: Any, _previous: Any) -> None:
        view = self.model.data(current, UnderCommandModel.ViewRole) if current.isValid() else None
        self.current = view.incident_id if view else None
        self._show(view)
        self.decisions.show(self.current, [])
        self.methane_rows = []
        self.versions.clear()
        self.methane_text.clear()
        if self.current is not None:
            iid = self.current
            run_op(self, lambda: self.command.decisions(iid),
                   on_done=lambda rows: iid == self.current and self.decisions.show(iid, rows))
            run_op(self, lambda: self.command.methane_versions(iid),
                   on_done=lambda rows: iid == self.current and self._methane_loaded(rows))

    def _show(self, c: CommandView | None) -> None:
        self._set_enabled(c is not None)
        if c is None:
            self.title.setText("Select an incident under command")
            self.banner.hide()
            self.chain.clear()
            return
        kind = " + ".join(x for x in (c.major_kind and c.major_kind.upper() + " INCIDENT",
                                       c.firearms and "FIREARMS") if x)
        self.title.setText(f"{c.urn} — {kind} — {c.summary}")
        if not c.firearms:
            self.banner.hide()
        elif c.armed_authorised:
            self.banner.setText(f"ARMED DEPLOYMENT AUTHORISED\n"
                                f"{local_time(c.armed_authorised_at)} by {c.armed_authorised_by}")
            self.banner.setStyleSheet(_banner_style(palette.COUNTDOWN_OK) + "QLabel { font-size: 14pt; }")
            self.banner.show()
        else:
            self.banner.setText(f"⚠ {NOT_AUTHORISED} ⚠\nARVs cannot be "
                                "assigned until the duty inspector records threat assessment, working "
                                "strategy and rationale.")
            self.banner.setStyleSheet(_banner_style(palette.COUNTDOWN_BREACH) + "QLabel { font-size: 16pt; }")
            self.banner.show()
        rows = [f"{r.role}  {r.holder}"
                f"{'' if r.accredited or r.role == 'ITFC' else ' (interim, not accredited)'}  since {local_time(r.at)}"
                f"{', from ' + r.from_holder if r.from_holder else ''}" for r in c.roles]
        self.chain.setText("Command chain\n" + "\n".join(rows) if rows else  # plain text: names typed
                           "Command chain: nobody has taken command yet")
        self.chain.setToolTip("\n".join(f"{r.role}: {ROLE_TITLES[r.role]}" for r in c.roles))
        self.accept_btn.setEnabled(self.is_inspector and c.firearms and "ITFC" not in c and "TFC" not in c)
        self.authorise_btn.setEnabled(self.is_inspector and c.firearms and not c.armed_authorised)

    def _set_enabled(self, on: bool) -> None:
        for w in (self.tabs,):
            w.setEnabled(on)
        if on and not self.is_inspector:  # others see the record but cannot command
            for b in (self.accept_btn, self.authorise_btn, self.assign_btn, self.major_btn,
                      self.decision_btn, self.methane_btn):
                b.setEnabled(False)
                b.setToolTip("Inspector only")

    def _methane_loaded(self, rows: list[MethaneView]) -> None:
        self.methane_rows = []
        self.versions.clear()
        for r in rows:
            self._add_version(r)

    def _add_version(self, r: MethaneView) -> None:
        if any(x.version == r.version for x in self.methane_rows):
            return
        self.methane_rows.append(r)
        self.versions.addItem(QListWidgetItem(f"v{r.version}  {local_time(r.at)}  {r.by}"))
        self.versions.setCurrentRow(self.versions.count() - 1)
        for key, edit in self.methane_edits.items():
            edit.setText(getattr(r, key) or "")

    def _show_version(self, row: int) -> None:
        if 0 <= row < len(self.methane_rows):
            c = self.model.get(self.current) if self.current else None
            self.methane_text.setPlainText(format_methane(self.methane_rows[row], urn=c.urn if c else ""))

    # -- events -----------------------------------------------------------------------------------
    def on_event(self, ev: Any) -> None:
        if not (ev.kind.startswith("command.") or ev.kind == "incident.closed"):
            return
        payload = ev.payload if isinstance(ev.payload, dict) else {}
        changed = self.model.apply_event(ev.kind, payload)
        if ev.kind == "command.decision":
            self.decisions.append_payload(payload)
        elif ev.kind == "command.methane" and payload.get("incident_id") == self.current:
            self._add_version(row_view(MethaneView, payload))
        if changed is not None and changed == self.current:
            self._show(self.model.get(changed))
        elif changed is not None and self.current is None:
            self.select_incident(changed)

    # -- writes -----------------------------------------------------------------------------------
    def _write(self, fn: Callable[[int], Any], ok: str, after: Callable[[], None] | None = None) -> None:
        if self.current is None:
            return
        iid = self.current

        def done(_result: Any) -> None:
            self._say(ok, error=False)
            if after:
                after()

        run_op(self, lambda: fn(iid), on_done=done, on_error=self._error)

    def ask_password(self) -> str | None:
        """The inspector re-enters their password to record an armed authorisation (tests replace
        this)."""
        from PySide6.QtWidgets import QInputDialog, QLineEdit
        text, ok = QInputDialog.getText(self, "Confirm it is you",
                                        "Re-enter your password to record the armed authorisation:",
                                        QLineEdit.Password)
        return text if ok else None

    def _authorise(self) -> None:
        t, s, r = (b.toPlainText() for b in (self.threat, self.strategy, self.rationale))
        password = self.ask_password()
        if password is None:
            self._say("Not recorded: the password was not re-entered.", error=True)
            return
        session = self.ctx.session

        def authorise(i: int) -> Any:
            # a fresh sign-in to the database proves the inspector is at this console
            if not session.verify_password(password, purpose="reauthenticate"):
                raise NotPermitted("Wrong password: the armed authorisation was NOT recorded.")
            return self.command.authorise_armed_deployment(
                i, threat_assessment=t, working_strategy=s, rationale=r)

        self._write(authorise, "Armed deployment authorised.",
                    after=lambda: [b.clear() for b in (self.threat, self.strategy, self.rationale)])

    def _assign(self) -> None:
        role, holder = self.role_box.currentText(), self.holder.text()
        acc, reason = self.accredited.isChecked(), self.reason.text() or None
        self._write(lambda i: self.command.assign_role(i, role, holder=holder, accredited=acc, reason=reason),
                    f"{role} handed over to {holder}.", after=lambda: (self.holder.clear(), self.reason.clear()))

    def _log_decision(self) -> None:
        stage, d = self.stage.currentData(), self.decision_text.text()
        why, opts = self.decision_why.text(), self.decision_options.text() or None
        self._write(lambda i: self.command.log_decision(i, stage=stage, decision=d, rationale=why,
                                                        options_considered=opts), "Decision logged.",
                    after=lambda: [e.clear() for e in (self.decision_text, self.decision_why,
                                                       self.decision_options)])

    def _save_methane(self) -> None:
        fields = {k: e.text() for k, e in self.methane_edits.items()}
        self._write(lambda i: self.command.methane(i, **fields), "METHANE saved as a new version.")

    def _say(self, text: str, *, error: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {palette.theme_text('error')};" if error else "")

    def _error(self, err: ControlRoomError) -> None:
        self._say(str(err), error=True)


def make_panel(ctx: "ConsoleContext") -> QWidget:
    """The command panel; on an inspector's console it also arms the firearms alert."""
    panel = CommandPanel(ctx)
    if ctx.session.user.role in INSPECTOR_ROLES:
        from .firearms_alert import FirearmsAlert
        panel.alert = FirearmsAlert(ctx, parent=panel)  # type: ignore[attr-defined]
    return panel
