"""Contacts panel: the virtual queue by priority with live waiting times, take next, answer,
call-back, assess (THRIVE), resolve, to-incident, and human confirm/dismiss of emergency flags."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox,
                               QFormLayout, QGridLayout, QHeaderView, QInputDialog, QLineEdit,
                               QPushButton, QTableView, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.kernel import config
from controlroom.services.contacts.service import THRIVE_KEYS, ContactView, contact_view

from ..kit.proxy_models import SourceDataProxy
from ..kit.table_model import bold_font
from controlroom.kernel import palette
from ..kit.context import ConsoleContext
from ..kit.ops import run_op

COLUMNS = ("Pri", "Channel", "From", "Waiting", "State", "Flag", "Text")
SORT_ROLE = Qt.UserRole + 1
ACTIVE = ("queued", "callback", "taken", "answered", "assessed")
PRIORITY_COLOURS = {1: palette.GRADE_COLOURS["G1"], 2: palette.GRADE_COLOURS["G2"],
                    3: palette.GRADE_COLOURS["G3"], 4: palette.GRADE_COLOURS["G4"]}
STATE_LABELS = {"queued": "Waiting", "callback": "Call-back", "taken": "Taken", "answered": "Answered",
                "assessed": "Assessed"}


def fmt_wait(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class ContactQueueModel(QAbstractTableModel):
    """Active contacts; each contact.* event inserts, updates or removes exactly one row."""

    def __init__(self, clock: Callable[[], datetime], parent: Any = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.rows: list[ContactView] = []
        self._row_of: dict[int, int] = {}

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.DisplayRole) -> Any:
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def contact(self, row: int) -> ContactView:
        return self.rows[row]

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        c, col = self.rows[index.row()], index.column()
        if role == Qt.DisplayRole:
            return self._text(c, col)
        if role == SORT_ROLE:  # waiting contacts in hand-out order, then held ones
            start = (c.queue_time or c.received_at).timestamp()
            return f"{0 if c.waiting else 1}{c.priority}{start:017.3f}{c.id:015d}"
        if role == Qt.BackgroundRole and col == 0:
            return QColor(PRIORITY_COLOURS.get(c.priority, palette.UNGRADED_COLOUR))
        if role == Qt.BackgroundRole and col == 5 and c.needs_review:
            return QColor(palette.COUNTDOWN_BREACH)
        if role == Qt.ForegroundRole and (col == 0 or (col == 5 and c.needs_review)):
            bg = PRIORITY_COLOURS.get(c.priority, palette.UNGRADED_COLOUR) if col == 0 else palette.COUNTDOWN_BREACH
            return QColor(palette.ink_on(bg))
        if role == Qt.FontRole and (col == 0 or c.needs_review):
            return bold_font()
        if role == Qt.ToolTipRole:
            return "\n".join(x for x in (c.text, c.flag_reason and f"Flag: {c.flag_reason}",
                                         c.taken_by and f"Held by {c.taken_by} ({c.taken_console})") if x)
        if role == Qt.TextAlignmentRole and col in (0, 3):
            return int(Qt.AlignCenter)
        return None

    def _text(self, c: ContactView, col: int) -> str:
        if col == 0:
            return f"P{c.priority}"
        if col == 1:
            return config.channels().get(c.channel, {}).get("label", c.channel)
        if col == 2:
            return c.from_addr + (f"  ↻{c.repeat_count}" if c.repeat_count else "")
        if col == 3:
            start = c.queue_time or c.received_at
            return fmt_wait((self.clock() - start).total_seconds()) if c.waiting else ""
        if col == 4:
            label = STATE_LABELS.get(c.state, c.state)
            return f"{label} · {c.taken_by}" if c.taken_by and not c.waiting else label
        if col == 5:
            if c.needs_review:
                return "⚠ EMERGENCY? review"
            return {"confirmed": "⚠ Emergency (confirmed)", "dismissed": "dismissed"}.get(c.review_outcome or "", "")
        return (c.text or "").replace("\n", " ")[:120]

    def load(self, contacts: list[ContactView]) -> None:
        for c in contacts:
            self.upsert(c)

    def upsert(self, c: ContactView) -> None:
        row = self._row_of.get(c.id)
        keep = c.state in ACTIVE
        if row is None:
            if keep:
                self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows))
                self._row_of[c.id] = len(self.rows)
                self.rows.append(c)
                self.endInsertRows()
        elif keep:
            self.rows[row] = c
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        else:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.rows[row]
            self._row_of = {x.id: i for i, x in enumerate(self.rows)}
            self.endRemoveRows()

    def tick(self) -> None:
        """Waiting times move on: one dataChanged for the waiting column."""
        if self.rows:
            self.dataChanged.emit(self.index(0, 3), self.index(len(self.rows) - 1, 3), [Qt.DisplayRole])


class ThriveDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("THRIVE assessment")
        form = QFormLayout(self)
        self.fields = {k: QLineEdit() for k in THRIVE_KEYS}
        for k, w in self.fields.items():
            form.addRow(k.title(), w)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, str]:
        return {k: w.text() for k, w in self.fields.items()}


class ToIncidentDialog(QDialog):
    def __init__(self, c: ContactView, default_at: tuple[float, float], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Incident from contact {c.id}")
        form = QFormLayout(self)
        self.type = QComboBox()
        for code, t in config.incident_types().items():
            self.type.addItem(f"{code} – {t.get('label', code)}" if isinstance(t, dict) else code, code)
        self.grade = QComboBox()
        self.grade.addItems(["", "G1", "G2", "G3", "G4"])
        self.where = QLineEdit(f"{default_at[0]:.5f}, {default_at[1]:.5f}")
        self.summary = QLineEdit(c.text or "")
        for label, w in (("Type", self.type), ("Grade", self.grade), ("Location (lat, lon)", self.where),
                         ("Summary", self.summary)):
            form.addRow(label, w)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, Any]:
        try:
            lat, lon = (float(x) for x in self.where.text().split(","))
        except ValueError:
            lat, lon = float("nan"), float("nan")  # the service explains the bad location
        return {"incident_type": self.type.currentData(), "grade": self.grade.currentText() or None,
                "lat": lat, "lon": lon, "summary": self.summary.text() or None}


ROOM_CENTRES = {"north": (52.0406, -0.7594), "south": (51.6708, -1.2830)}


class ContactsPanel(QWidget):
    def __init__(self, ctx: ConsoleContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.svc = ctx.session.contacts
        self.me = ctx.session.user.username
        self.model = ContactQueueModel(ctx.clock, self)
        self.proxy = SourceDataProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setDynamicSortFilter(True)
        self.summary = QLabel("Loading the queue…")
        self.summary.setObjectName("contactsSummary")
        self.summary.setWordWrap(True)  # a long queue summary wraps instead of widening the panel
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.sortByColumn(0, Qt.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout()  # three a row: every action fits a laptop's side column (issue 18)
        for i, (key, label) in enumerate((("next", "Take next"), ("answer", "Answer"), ("callback", "Call back"),
                                          ("assess", "Assess…"), ("resolve", "Resolve…"),
                                          ("incident", "To incident…"), ("confirm", "Confirm emergency"),
                                          ("dismiss", "Dismiss flag…"))):
            b = QPushButton(label)
            b.setObjectName(f"contacts_{key}")
            b.clicked.connect(getattr(self, f"do_{key}"))
            grid.addWidget(b, i // 3, i % 3)
            self.buttons[key] = b
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)
        lay.addLayout(grid)
        lay.addWidget(self.message)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.rowsInserted.connect(self._refresh_summary)
        self.model.rowsRemoved.connect(self._refresh_summary)
        self.model.dataChanged.connect(self._on_data_changed)
        ctx.bridge.event.connect(self.on_event)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.model.tick)
        self.timer.timeout.connect(self._refresh_summary)
        self.timer.start(1000)
        self._update_buttons()
        run_op(self, lambda: self.svc.queue() + self.svc.active(), on_done=self.model.load,
               on_error=self.show_error)

    # ---- events and state ---------------------------------------------------------------------
    def on_event(self, ev: Any) -> None:
        if ev.kind.startswith("contact.") and isinstance(ev.payload, dict) and "id" in ev.payload:
            self.model.upsert(contact_view(ev.payload))

    def selected(self) -> ContactView | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.contact(self.proxy.mapToSource(rows[0]).row())

    def select_id(self, contact_id: int) -> None:
        row = self.model._row_of.get(contact_id)
        if row is not None:
            self.table.selectRow(self.proxy.mapFromSource(self.model.index(row, 0)).row())

    def _on_data_changed(self, top: QModelIndex, bottom: QModelIndex, roles: Any = ()) -> None:
        if top.column() != 3 or bottom.column() != 3:  # not just the clock tick
            self._update_buttons()
            self._refresh_summary()

    def _update_buttons(self, *args: Any) -> None:
        c = self.selected()
        mine = c is not None and c.taken_by == self.me and not c.waiting
        enable = {"next": True, "answer": mine and c.state == "taken",
                  "callback": c is not None and (c.state in ("queued", "abandoned") or
                                                 (mine and c.state in ("taken", "answered"))),
                  "assess": mine and c.state in ("taken", "answered"),
                  "resolve": mine and c.state in ("taken", "answered", "assessed"),
                  "incident": mine and c.state in ("taken", "answered", "assessed"),
                  "confirm": c is not None and c.needs_review, "dismiss": c is not None and c.needs_review}
        for k, b in self.buttons.items():
            b.setEnabled(bool(enable[k]))

    def _refresh_summary(self, *args: Any) -> None:
        waiting = [c for c in self.model.rows if c.waiting]
        now = self.ctx.clock()
        parts = []
        for p in (1, 2, 3, 4):
            w = [c for c in waiting if c.priority == p]
            if w:
                longest = max((now - (c.queue_time or c.received_at)).total_seconds() for c in w)
                parts.append(f"P{p}: {len(w)} (longest {fmt_wait(longest)})")
        review = sum(1 for c in self.model.rows if c.needs_review)
        self.summary.setText(f"Waiting {len(waiting)} — " + (" · ".join(parts) or "queue empty")
                             + (f" — ⚠ {review} to review" if review else ""))

    def show_error(self, err: Exception) -> None:
        self.message.setStyleSheet(f"color: {palette.theme_text('error')}")
        self.message.setText(str(err))

    def _done(self, c: ContactView | None, text: str) -> None:
        self.message.setStyleSheet("")
        if c is None:
            self.message.setText("Nothing waiting for your skills.")
            return
        self.model.upsert(c)
        self.select_id(c.id)
        self.message.setText(text.format(c=c))

    def _call(self, fn: Callable[[], Any], text: str) -> None:
        run_op(self, fn, on_done=lambda c: self._done(c, text), on_error=self.show_error)

    # ---- actions ------------------------------------------------------------------------------
    def do_next(self) -> None:
        self._call(self.svc.next_contact, "Contact {c.id} ({c.channel}) is yours.")

    def do_answer(self) -> None:
        if c := self.selected():
            self._call(lambda: self.svc.answer(c.id), "Contact {c.id} answered.")

    def do_callback(self) -> None:
        if c := self.selected():
            self._call(lambda: self.svc.request_callback(c.id), "Contact {c.id} queued for a call-back at its place.")

    def do_assess(self) -> None:
        c = self.selected()
        dlg = ThriveDialog(self)
        if c and dlg.exec() == QDialog.Accepted:
            values = dlg.values()
            self._call(lambda: self.svc.assess(c.id, thrive=values), "Contact {c.id} assessed.")

    def do_resolve(self) -> None:
        c = self.selected()
        if c is None:
            return
        text, ok = QInputDialog.getText(self, "Resolve contact", "Resolution (no deployment):")
        if ok:
            self._call(lambda: self.svc.resolve(c.id, resolution=text), "Contact {c.id} resolved.")

    def do_incident(self) -> None:
        c = self.selected()
        if c is None:
            return
        dlg = ToIncidentDialog(c, ROOM_CENTRES.get(self.ctx.session.room.code, ROOM_CENTRES["north"]), self)
        if dlg.exec() == QDialog.Accepted:
            values = dlg.values()
            self._call(lambda: self.svc.to_incident(c.id, **values), "Contact {c.id} became incident {c.incident_id}.")

    def do_confirm(self) -> None:
        if c := self.selected():
            self._call(lambda: self.svc.confirm_emergency(c.id), "Emergency confirmed for contact {c.id}.")

    def do_dismiss(self) -> None:
        c = self.selected()
        if c is None:
            return
        reason, ok = QInputDialog.getText(self, "Dismiss emergency flag", "Why is this not an emergency?")
        if ok:
            self._call(lambda: self.svc.dismiss_emergency(c.id, reason=reason), "Flag dismissed on contact {c.id}.")


def make_panel(ctx: ConsoleContext) -> QWidget:
    return ContactsPanel(ctx)
