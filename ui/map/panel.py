"""Live GIS map panel: the offline base map in a QWebEngineView, fed by batched runJavaScript calls."""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from PySide6 import QtWebChannel  # noqa: F401  (loads the qrc:/qtwebchannel/qwebchannel.js resource)
from PySide6.QtCore import QFile, QIODevice, QObject, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QCursor
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import (
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineScript,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QMenu, QVBoxLayout, QWidget


from maps.builder import MAPS_DIR, build_base_map, load_geojson
from controlroom.kernel import palette
from controlroom.kernel.errors import ControlRoomError
from ui.map.base_map import base_map_layers

if TYPE_CHECKING:
    from ui.kit.context import ConsoleContext

log = logging.getLogger(__name__)

FLUSH_INTERVAL_MS = 250
# crtiles:// is the console's own MBTiles server (ui.map.tile_scheme): local by construction.
LOCAL_SCHEMES = frozenset({"file", "qrc", "data", "blob", "about", "crtiles"})


class NoNetworkInterceptor(QWebEngineUrlRequestInterceptor):
    """Block every request that would leave the machine (anything but file/qrc/data/blob/about)."""

    def __init__(self, parent: QObject | None = None, *, allowed_url_templates: Iterable[str] = ()) -> None:
        super().__init__(parent)
        self.blocked: list[str] = []
        # An explicitly configured tile server is the one exception, matched by its URL template.
        self._allowed = [re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/?#]+", re.escape(t)) + r"([?#].*)?")
                         for t in allowed_url_templates]

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:  # noqa: N802 (Qt override)
        """Block and record non-local URLs."""
        url = info.requestUrl()
        if url.scheme().lower() in LOCAL_SCHEMES:
            return
        text = url.toString()
        if any(p.fullmatch(text) for p in self._allowed):
            return
        self.blocked.append(text)
        info.block(True)


class _Bridge(QObject):
    """The `bridge` object the page talks to over QWebChannel."""

    incident = Signal(int)
    unit = Signal(str)
    context = Signal(float, float)

    @Slot(int)
    def incidentClicked(self, incident_id: int) -> None:  # noqa: N802 (JS-facing name)
        self.incident.emit(int(incident_id))

    @Slot(str)
    def unitClicked(self, callsign: str) -> None:  # noqa: N802
        self.unit.emit(str(callsign))

    @Slot(float, float)
    def mapContextMenu(self, lat: float, lon: float) -> None:  # noqa: N802
        self.context.emit(float(lat), float(lon))


class _Page(QWebEnginePage):
    """Page that keeps the page's JavaScript errors, so tests and logs can see them."""

    def __init__(self, profile: QWebEngineProfile, parent: QObject) -> None:
        super().__init__(profile, parent)
        self.js_errors: list[str] = []

    def javaScriptConsoleMessage(self, level, message: str, line: int, source: str) -> None:  # noqa: N802
        """Record errors (and still print them like the default implementation)."""
        if level == QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel:
            self.js_errors.append(f"{source}:{line}: {message}")
        super().javaScriptConsoleMessage(level, message, line, source)


def _qwebchannel_js() -> str:
    """Qt's own qwebchannel.js, read from the Qt resource system (local, no network)."""
    f = QFile(":/qtwebchannel/qwebchannel.js")
    if not f.open(QIODevice.OpenModeFlag.ReadOnly):
        raise RuntimeError("qwebchannel.js not found in Qt resources")
    try:
        return bytes(f.readAll().data()).decode("utf-8")
    finally:
        f.close()


class MapPanel(QWidget):
    """Map view: build the base map once, then push coalesced changes at most every 250 ms."""

    incidentClicked = Signal(int)
    unitClicked = Signal(str)
    newIncidentRequested = Signal(float, float)
    loaded = Signal(bool)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        cache_dir: Path | None = None,
        areas_geojson: dict | None = None,
        roads_geojson: dict | None = None,
        room_colours: dict[str, str] | None = None,
        tile_url: str | None = None,
        training: bool = False,
        html_path: Path | None = None,
        base_map: Any = None,
    ) -> None:
        super().__init__(parent)
        layers, self.tile_handler, allowed = base_map_layers(base_map, self)
        from PySide6.QtWidgets import QApplication
        app = QApplication.instance()
        self._theme = "night" if app is not None and app.property("controlroomTheme") == "dark" else "day"
        if html_path is not None:  # a prebuilt (cached) base map: nothing to build
            self.html_path = Path(html_path)
            self.cache_dir = self.html_path.parent
        else:
            if cache_dir is None:
                cache_dir = Path(tempfile.mkdtemp(prefix="controlroom-map-"))
                weakref.finalize(self, shutil.rmtree, str(cache_dir), True)
            self.cache_dir = Path(cache_dir)
            self.html_path = build_base_map(
                self.cache_dir,
                areas_geojson=areas_geojson if areas_geojson is not None else load_geojson(MAPS_DIR / "areas.geojson"),
                roads_geojson=roads_geojson if roads_geojson is not None else _optional_geojson(MAPS_DIR / "roads.geojson"),
                room_colours=room_colours or dict(palette.ROOM_COLOURS),
                tile_url=tile_url,
                training=training,
                base_map=layers,
            )
        self.js_calls = 0
        self.is_loaded = False
        self.feed: Any = None  # ui.map.feed.MapFeed when built by make_panel
        self._units: dict[str, dict] = {}
        self._unit_removals: set[str] = set()
        self._incidents: dict[int, dict] = {}
        self._incident_removals: set[int] = set()
        self._area_rooms: dict[str, str] = {}
        self._select: tuple[int | None] | None = None   # (id,) when a selection is queued
        self._fit_to: tuple[str | None] | None = None
        self._last_flush = 0.0
        self._menu: QMenu | None = None

        self.view = QWebEngineView(self)
        # Own off-the-record profile, created after the view so Qt deletes the page first.
        self._profile = QWebEngineProfile(self)
        self.interceptor = NoNetworkInterceptor(self, allowed_url_templates=([tile_url] if tile_url else [])
                                                + allowed)
        self._profile.setUrlRequestInterceptor(self.interceptor)
        if self.tile_handler is not None:
            self._profile.installUrlSchemeHandler(b"crtiles", self.tile_handler)
        page = _Page(self._profile, self.view)
        self.js_errors = page.js_errors
        self.view.setPage(page)
        self._bridge = _Bridge(self)
        self._channel = QWebChannel(page)
        self._channel.registerObject("bridge", self._bridge)
        page.setWebChannel(self._channel)
        script = QWebEngineScript()
        script.setName("qwebchannel")
        script.setSourceCode(_qwebchannel_js())
        script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
        script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
        script.setRunsOnSubFrames(False)
        page.scripts().insert(script)

        self._bridge.incident.connect(self.incidentClicked)
        self._bridge.unit.connect(self.unitClicked)
        self._bridge.context.connect(self._show_context_menu)
        self.view.loadFinished.connect(self._on_load_finished)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.flush)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.view.load(QUrl.fromLocalFile(str(self.html_path)))

    # ---- queued changes (never reload the page) ----
    def upsert_units(self, units: Iterable[dict]) -> None:
        """Queue unit positions/states; later values for the same callsign win."""
        for u in units:
            cs = str(u["callsign"])
            self._unit_removals.discard(cs)
            self._units.setdefault(cs, {}).update(u)
        self._schedule()

    def remove_units(self, callsigns: Iterable[str]) -> None:
        """Queue removal of unit markers (and their trails)."""
        for cs in callsigns:
            self._units.pop(str(cs), None)
            self._unit_removals.add(str(cs))
        self._schedule()

    def upsert_incidents(self, incidents: Iterable[dict]) -> None:
        """Queue incident markers; later values for the same id win."""
        for inc in incidents:
            iid = int(inc["id"])
            self._incident_removals.discard(iid)
            self._incidents.setdefault(iid, {}).update(inc, id=iid)
        self._schedule()

    def remove_incidents(self, ids: Iterable[int]) -> None:
        """Queue removal of incident markers."""
        for iid in ids:
            self._incidents.pop(int(iid), None)
            self._incident_removals.add(int(iid))
        self._schedule()

    def select_incident(self, incident_id: int | None) -> None:
        """Queue highlighting (and panning to) one incident; None clears the selection."""
        self._select = (None if incident_id is None else int(incident_id),)
        self._schedule()

    def set_area_rooms(self, rooms: dict[str, str]) -> None:
        """Queue recolouring of areas after a transfer: {area_code: room}."""
        self._area_rooms.update(rooms)
        self._schedule()

    def fit_to(self, area_code: str | None) -> None:
        """Queue zooming to one area (None: the whole force)."""
        self._fit_to = (area_code,)
        self._schedule()

    def alarm_unit(self, callsign: str, lat: float | None = None, lon: float | None = None) -> None:
        """An officer's emergency: centre the map on the unit and flash its marker (now, not
        batched: this must not wait for the next flush)."""
        self.flush()
        self.view.page().runJavaScript(f"crmap.alarmUnit({json.dumps(callsign)}, {json.dumps(lat)}, {json.dumps(lon)});", 0)

    def clear_alarm(self, callsign: str) -> None:
        self.view.page().runJavaScript(f"crmap.clearAlarm({json.dumps(callsign)});", 0)

    def evaluate(self, script: str, callback: Callable[[Any], None]) -> None:
        """Run a script in the page and hand its result to callback (tests, tools)."""
        self.view.page().runJavaScript(script, 0, callback)

    def pending(self) -> bool:
        """True while changes wait for the next flush."""
        return bool(self._units or self._unit_removals or self._incidents or self._incident_removals
                    or self._area_rooms or self._select is not None or self._fit_to is not None)

    def _schedule(self) -> None:
        if not self.is_loaded or self._timer.isActive():
            return
        since = (time.monotonic() - self._last_flush) * 1000.0
        self._timer.start(max(0, int(FLUSH_INTERVAL_MS - since)))

    def flush(self) -> None:
        """Send every queued change to the page in one runJavaScript call."""
        if not self.is_loaded or not self.pending():
            return
        batch: dict[str, Any] = {}
        if self._unit_removals:
            batch["removeUnits"] = sorted(self._unit_removals)
        if self._incident_removals:
            batch["removeIncidents"] = sorted(self._incident_removals)
        if self._units:
            batch["units"] = list(self._units.values())
        if self._incidents:
            batch["incidents"] = list(self._incidents.values())
        if self._area_rooms:
            batch["areaRooms"] = dict(self._area_rooms)
        if self._select is not None:
            batch["select"] = self._select[0]
        if self._fit_to is not None:
            batch["fitTo"] = self._fit_to[0]
        self._units, self._unit_removals, self._incidents, self._incident_removals = {}, set(), {}, set()
        self._area_rooms, self._select, self._fit_to = {}, None, None
        self._last_flush = time.monotonic()
        self.js_calls += 1
        self.view.page().runJavaScript(f"crmap.applyBatch({json.dumps(batch, default=str)});", 0)

    def set_theme(self, theme: str) -> None:
        """'day' or 'night' (the console's theme): the base map follows it."""
        self._theme = "night" if theme in ("night", "dark") else "day"
        if self.is_loaded:
            self.view.page().runJavaScript(f"crmap.setTheme({json.dumps(self._theme)});", 0)

    def shutdown(self) -> None:
        """Console closing: stop the live feed and pending flushes."""
        if self.feed is not None:
            self.feed.stop()
        self._timer.stop()

    # ---- page events ----
    def _on_load_finished(self, ok: bool) -> None:
        self.is_loaded = bool(ok)
        if ok and (self.tile_handler is not None or self._theme != "day"):
            self.set_theme(self._theme)
        self.loaded.emit(bool(ok))
        if ok and self.pending():
            self._schedule()

    def _show_context_menu(self, lat: float, lon: float) -> None:
        """Right-click on the map: offer "New incident here" at that point."""
        menu = QMenu(self)
        action = menu.addAction(f"New incident here ({lat:.5f}, {lon:.5f})")
        action.triggered.connect(lambda: self.newIncidentRequested.emit(lat, lon))
        menu.aboutToHide.connect(menu.deleteLater)
        self._menu = menu
        menu.popup(QCursor.pos())


