"""The trainer's control window: load/start/pause/speed/jump/reset, trainees' actions, debrief export."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFileDialog, QHBoxLayout, QHeaderView,
                               QLineEdit, QListWidget, QMessageBox, QProgressBar, QPushButton,
                               QSplitter, QTableView, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.demo.debrief import Debrief, build_debrief
from controlroom.errors import ControlRoomError
from controlroom.demo.scenario import SPEEDS, ScenarioPlayer, format_time, list_scenarios, load_scenario
from controlroom.services.training import TimelineEntry

from controlroom.kernel import palette
from ..kit.context import ConsoleContext
from ..kit.ops import run_op
from ..kit.placeholder import placeholder
from .models import ActionsModel, ExpectModel, ScriptModel

log = logging.getLogger(__name__)
TICK_MS = 250


def _table(model, widths: tuple[int, ...]) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(22)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QTableView.SelectRows)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.Interactive)  # fixed widths: no re-measuring per event
    for col, width in enumerate(widths):
        view.setColumnWidth(col, width)
    header.setStretchLastSection(True)
    return view


class TrainerWindow(QWidget):
    """Drives a ScenarioPlayer; every database call goes through run_op (never on the GUI thread)."""

    def __init__(self, ctx: ConsoleContext, *, clock=None, confirm: bool = True) -> None:
        super().__init__()
        self.setObjectName("trainerWindow")
        self.setWindowTitle("TRAINING — trainer controls")
        self.ctx, self.clock, self.confirm = ctx, clock, confirm
        self.player: ScenarioPlayer | None = None
        self.timeline: list[TimelineEntry] = []
        self._busy = False
        self.trainer = ctx.session.user.username
        self.script, self.actions, self.expects = ScriptModel(), ActionsModel(self.trainer), ExpectModel()
        self._build()
        ctx.bridge.event.connect(self._on_event)
        self.timer = QTimer(self, interval=TICK_MS, timeout=self._tick)
        self.timer.start()
        self._refresh_consoles()

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        top = QHBoxLayout()
        self.chooser = QComboBox()
        self.chooser.addItems(list_scenarios())
        self.load_btn = QPushButton("Load")
        self.start_btn, self.pause_btn = QPushButton("Start"), QPushButton("Pause")
        self.reset_btn = QPushButton("Reset to start")
        self.speed_group = QButtonGroup(self)
        top.addWidget(QLabel("Scenario:"))
        top.addWidget(self.chooser, 1)
        for w in (self.load_btn, self.start_btn, self.pause_btn):
            top.addWidget(w)
        for s in SPEEDS:
            b = QPushButton(f"×{s:g}", checkable=True)
            b.setChecked(s == 1)
            self.speed_group.addButton(b, int(s))
            top.addWidget(b)
        self.jump_edit = QLineEdit(placeholderText="T+mm:ss")
        self.jump_edit.setMaximumWidth(90)
        self.jump_btn = QPushButton("Jump")
        for w in (self.jump_edit, self.jump_btn, self.reset_btn):
            top.addWidget(w)
        root.addLayout(top)

        status = QHBoxLayout()
        self.clock_label = QLabel("No scenario loaded")
        self.clock_label.setStyleSheet("font-size: 14pt; font-weight: bold;")
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.message = QLabel("")
        status.addWidget(self.clock_label)
        status.addWidget(self.progress, 1)
        status.addWidget(self.message)
        root.addLayout(status)
        self.description = QLabel("")
        self.description.setWordWrap(True)
        root.addWidget(self.description)

        split = QSplitter(Qt.Horizontal)
        left = QSplitter(Qt.Vertical)
        self.script_view = _table(self.script, (78, 110, 420, 60))
        self.expect_view = _table(self.expects, (300, 60, 60, 120, 80))
        left.addWidget(self._titled("Scenario script", self.script_view))
        left.addWidget(self._titled("Expected timings", self.expect_view))
        right = QSplitter(Qt.Vertical)
        self.actions_view = _table(self.actions, (70, 120, 70, 170, 200))
        self.consoles = QListWidget()
        right.addWidget(self._titled("Trainees' actions", self.actions_view))
        right.addWidget(self._titled("Trainees' consoles", self.consoles))
        right.setSizes([500, 140])
        split.addWidget(left)
        split.addWidget(right)
        root.addWidget(split, 1)

        bottom = QHBoxLayout()
        bottom.addStretch(1)
        self.export_btns = {fmt: QPushButton(f"Export debrief ({fmt.upper()})") for fmt in ("txt", "html", "pdf")}
        for fmt, b in self.export_btns.items():
            b.clicked.connect(lambda _=False, f=fmt: self._export_clicked(f))
            bottom.addWidget(b)
        root.addLayout(bottom)

        self.load_btn.clicked.connect(lambda: self.load(self.chooser.currentText()))
        self.start_btn.clicked.connect(self.start)
        self.pause_btn.clicked.connect(self.pause)
        self.reset_btn.clicked.connect(self._reset_clicked)
        self.jump_btn.clicked.connect(lambda: self.jump(self.jump_edit.text()))
        self.speed_group.idClicked.connect(lambda s: self.set_speed(float(s)))
        self._enable()

    @staticmethod
    def _titled(title: str, widget: QWidget) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 4, 0, 0)
        lab = QLabel(title)
        lab.setStyleSheet("font-weight: bold")
        lay.addWidget(lab)
        lay.addWidget(widget, 1)
        return box

    def _enable(self) -> None:
        loaded = self.player is not None
        running = loaded and self.player.state == "running"
        for w in (self.start_btn, self.jump_btn, self.reset_btn, *self.speed_group.buttons(),
                  *self.export_btns.values()):
            w.setEnabled(loaded and not self._busy)
        self.start_btn.setEnabled(loaded and not running and not self._busy)
        self.pause_btn.setEnabled(running and not self._busy)

    # -- actions ----------------------------------------------------------------------------------
    def _op(self, fn, on_done=None) -> None:
        self._busy = True
        self._enable()

        def done(result) -> None:
            self._busy = False
            self._after_change()
            if on_done:
                on_done(result)

        def failed(err: ControlRoomError) -> None:
            self._busy = False
            self._after_change()
            self.message.setStyleSheet(f"color: {palette.COUNTDOWN_BREACH}")
            self.message.setText(str(err))

        run_op(self, fn, on_done=done, on_error=failed)

    def load(self, name: str) -> None:
        """Load a scenario and reset the training database to its start."""
        try:
            scenario = load_scenario(name)
        except ControlRoomError as exc:
            self.message.setText(str(exc))
            return
        kw = {"clock": self.clock} if self.clock else {}
        self.player = ScenarioPlayer(self.ctx.session, scenario, **kw)
        self.script.load(scenario)
        self.description.setText(f"{scenario.title} — {scenario.description}")
        self.actions.replace([])
        self.timeline = []
        self.expects.set_results([])
        self.message.setText("Resetting the training database…")
        self._op(self.player.reset, lambda _: self.message.setText("Loaded; database at the scenario start."))

    def start(self) -> None:
        if self.player:
            self._op(self.player.start, self._fired)

    def pause(self) -> None:
        if self.player:
            self._op(self.player.pause)

    def set_speed(self, speed: float) -> None:
        if self.player:
            self._op(lambda: self.player.set_speed(speed))

    def jump(self, to: str) -> None:
        if self.player and to.strip():
            self._op(lambda: self.player.jump(to), self._fired)

    def reset(self) -> None:
        if self.player:
            self.script.clear_outcomes()
            self._op(self.player.reset, lambda _: self.message.setText("Reset to the scenario start."))

    def _reset_clicked(self) -> None:
        if self.confirm and QMessageBox.question(
                self, "Reset training database",
                "Empty the training database back to the scenario start? Trainees' work is lost "
                "(export the debrief first).") != QMessageBox.Yes:
            return
        self.reset()

    def _tick(self) -> None:
        self._show_clock()
        if self.player and self.player.state == "running" and not self._busy:
            self._busy = True
            run_op(self, self.player.tick, on_done=self._tick_done, on_error=self._tick_failed)

    def _tick_done(self, fired) -> None:
        self._busy = False
        self._fired(fired)
        if self.player and self.player.state == "finished":
            self._after_change()

    def _tick_failed(self, err: ControlRoomError) -> None:
        self._busy = False
        self.message.setText(str(err))

    def _fired(self, fired) -> None:
        if fired:
            self.script.mark(list(fired))
            self.script_view.scrollTo(self.script.index(fired[-1].index, 0))
        self._update_expectations()

    def _after_change(self) -> None:
        self._enable()
        self._show_clock()
        if self.player:
            checked = self.speed_group.button(int(self.player.speed))
            if checked:
                checked.setChecked(True)

    def _show_clock(self) -> None:
        p = self.player
        if p is None:
            return
        pos = p.position
        self.clock_label.setText(f"{format_time(pos)} / {format_time(p.scenario.duration)} · "
                                 f"{p.state.upper()} · ×{p.speed:g}")
        self.progress.setValue(int(100 * pos / p.scenario.duration) if p.scenario.duration else 0)

    # -- events and debrief -----------------------------------------------------------------------
    def _on_event(self, ev) -> None:
        if ev.kind == "training.reset":
            self.timeline = []
            self.actions.replace([])
        entry = TimelineEntry(seq=ev.seq, at=ev.at or datetime.now(timezone.utc), kind=ev.kind, entity_id=ev.entity_id,
                              username=ev.username, console_id=ev.console_id, room_code=ev.room_code,
                              payload=ev.payload if isinstance(ev.payload, dict) else {})
        if ev.kind in ("unit.position", "console.heartbeat", "console.presence"):
            return
        self.timeline.append(entry)
        self.actions.add(entry)
        if ev.kind.startswith("console."):
            self._refresh_consoles()
        self._update_expectations()

    def _update_expectations(self) -> None:
        if self.player:
            self.expects.set_results(list(self.debrief(now=datetime.now(timezone.utc)).results))

    def debrief(self, now: datetime | None = None) -> Debrief:
        assert self.player is not None
        entries = [e for e in self.timeline if e.seq > self.player.start_seq]
        return build_debrief(self.player.scenario, entries, trainer=self.trainer,
                             ref_seq=self.player.ref_seq, now=now)

    def _refresh_consoles(self) -> None:
        def show(rows) -> None:
            self.consoles.clear()
            for c in rows:
                if c.username != self.trainer:
                    self.consoles.addItem(f"{c.id}  ·  {c.username}  ·  {c.room_code or ''}  ·  "
                                          f"seen {c.last_seen.astimezone().strftime('%H:%M:%S')}")
        run_op(self, self.ctx.session.exercise.consoles, on_done=show)

    def export_debrief(self, path: str | Path, fmt: str) -> Path:
        """Write the debrief as txt, html or pdf (all carry the TRAINING watermark)."""
        path = Path(path)
        report = self.debrief()
        if fmt == "txt":
            path.write_text(report.to_text(), encoding="utf-8")
        elif fmt == "html":
            path.write_text(report.to_html(), encoding="utf-8")
        elif fmt == "pdf":
            from PySide6.QtGui import QPageSize, QPdfWriter, QTextDocument
            writer = QPdfWriter(str(path))
            writer.setPageSize(QPageSize(QPageSize.A4))
            writer.setTitle(f"TRAINING debrief — {report.scenario.title}")
            doc = QTextDocument()
            doc.setHtml(report.to_html())
            doc.print_(writer)
        else:
            raise ValueError(fmt)
        return path

    def _export_clicked(self, fmt: str) -> None:
        if not self.player:
            return
        name = f"debrief-{self.player.scenario.name}.{fmt}"
        path, _ = QFileDialog.getSaveFileName(self, "Export debrief", name)
        if path:
            self.message.setText(f"Debrief written to {self.export_debrief(path, fmt)}")


def make_panel(ctx: ConsoleContext) -> QWidget:
    if not ctx.training:
        return placeholder("Trainer controls work on training consoles only.")
    return TrainerWindow(ctx)
