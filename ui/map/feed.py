"""Keep the map current: one initial read off the GUI thread, then only the event stream."""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable

from PySide6.QtCore import QObject, QTimer

from ui.kit.ops import run_op

if TYPE_CHECKING:
    from controlroom.db.listener import Event
    from ui.kit.context import ConsoleContext
    from ui.map.panel import MapPanel

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=60)
STALE_CHECK_MS = 5000
RETRY_MS = 5000
INCIDENT_KEYS = frozenset({"id", "urn", "lat", "lon", "status"})


def _as_dict(obj: Any) -> dict[str, Any]:
    """A service view (frozen dataclass), row mapping or dict as a plain dict."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return dict(obj)


def _when(value: Any) -> datetime | None:
    """A timestamp from a view (datetime) or an event payload (ISO text), as aware UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _incident_marker(row: dict[str, Any]) -> dict[str, Any]:
    """Only what the page shows, so each runJavaScript batch stays small."""
    return {"id": int(row["id"]), "urn": row.get("urn"), "lat": row["lat"], "lon": row["lon"],
            "grade": row.get("grade"), "status": row.get("status"),
            "type": row.get("incident_type") or row.get("type"), "summary": row.get("summary")}


class MapFeed(QObject):
    """Feeds a MapPanel from the console's session and event bridge, and wires its clicks."""

    def __init__(self, ctx: "ConsoleContext", panel: "MapPanel") -> None:
        super().__init__(panel)
        self.ctx = ctx
        self.panel = panel
        self.loaded = False
        self._pending: list[Event] = []
        # callsign -> last position time, stale flag, incident id (for staleness and tooltips)
        self._units: dict[str, dict[str, Any]] = {}
        self._incident_urns: dict[int, str] = {}

        ctx.bridge.event.connect(self._on_event)
        panel.incidentClicked.connect(ctx.selection.incidentSelected)
        panel.unitClicked.connect(ctx.selection.unitSelected)
        panel.newIncidentRequested.connect(ctx.selection.newIncidentAt)
        ctx.selection.incidentSelected.connect(panel.select_incident)

        self._stale_timer = QTimer(self)
        self._stale_timer.setInterval(STALE_CHECK_MS)
        self._stale_timer.timeout.connect(self.check_stale)
        self._stale_timer.start()
        self.load()

    # ---- initial snapshot ----
    def load(self) -> None:
        """Read units and open incidents on a worker thread; events meanwhile wait in order."""
        session = self.ctx.session
        run_op(self.panel, lambda: (self._read_units(session), session.incidents.list_open()),
               on_done=self._loaded, on_error=self._load_failed)

    @staticmethod
    def _read_units(session: Any) -> list[dict[str, Any]]:
        return [_as_dict(u) for u in session.units.list()]

    def _loaded(self, result: tuple[list[dict[str, Any]], list[Any]]) -> None:
        units, incidents = result
        self.loaded = True
        self._apply_incidents(_as_dict(i) for i in incidents)
        self._apply_units(units)
        self.panel.set_area_rooms(dict(self.ctx.session.area_rooms))
        pending, self._pending = self._pending, []
        for ev in pending:  # each event carries full state, so replaying in order converges
            self._apply(ev)

    def _load_failed(self, err: Exception) -> None:
        log.warning("map: initial load failed (%s); retrying", err)
        QTimer.singleShot(RETRY_MS, self.load)

    # ---- events ----
    def _on_event(self, ev: "Event") -> None:
        if not self.loaded:
            self._pending.append(ev)
            return
        self._apply(ev)

    def _apply(self, ev: "Event") -> None:
        p = ev.payload if isinstance(ev.payload, dict) else {}
        kind = ev.kind
        if kind.startswith("unit."):
            self._apply_units([p])
        elif kind.startswith("despatch."):
            if isinstance(p.get("incident"), dict):
                self._apply_incidents([p["incident"]])
            if isinstance(p.get("unit"), dict):
                self._apply_units([p["unit"]])
        elif kind.startswith("incident."):
            row = p if INCIDENT_KEYS <= p.keys() else p.get("incident")
            if isinstance(row, dict) and INCIDENT_KEYS <= row.keys():
                self._apply_incidents([row])
        if isinstance(p.get("area_rooms"), dict):  # room.* (and any event stating ownership)
            self.panel.set_area_rooms(p["area_rooms"])

    def _apply_incidents(self, rows: Iterable[dict[str, Any]]) -> None:
        upserts, removals = [], []
        for row in rows:
            iid = int(row["id"])
            if row.get("status") == "closed":
                removals.append(iid)
                self._incident_urns.pop(iid, None)
            elif row.get("lat") is not None and row.get("lon") is not None:
                upserts.append(_incident_marker(row))
                if row.get("urn"):
                    self._incident_urns[iid] = row["urn"]
        if removals:
            self.panel.remove_incidents(removals)
        if upserts:
            self.panel.upsert_incidents(upserts)

    def _apply_units(self, rows: Iterable[dict[str, Any]]) -> None:
        now = self.ctx.clock()
        out = []
        for row in rows:
            cs = row.get("callsign")
            if not cs:
                continue
            cs = str(cs)
            info = self._units.setdefault(cs, {"at": None, "stale": None, "incident_id": None})
            marker: dict[str, Any] = {"callsign": cs}
            for key in ("status", "capabilities", "area_code"):
                if key in row:
                    marker[key] = list(row[key] or []) if key == "capabilities" else row[key]
            if row.get("lat") is not None and row.get("lon") is not None:
                marker["lat"], marker["lon"] = float(row["lat"]), float(row["lon"])
            at = _when(row.get("at", row.get("position_at")))
            if at is not None:
                info["at"] = at
            if "incident_id" in row:
                info["incident_id"] = row["incident_id"]
                marker["incident_urn"] = self._incident_urns.get(row["incident_id"]) if row["incident_id"] else None
            stale = info["at"] is None or now - info["at"] > STALE_AFTER
            first = not info.get("placed")
            if "lat" in marker or not first:  # never send a unit the page cannot place
                if first or stale != info["stale"]:
                    marker["stale"] = stale
                info["placed"] = True
                out.append(marker)
            info["stale"] = stale
        if out:
            self.panel.upsert_units(out)

    def check_stale(self) -> None:
        """Grey units whose AVL fell silent for over 60 s (and un-grey ones that came back)."""
        now = self.ctx.clock()
        changed = []
        for cs, info in self._units.items():
            stale = info["at"] is None or now - info["at"] > STALE_AFTER
            if stale != info["stale"] and info.get("placed"):
                info["stale"] = stale
                changed.append({"callsign": cs, "stale": stale})
        if changed:
            self.panel.upsert_units(changed)

    def stop(self) -> None:
        """Detach from the bridge and selection (console closing)."""
        self._stale_timer.stop()
        for signal, slot in ((self.ctx.bridge.event, self._on_event),
                             (self.ctx.selection.incidentSelected, self.panel.select_incident)):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