def make_panel(ctx: "ConsoleContext") -> QWidget:
    """The console's live map: cached base map (current area owners), fed from the event bridge."""
    from maps.cache import ensure_base_map
    from ui.map.feed import MapFeed

    areas = ctx.session.area_features()  # read at sign-in, owners kept current by events: no query here
    tile_url = os.environ.get("CONTROLROOM_MAP_TILES") or None
    base = _base_map_from_database(ctx)
    layers, _handler, _allowed = base_map_layers(base)
    html = ensure_base_map(areas, dict(palette.ROOM_COLOURS), training=ctx.training, tile_url=tile_url,
                           base_map=layers)
    panel = MapPanel(html_path=html, tile_url=tile_url, training=ctx.training, base_map=base)
    panel.setObjectName("mapPanel")
    panel.feed = MapFeed(ctx, panel)
    return panel


def _base_map_from_database(ctx: "ConsoleContext") -> Any:
    """The force's configured base map (geo_config), or None for the schematic map."""
    try:
        return ctx.session.base_map()
    except ControlRoomError:
        log.warning("map: base-map configuration not readable, showing the schematic map")
        return None


def _optional_geojson(path: Path) -> dict:
    """Load a GeoJSON file, or an empty FeatureCollection when it is not shipped."""
    return load_geojson(path) if path.exists() else {"type": "FeatureCollection", "features": []}
