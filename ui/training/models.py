"""Qt models for the trainer window: scenario script, trainees' actions, expected timings."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor

from controlroom.demo.debrief import ExpectationResult, _mmss, describe
from controlroom.demo.scenario import Fired, Scenario, format_time
from controlroom.services.training import QUIET_KINDS, TimelineEntry

from controlroom.kernel import palette

OUTCOME_COLOURS = {"ok": palette.COUNTDOWN_OK, "skipped": palette.STALE_COLOUR,
                   "failed": palette.COUNTDOWN_BREACH, "met": palette.COUNTDOWN_OK,
                   "late": palette.COUNTDOWN_WARN, "missed": palette.COUNTDOWN_BREACH,
                   "not injected": palette.STALE_COLOUR, "pending": palette.UNGRADED_COLOUR}


def _summary(args: dict[str, Any]) -> str:
    for key in ("summary", "text", "status", "kind", "grade"):
        if args.get(key):
            extra = args.get("callsign") or str(args.get("incident") or "").lstrip("@")
            extra = f"[{extra}]" if extra else ""
            return f"{extra} {args[key]}".strip()[:90]
    return " ".join(f"{k}={v}" for k, v in args.items())[:90]


class ScriptModel(QAbstractTableModel):
    """The scenario's events, coloured as they fire (one dataChanged per fired row)."""

    HEADERS = ("Time", "Event", "What", "Result")

    def __init__(self) -> None:
        super().__init__()
        self.scenario: Scenario | None = None
        self.outcomes: dict[int, Fired] = {}

    def load(self, scenario: Scenario) -> None:
        self.beginResetModel()  # a new script, not an event: a reset is right here
        self.scenario, self.outcomes = scenario, {}
        self.endResetModel()

    def clear_outcomes(self) -> None:
        rows = sorted(self.outcomes)
        self.outcomes = {}
        if rows:
            self.dataChanged.emit(self.index(rows[0], 0), self.index(rows[-1], 3))

    def mark(self, fired: list[Fired]) -> None:
        for f in fired:
            self.outcomes[f.index] = f
            self.dataChanged.emit(self.index(f.index, 0), self.index(f.index, 3))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() or self.scenario is None else len(self.scenario.events)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid() or self.scenario is None:
            return None
        ev = self.scenario.events[index.row()]
        fired = self.outcomes.get(index.row())
        col = index.column()
        if role == Qt.DisplayRole:
            return (format_time(ev.at), ev.kind, ev.note or _summary(ev.args),
                    fired.outcome if fired else "")[col]
        if role == Qt.ToolTipRole and fired and fired.message:
            return fired.message
        if role == Qt.ForegroundRole and col == 3 and fired:
            return QColor(palette.readable(OUTCOME_COLOURS[fired.outcome]))
        return None


class ActionsModel(QAbstractTableModel):
    """Trainees' actions as they happen (rows appended with beginInsertRows)."""

    HEADERS = ("Time", "Who", "Console", "Action", "Detail")

    def __init__(self, trainer: str) -> None:
        super().__init__()
        self.trainer = trainer
        self.rows: list[TimelineEntry] = []

    @staticmethod
    def is_trainee_action(e: TimelineEntry, trainer: str) -> bool:
        return (e.username != trainer and e.kind not in QUIET_KINDS
                and not e.kind.startswith(("training.", "console.")))

    def replace(self, entries: list[TimelineEntry]) -> None:
        self.beginResetModel()  # after a load/reset only: a whole new exercise
        self.rows = [e for e in entries if self.is_trainee_action(e, self.trainer)]
        self.endResetModel()

    def add(self, e: TimelineEntry) -> None:
        if not self.is_trainee_action(e, self.trainer):
            return
        n = len(self.rows)
        self.beginInsertRows(QModelIndex(), n, n)
        self.rows.append(e)
        self.endInsertRows()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.DisplayRole:
            return None
        e = self.rows[index.row()]
        return (e.at.astimezone().strftime("%H:%M:%S"), e.username or "", e.console_id or "", e.kind,
                describe(e))[index.column()]


class ExpectModel(QAbstractTableModel):
    """Expected timings and how the trainees are doing against them."""

    HEADERS = ("Expectation", "Target", "Took", "By", "Result")

    def __init__(self) -> None:
        super().__init__()
        self.results: list[ExpectationResult] = []

    def set_results(self, results: list[ExpectationResult]) -> None:
        if len(results) != len(self.results):
            self.beginResetModel()  # only when a scenario is loaded (the number of rows changes)
            self.results = list(results)
            self.endResetModel()
            return
        for row, (old, new) in enumerate(zip(self.results, results)):
            if old != new:
                self.results[row] = new
                self.dataChanged.emit(self.index(row, 0), self.index(row, 4))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.results)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.results[index.row()]
        if role == Qt.DisplayRole:
            return (r.label, _mmss(r.within), "—" if r.took is None else _mmss(r.took), r.by or "",
                    r.outcome.upper())[index.column()]
        if role == Qt.ForegroundRole and index.column() == 4:
            return QColor(palette.readable(OUTCOME_COLOURS.get(r.outcome, palette.UNGRADED_COLOUR)))
        return None
