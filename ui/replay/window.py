"""REPLAY window: the virtual room as it was at any moment, read-only, marked with a violet band.

Time slider (by event), play/pause at ×1–×60, jump to an incident's creation, "what did console X
see" (its room's incidents at that moment), a map (MapPanel upsert API), the command chain of the
selected incident, and export of the segment since the last mark as a text/HTML report.
Inspectors, trainers and auditors only (permission replay.view).
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QPushButton,
                               QSlider, QSplitter, QTableView, QTextEdit, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.replay.state import VirtualRoomState
from controlroom.replay.report import segment_report
from controlroom.kernel.roles import PERMISSIONS

from controlroom.kernel import palette
from ..kit.ops import run_op
from .models import IdRole, ReplayIncidentModel

if TYPE_CHECKING:
    from controlroom.replay.store import Replayer
    from ..kit.context import ConsoleContext

SPEEDS = (1, 2, 5, 10, 30, 60)
TICK_MS = 250


def may_replay(role: str) -> bool:
    """Replay is read-only, so a trainer may use it on the live system too (roles.py lists it)."""
    return "replay.view" in PERMISSIONS.get(role, frozenset())


class ReplayWindow(QWidget):
    def __init__(self, ctx: "ConsoleContext", *, replayer: Replayer | None = None,
                 with_map: bool = True) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("replayWindow")
        self.setWindowTitle("REPLAY — virtual control room")
        self.replayer = replayer or ctx.session.replayer()
        self.state: Optional[VirtualRoomState] = None
        self.mark_seq: Optional[int] = None
        self.selected: Optional[int] = None
        self._shown_units: set[str] = set()
        self._shown_incidents: set[int] = set()

        self.band = QLabel("REPLAY")
        self.band.setObjectName("replayBand")
        self.band.setAlignment(Qt.AlignCenter)
        self.band.setStyleSheet(f"background: {palette.REPLAY_BAND}; color: white; font-weight: bold; "
                                "font-size: 15px; padding: 4px;")
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setObjectName("replaySlider")
        self.slider.valueChanged.connect(self.seek)
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._play_toggled)
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"×{s}", s)
        self.jump = QComboBox()
        self.jump.setObjectName("replayJump")
        self.jump.addItem("Jump to incident creation…", None)
        self.jump.activated.connect(self._jump_chosen)
        self.console = QComboBox()
        self.console.setObjectName("replayConsole")
        self.console.addItem("Whole virtual room", None)
        self.console.activated.connect(lambda _i: self._render())
        self.mark_button = QPushButton("Mark start")
        self.mark_button.clicked.connect(self.mark)
        self.export_button = QPushButton("Export segment…")
        self.export_button.clicked.connect(lambda: self._export_dialog())

        self.model = ReplayIncidentModel()
        self.table = QTableView()
        self.table.setObjectName("replayIncidents")
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((150, 48, 80, 56, 90, 110)):
            self.table.setColumnWidth(col, width)
        self.table.clicked.connect(lambda idx: self.select(idx.data(IdRole)))
        self.chain = QTextEdit(readOnly=True)
        self.chain.setObjectName("replayChain")
        self.map: Any = self._make_map() if with_map else None

        controls = QHBoxLayout()
        for w in (self.play_button, self.speed, self.jump, self.console, self.mark_button, self.export_button):
            controls.addWidget(w)
        left = QSplitter(Qt.Vertical)
        left.addWidget(self.table)
        left.addWidget(self.chain)
        left.setSizes([380, 200])
        body = QSplitter(Qt.Horizontal)
        body.addWidget(left)
        if self.map is not None:
            body.addWidget(self.map)
        body.setSizes([560, 640])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.band)
        lay.addWidget(self.slider)
        lay.addLayout(controls)
        lay.addWidget(body, 1)
        self.timer = QTimer(self, interval=TICK_MS, timeout=self._tick)
        self.ready = False
        self.band.setText("REPLAY — reading the event log…")
        run_op(self, self.replayer.build, on_done=lambda _r: self._built(),
               on_error=lambda err: self.band.setText(f"REPLAY — {err}"))

    def _make_map(self) -> Any:
        """A bare MapPanel (no live MapFeed: this map shows the past, fed by _render_map)."""
        try:
            from maps.cache import ensure_base_map

            from ..map.panel import MapPanel, _areas_from_database
            html = ensure_base_map(_areas_from_database(self.ctx), dict(palette.ROOM_COLOURS),
                                   training=self.ctx.training)
            return MapPanel(html_path=html)
        except Exception:  # no WebEngine or no base map here: the replay still works without a map
            return None

    # ---- loading and moving in time -------------------------------------------------------------
    def _built(self) -> None:
        r = self.replayer
        self.slider.blockSignals(True)
        self.slider.setRange(r.first_seq, r.head_seq)
        self.slider.setValue(r.first_seq)
        self.slider.blockSignals(False)
        for iid, (seq, urn) in sorted(r.incident_creations().items(), key=lambda kv: kv[1][0]):
            self.jump.addItem(urn, seq)
        consoles = r.state_at(r.head_seq).consoles
        for cid, c in sorted(consoles.items()):
            self.console.addItem(f"{cid} ({c.get('username')}, {c.get('room')})", cid)
        self.ready = True
        self.seek(r.first_seq)

    def seek(self, seq: int) -> None:
        """Show the room as it was once event `seq` was recorded."""
        if not self.ready:
            return
        if self.state is not None and 0 <= seq - self.state.seq <= 2000:
            self.state.apply_all(self.replayer.events(self.state.seq, seq))  # playing forward
        else:
            self.state = self.replayer.state_at(seq)
        if self.slider.value() != seq:
            self.slider.blockSignals(True)
            self.slider.setValue(seq)
            self.slider.blockSignals(False)
        self._render()

    def _tick(self) -> None:
        if self.state is None or self.state.at is None:
            return
        target = self.state.at + timedelta(milliseconds=TICK_MS * int(self.speed.currentData()))
        seq = max(self.state.seq, self.replayer.seq_at(target))
        if seq == self.state.seq and seq < self.replayer.head_seq:
            seq = min(self.replayer.head_seq, seq + 1)  # quiet stretch: step to the next event
        if seq >= self.replayer.head_seq:
            self.play_button.setChecked(False)
        self.seek(seq)

    def _play_toggled(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        (self.timer.start if on else self.timer.stop)()

    def _jump_chosen(self, index: int) -> None:
        seq = self.jump.itemData(index)
        if seq:
            self.seek(int(seq))
            iid = next((i for i, (s, _u) in self.replayer.incident_creations().items() if s == seq), None)
            self.select(iid)

    # ---- what is shown -------------------------------------------------------------------------
    def viewing_room(self) -> Optional[str]:
        """The room of the chosen console at this moment (None: the whole virtual room)."""
        cid = self.console.currentData()
        if cid is None or self.state is None:
            return None
        return (self.state.consoles.get(cid) or {}).get("room")

    def _render(self) -> None:
        s = self.state
        if s is None:
            return
        room = self.viewing_room()
        when = s.at.astimezone().strftime("%d/%m/%Y %H:%M:%S") if s.at else "start"
        view = f" — as seen at {self.console.currentData()} ({room} room)" if room else ""
        self.band.setText(f"REPLAY — {when} — event #{s.seq}{view} — read-only")
        rows = s.open_incidents(room=room)
        self.model.show(rows)
        self._render_chain()
        if self.map is not None:
            self._render_map(s, rows)

    def select(self, incident_id: Optional[int]) -> None:
        self.selected = incident_id
        row = self.model.row_of(incident_id) if incident_id is not None else -1
        if row >= 0:
            self.table.selectRow(row)
        self._render_chain()
        if self.map is not None and incident_id is not None:
            self.map.select_incident(incident_id)

    def _render_chain(self) -> None:
        s, iid = self.state, self.selected
        if s is None or iid is None or iid not in s.incidents:
            self.chain.setPlainText("Select an incident to see its units, talk groups and command chain.")
            return
        d = s.incident_view(iid)
        lines = [f"{d['urn']}  {d['grade'] or 'ungraded'}  {d['status'].replace('_', ' ')}  ({d['room_code']} room)",
                 d["summary"], ""]
        flags = [x for x in ("firearms",) if d.get(x)] + ([d["major_kind"].upper()] if d.get("major_kind") else [])
        if d.get("armed_authorised_at"):
            flags.append(f"armed deployment authorised by {d['armed_authorised_by']}")
        if flags:
            lines.append("Command state: " + "; ".join(flags))
        lines.append("Command chain: " + (", ".join(f"{r} {v['holder']}" for r, v in d["command"].items()) or "none"))
        lines.append("Units: " + (", ".join(f"{cs} ({s.units[cs]['status'].replace('_', ' ')})"
                                            for cs in d["units"]) or "none"))
        lines.append("Talk groups: " + (", ".join(d["talk_groups"]) or "none"))
        self.chain.setPlainText("\n".join(lines))

    def _render_map(self, s: VirtualRoomState, rows: list[dict[str, Any]]) -> None:
        incs = {d["id"]: d for d in rows}
        gone = self._shown_incidents - set(incs)
        if gone:
            self.map.remove_incidents(gone)
        self.map.upsert_incidents({"id": d["id"], "urn": d["urn"], "lat": d["lat"], "lon": d["lon"],
                                   "grade": d["grade"], "status": d["status"], "type": d["incident_type"],
                                   "summary": d["summary"]} for d in rows)
        self._shown_incidents = set(incs)
        self.map.upsert_units({"callsign": cs, "lat": u["lat"], "lon": u["lon"], "status": u["status"],
                               "capabilities": list(u["capabilities"]), "area_code": u.get("area_code"),
                               "stale": False} for cs, u in s.units.items() if u.get("lat") is not None)
        self.map.set_area_rooms(dict(s.areas))

    # ---- export --------------------------------------------------------------------------------
    def mark(self) -> None:
        """The export segment starts here."""
        self.mark_seq = self.state.seq if self.state is not None else None
        self.mark_button.setText(f"Start: #{self.mark_seq}")

    def export_segment(self, path: str | Path) -> Path:
        """Write the segment (mark → now) as HTML when the name ends .html, else plain text."""
        assert self.state is not None
        end = self.state
        start_seq = self.mark_seq if self.mark_seq is not None and self.mark_seq <= end.seq else self.replayer.first_seq
        start = self.replayer.state_at(start_seq)
        path = Path(path)
        text = segment_report(start, end, self.replayer.events(start.seq, end.seq), room=self.viewing_room(),
                              console=self.console.currentData(), by=self.ctx.session.user.username,
                              fmt="html" if path.suffix.lower() in (".html", ".htm") else "text")
        path.write_text(text, encoding="utf-8")
        return path

    def _export_dialog(self) -> None:
        stamp = (self.state.at.strftime("%Y%m%d-%H%M%S") if self.state and self.state.at else "start")
        name, _ = QFileDialog.getSaveFileName(self, "Export replay segment", f"replay-{stamp}.html",
                                              "HTML (*.html);;Text (*.txt)")
        if name:
            self.export_segment(name)

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self.timer.stop()
        super().closeEvent(event)


def open_replay(ctx: "ConsoleContext", **kw: Any) -> ReplayWindow:
    win = ReplayWindow(ctx, **kw)
    win.resize(1280, 780)
    win.show()
    ctx.extras.setdefault("replay_windows", []).append(win)
    return win


def replay_verb(ctx: "ConsoleContext", args: str) -> str:
    if not may_replay(ctx.session.user.role):
        return "Replay is for inspectors, trainers and auditors."
    open_replay(ctx)
    return "Replay window opened (read-only)."




def make_panel(ctx: "ConsoleContext") -> QWidget:
    """A small launcher docked in the console (the replay itself is its own window)."""
    w = QWidget()
    lay = QHBoxLayout(w)
    button = QPushButton("Open REPLAY…")
    button.setEnabled(may_replay(ctx.session.user.role))
    button.clicked.connect(lambda: open_replay(ctx))
    lay.addWidget(button)
    lay.addWidget(QLabel("Time-travel replay of the virtual room (also: REPLAY on the command line)"))
    return w
