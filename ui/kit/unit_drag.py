"""Drag and drop despatch: drag a unit from the units board onto an incident's row in the
incident list and it is assigned (the same service call as `D <urn> <callsign>` and the despatch
tab, so the database's firearms gate and every other despatch rule hold on this path too)."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from PySide6.QtCore import QByteArray, QMimeData, QModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLabel, QTableView

from .ops import run_op

MIME = "application/x-controlroom-callsigns"  # also what the talk-groups panel accepts


def callsigns_mime(callsigns: Iterable[str]) -> QMimeData:
    calls = " ".join(callsigns)
    mime = QMimeData()
    mime.setData(MIME, QByteArray(calls.encode()))
    mime.setText(calls)
    return mime


def callsigns_of(mime: QMimeData) -> list[str]:
    if not mime.hasFormat(MIME):
        return []
    return [c for c in bytes(mime.data(MIME)).decode(errors="replace").split() if c][:50]


def make_drag_source(view: QTableView) -> None:
    """The units board: rows can be dragged (the model supplies the callsigns)."""
    view.setDragEnabled(True)
    view.setDragDropMode(QAbstractItemView.DragOnly)


class DropTarget:
    """Mixin for a QTableView whose rows accept dropped units: emits unitsDropped(index, calls)."""

    unitsDropped: Signal

    def enable_unit_drops(self) -> None:
        self.setAcceptDrops(True)  # type: ignore[attr-defined]
        self.viewport().setAcceptDrops(True)  # type: ignore[attr-defined]
        self.setDropIndicatorShown(True)  # type: ignore[attr-defined]

    def _accept_units(self, event: Any) -> None:
        index = self.indexAt(event.position().toPoint())  # type: ignore[attr-defined]
        if event.mimeData().hasFormat(MIME) and index.isValid():
            event.setDropAction(Qt.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        self._accept_units(event)

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        self._accept_units(event)

    def dropEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        index = self.indexAt(event.position().toPoint())  # type: ignore[attr-defined]
        calls = callsigns_of(event.mimeData())
        if not (index.isValid() and calls):
            event.ignore()
            return
        event.setDropAction(Qt.CopyAction)
        event.accept()
        self.unitsDropped.emit(index, calls)


def assign_dropped(owner: Any, session: Any, incident_id: Optional[int], callsigns: list[str],
                   message: QLabel, urn_of: Callable[[int], str]) -> None:
    """Assign each dropped unit (one service call each, off the GUI thread); say what happened."""
    if incident_id is None:
        return
    for cs in callsigns:
        message.setText(f"Assigning {cs}…")
        run_op(owner, lambda cs=cs: session.despatch.assign(incident_id, cs),
               on_done=lambda r: message.setText(f"{r.unit.callsign} assigned to {r.incident.urn}: en route."),
               on_error=lambda e, cs=cs: message.setText(f"{cs} not assigned to {urn_of(incident_id)}: {e}"))


class UnitDragSource:
    """Mixin for a model whose `rows` are unit dicts: rows drag out as their callsigns."""

    rows: list[Any]

    def flags(self, index: QModelIndex) -> Qt.ItemFlags:
        flags = super().flags(index)  # type: ignore[misc]
        return flags | Qt.ItemIsDragEnabled if index.isValid() else flags

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [MIME, "text/plain"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802
        calls = sorted({self.rows[i.row()]["callsign"] for i in indexes
                        if i.isValid() and i.row() < len(self.rows)})
        return callsigns_mime(calls)
