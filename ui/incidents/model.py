"""The open-incident table model: fed row by row from the event stream, never reset on an event."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor

from controlroom.kernel import config
from controlroom.services.views import IncidentView, view_from

from ..kit.table_model import RowTableModel
from controlroom.kernel import palette
from ..kit.proxy_models import SourceDataProxy

COLUMNS = ("URN", "Grade", "Countdown", "Type", "Location", "Area", "Room", "Status", "Units", "Flags")
COL = {name: i for i, name in enumerate(COLUMNS)}
FLAG_SHORT = {"firearms": "FA", "domestic_abuse": "DA", "vulnerable_person": "VP",
              "repeat_victim": "RV", "missing_person": "MP"}
STATUS_LABELS = palette.INCIDENT_STATUS_LABELS  # the one home of the words (map tooltips use it too)
INCIDENT_KINDS = ("incident.created", "incident.updated", "incident.graded", "incident.reopened",
                  "incident.closed", "incident.breached")
SortRole = Qt.UserRole + 1
IdRole = Qt.UserRole + 2


def grading_deadline(inc: IncidentView) -> datetime | None:
    """An open ungraded incident's clock runs to being graded (grades.yaml `grade_within_minutes`)."""
    mins = config.grade_policy().get("grade_within_minutes")
    if inc.grade is not None or inc.status == "closed" or not mins:
        return None
    return inc.created_at + timedelta(minutes=float(mins))


def countdown_state(inc: IncidentView, now: datetime, *, warn: float | None = None) -> str:
    """'none' (no target or target met), 'ok', 'warn' (≥ 75 % used) or 'breach'."""
    deadline = inc.deadline_at or grading_deadline(inc)
    if deadline is None or inc.arrived_at is not None or inc.status == "closed":
        return "none"
    warn = float(config.grade_policy().get("warn_fraction", 0.75)) if warn is None else warn
    total = (deadline - inc.created_at).total_seconds()
    used = (now - inc.created_at).total_seconds()
    if now >= deadline:
        return "breach"
    return "warn" if total > 0 and used >= warn * total else "ok"


def countdown_text(inc: IncidentView, now: datetime) -> str:
    grading = grading_deadline(inc) if inc.deadline_at is None else None
    deadline = inc.deadline_at or grading
    if deadline is None:
        return "—"
    if inc.arrived_at is not None:
        return "met"
    secs = int((deadline - now).total_seconds())
    if grading is not None:
        sign = "grade late +" if secs < 0 else "grade "
    else:
        sign = "BREACH +" if secs < 0 else ""
    h, rem = divmod(abs(secs), 3600)
    m, s = divmod(rem, 60)
    return f"{sign}{h}h{m:02d}m" if h else f"{sign}{m:02d}:{s:02d}"


_STATE_COLOURS = {"ok": palette.COUNTDOWN_OK, "warn": palette.COUNTDOWN_WARN, "breach": palette.COUNTDOWN_BREACH}


class IncidentTableModel(RowTableModel):
    """Open incidents; `apply(event)` inserts, changes or removes exactly one row."""
    columns = COLUMNS

    def __init__(self, clock: Callable[[], datetime], parent: Any = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self.rows: list[IncidentView] = []
        self.units: dict[int, list[str]] = {}  # incident id -> callsigns assigned now
        self.hay: list[str] = []                # lower-case text the free-text filter searches
        self._row_of: dict[int, int] = {}
        self.revision = 0  # bumped on every row change (the proxy caches sort keys per revision)
        self.warn = float(config.grade_policy().get("warn_fraction", 0.75))

    # ---- loading and events ---------------------------------------------------------------
    def load(self, incidents: list[IncidentView], units: dict[int, list[str]]) -> None:
        """Initial fill (one insert of many rows); later changes arrive through `apply`."""
        self.units.update(units)
        fresh = [i for i in incidents if i.id not in self._row_of and i.status != "closed"]
        if not fresh:
            return
        first = len(self.rows)
        self.revision += 1
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        for inc in fresh:
            self._row_of[inc.id] = len(self.rows)
            self.rows.append(inc)
            self.hay.append(self._haystack(inc))
        self.endInsertRows()

    def apply(self, ev: Any) -> None:
        """Handle one controlroom Event (incident.* and despatch.*; others are ignored)."""
        kind, payload = ev.kind, ev.payload if isinstance(ev.payload, dict) else {}
        if kind in INCIDENT_KINDS and "urn" in payload:
            self.upsert(view_from(IncidentView, payload))
        elif kind.startswith("despatch.") and isinstance(payload.get("incident"), dict):
            unit = payload.get("unit") or {}
            if unit.get("callsign"):
                self._move_unit(unit["callsign"], unit.get("incident_id"))
            for key in ("from_incident", "incident"):
                if isinstance(payload.get(key), dict):
                    self.upsert(view_from(IncidentView, payload[key]))
        elif kind == "unit.status" and "callsign" in payload and "incident_id" in payload:
            self._move_unit(payload["callsign"], payload["incident_id"])

    def upsert(self, inc: IncidentView) -> None:
        r = self._row_of.get(inc.id)
        if r is None:
            if inc.status != "closed":
                self.load([inc], {})
            return
        if inc.version < self.rows[r].version:
            return  # an older state delivered late (e.g. buffered during the initial load)
        if inc.status == "closed":
            self._remove(r)
            return
        self.rows[r] = inc
        self.revision += 1
        self.hay[r] = self._haystack(inc)
        self.dataChanged.emit(self.index(r, 0), self.index(r, len(COLUMNS) - 1))

    def _remove(self, r: int) -> None:
        self.revision += 1
        self.beginRemoveRows(QModelIndex(), r, r)
        inc = self.rows.pop(r)
        self.hay.pop(r)
        del self._row_of[inc.id]
        for i in range(r, len(self.rows)):
            self._row_of[self.rows[i].id] = i
        self.endRemoveRows()

    def _move_unit(self, callsign: str, incident_id: int | None) -> None:
        for inc_id, calls in list(self.units.items()):
            if callsign in calls and inc_id != incident_id:
                calls.remove(callsign)
                self._touch(inc_id, COL["Units"])
        if incident_id is not None and callsign not in self.units.setdefault(int(incident_id), []):
            self.units[int(incident_id)].append(callsign)
            self.units[int(incident_id)].sort()
            self._touch(int(incident_id), COL["Units"])

    def _touch(self, incident_id: int, col: int) -> None:
        r = self._row_of.get(incident_id)
        if r is not None:
            self.revision += 1
            self.hay[r] = self._haystack(self.rows[r])
            self.dataChanged.emit(self.index(r, col), self.index(r, col))

    def tick(self) -> None:
        """The clock moved: only the countdown column changes."""
        if self.rows:
            c = COL["Countdown"]
            self.dataChanged.emit(self.index(0, c), self.index(len(self.rows) - 1, c))

    def _haystack(self, inc: IncidentView) -> str:
        return " ".join(filter(None, (inc.urn, inc.incident_type, inc.summary, inc.address, inc.area_code,
                                      inc.room_code, inc.caller_name, *self.units.get(inc.id, ())))).lower()

    # ---- queries --------------------------------------------------------------------------
    def incident_at(self, row: int) -> IncidentView:
        return self.rows[row]

    def row_of(self, incident_id: int) -> int | None:
        return self._row_of.get(incident_id)

    def breached_ids(self, now: datetime) -> list[int]:
        return [i.id for i in self.rows  # a grade's target (recorded by the service), not grading's
                if i.deadline_at is not None and countdown_state(i, now, warn=self.warn) == "breach"]

    # ---- Qt model API ---------------------------------------------------------------------
    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        inc, c = self.rows[index.row()], index.column()
        if role == Qt.DisplayRole:
            return self._display(inc, c)
        if role == IdRole:
            return inc.id
        if role == SortRole:
            return self._sort_key(inc, c)
        if c == COL["Grade"] and inc.grade and role in (Qt.BackgroundRole, Qt.ForegroundRole):
            bg = palette.grade_colour(inc.grade)
            return QColor(bg if role == Qt.BackgroundRole else palette.ink_on(bg))
        if c == COL["Countdown"] and role in (Qt.BackgroundRole, Qt.ForegroundRole):
            state = countdown_state(inc, self.clock(), warn=self.warn)
            if state == "none":
                return None
            bg = _STATE_COLOURS[state]
            return QColor(bg if role == Qt.BackgroundRole else palette.ink_on(bg))
        if c == COL["Room"] and role == Qt.ForegroundRole:
            return QColor(palette.room_text_colour(inc.room_code))
        if role == Qt.ToolTipRole and c in (COL["Location"], COL["Type"]):
            return inc.summary
        return None

    def countdown_colour(self, row: int) -> str | None:
        """The countdown cell's colour name (for tests and the map)."""
        v = self.data(self.index(row, COL["Countdown"]), Qt.BackgroundRole)
        return v.name() if v is not None else None

    def _display(self, inc: IncidentView, c: int) -> str:
        if c == 0:
            return inc.urn
        if c == 1:
            return inc.grade or "—"
        if c == 2:
            return countdown_text(inc, self.clock())
        if c == 3:
            return inc.incident_type
        if c == 4:
            return inc.address or f"{inc.lat:.4f}, {inc.lon:.4f}"
        if c == 5:
            return inc.area_code
        if c == 6:
            return palette.ROOM_LABELS.get(inc.room_code, inc.room_code).split(" ")[0]
        if c == 7:
            return STATUS_LABELS.get(inc.status, inc.status)
        if c == 8:
            return " ".join(self.units.get(inc.id, ()))
        return " ".join(FLAG_SHORT[f] for f in inc.flags)

    def _sort_key(self, inc: IncidentView, c: int) -> Any:
        if c == COL["Countdown"]:
            return inc.deadline_at.timestamp() if inc.deadline_at and not inc.arrived_at else float("inf")
        if c == COL["Grade"]:
            return inc.grade or "G9"
        if c == COL["URN"]:
            return inc.id
        return self._display(inc, c)


class IncidentFilterProxy(SourceDataProxy):
    """My room / all rooms, area, grade, status and free text, on the source's plain Python rows."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.room: str | None = None
        self.area: str | None = None
        self.grade: str | None = None
        self.status: str | None = None
        self.text = ""
        self._ok: list[bool] | None = None
        self._keys: list[Any] = []
        self._keys_tag: tuple[int, int] | None = None
        self.setSortRole(SortRole)

    def set_filter(self, **kw: Any) -> None:
        # beginFilterChange()/endFilterChange() replace invalidateFilter() in newer Qt; PySide6 6.6
        # (our lower bound, tests/test_lower_bounds.py) has only invalidateFilter().
        staged = hasattr(self, "beginFilterChange")
        if staged:
            self.beginFilterChange()
        for k, v in kw.items():
            setattr(self, k, (v or "").lower() if k == "text" else (v or None))
        m = self.sourceModel()
        # Decide every row in one Python pass; Qt then only looks the answers up (a keystroke
        # over 10,000 rows stays well under the 30 ms budget).
        self._ok = [self._accepts(m, r) for r in range(len(m.rows))] if m is not None else None
        try:
            if staged:
                self.endFilterChange()
            else:
                self.invalidateFilter()
        finally:
            self._ok = None

    def _accepts(self, m: "IncidentTableModel", row: int) -> bool:
        inc = m.rows[row]
        return ((self.room is None or inc.room_code == self.room)
                and (self.area is None or inc.area_code == self.area)
                and (self.grade is None or inc.grade == self.grade)
                and (self.status is None or inc.status == self.status)
                and (not self.text or self.text in m.hay[row]))

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # noqa: N802
        ok = self._ok
        if ok is not None and row < len(ok):
            return ok[row]
        return self._accepts(self.sourceModel(), row)  # type: ignore[arg-type]

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:  # noqa: N802
        keys = self._sort_keys(left.column())
        a, b = keys[left.row()], keys[right.row()]
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)

    def _sort_keys(self, col: int) -> list[Any]:
        """Sort keys of one column for every source row, rebuilt only when the source changed."""
        m: IncidentTableModel = self.sourceModel()  # type: ignore[assignment]
        tag = (col, m.revision)
        if self._keys_tag != tag:
            self._keys = [m._sort_key(inc, col) for inc in m.rows]
            self._keys_tag = tag
        return self._keys
