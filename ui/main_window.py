"""The console's main window: docks for every panel around the map, command line, status bar."""
from __future__ import annotations

import contextlib
import importlib
import logging

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QDockWidget, QFrame, QMainWindow, QScrollArea, QSizePolicy,
                               QToolBar, QVBoxLayout, QWidget)

from . import panels, themes
from .command_line import CommandLine
from .panels import BOTTOM, LEFT, RIGHT
from .context import ConsoleContext
from .fallback_banner import FallbackBanner
from .room_banner import RoomBanner
from .status_bar import ConsoleStatusBar

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1


class MainWindow(QMainWindow):
    def __init__(self, ctx: ConsoleContext, *, theme: str | None = None,
                 restore: bool = True) -> None:
        super().__init__()
        self.ctx = ctx
        s = ctx.session
        self.setObjectName("mainWindow")
        title = f"controlroom — {s.room.name or 'virtual room'} — {s.user.username} @ {s.console_id}"
        self.setWindowTitle(("TRAINING — " + title) if ctx.training else title)
        self.settings = QSettings("controlroom", "console")
        self.docks: dict[str, QDockWidget] = {}
        self.panels: dict[str, QWidget] = {}

        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.band = self._training_band() if ctx.training else None
        if self.band is not None:  # across the whole window, above every dock: unmistakable
            top = QToolBar("Training", self)
            top.setObjectName("trainingBar")
            top.setMovable(False)
            top.setFloatable(False)
            top.toggleViewAction().setEnabled(False)  # it cannot be hidden
            self.band.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            top.addWidget(self.band)
            self.addToolBar(Qt.TopToolBarArea, top)
        self.room_banner = RoomBanner(ctx)  # areas changing hands, database outage (issue 9)
        lay.addWidget(self.room_banner)
        lay.addWidget(FallbackBanner(ctx))  # amber while a room works from the training suite (issue 10)
        self.map = panels.build(panels.MAP, ctx)
        self.panels["map"] = self.map
        lay.addWidget(self.map, 1)
        self.setCentralWidget(central)
        # The command line spans the whole bottom edge (DESIGN §4), always reachable with F2.
        self.command_line = CommandLine(ctx)
        self.command_line.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        bar = QToolBar("Command line", self)
        bar.setObjectName("commandBar")
        bar.setMovable(False)
        bar.addWidget(self.command_line)
        self.addToolBar(Qt.BottomToolBarArea, bar)

        for spec in panels.PANELS:
            if spec.roles and s.user.role not in spec.roles:
                continue
            self._add_dock(spec)
        self._tabify_defaults()
        self.status = ConsoleStatusBar(ctx)
        self.setStatusBar(self.status)
        self._menus()
        QShortcut(QKeySequence("F2"), self, activated=self.command_line.edit.setFocus)
        self.apply_theme(theme or str(self.settings.value(f"theme/{s.user.username}", "light")))
        self.resize(1600, 960)
        self._restored = restore and self.restore_layout()
        from .alarm_banner import install_alarm_band  # issue 20: emergencies, G1 alarms
        self.alarm_banner = install_alarm_band(self, ctx)
        with contextlib.suppress(ImportError):  # issue 12: blank the console after idle time
            importlib.import_module("ui.idle_lock").install_idle_lock(self)

    # -- building --------------------------------------------------------------------------------
    def _training_band(self) -> QWidget | None:
        try:
            return importlib.import_module("ui.training_band").make_training_band(self.ctx)
        except ModuleNotFoundError:
            from .panels import placeholder
            band = placeholder("TRAINING — exercise data only, never live")
            band.setObjectName("trainingBand")
            return band

    def _add_dock(self, spec: panels.PanelSpec) -> None:
        widget = panels.build(spec, self.ctx)
        dock = QDockWidget(spec.title, self)
        dock.setObjectName(f"dock_{spec.key}")
        # A scroll area lets a tall form shrink so the operator decides how space is shared.
        scroller = QScrollArea()
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.NoFrame)
        scroller.setWidget(widget)
        dock.setWidget(scroller)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                         | QDockWidget.DockWidgetClosable)
        self.addDockWidget(spec.area, dock)
        self.docks[spec.key] = dock
        self.panels[spec.key] = widget

    def _tabify_defaults(self) -> None:
        # Two stacks per side: the list on top, everything else tabbed underneath it, so
        # panels added by later work never squeeze the ones an operator watches all shift.
        d = self.docks
        stacks = {LEFT: ("incidents", "incident_form"), RIGHT: ("units", "talkgroups"),
                  BOTTOM: (None, None)}
        for spec in panels.PANELS:
            if spec.key not in d or spec.area not in stacks:
                continue
            top, base = stacks[spec.area]
            if spec.key in (top, base) or base not in d:
                continue
            self.tabifyDockWidget(d[base], d[spec.key])
        for base in ("incident_form", "talkgroups"):
            if base in d:
                d[base].raise_()
        QTimer.singleShot(0, self._default_sizes)  # sizes only stick once the window has its size

    def _default_sizes(self) -> None:
        if self._restored:
            return
        d = self.docks
        w = max(self.width(), 1200)
        left = [d[k] for k in ("incidents", "incident_form") if k in d]
        if len(left) == 2:
            self.resizeDocks(left, [self.height() // 2, self.height() // 2], Qt.Vertical)
        right = [d[k] for k in ("units", "talkgroups") if k in d]
        if len(right) == 2:
            self.resizeDocks(right, [self.height() // 2, self.height() // 2], Qt.Vertical)
        if left and right:
            self.resizeDocks([left[0], right[0]], [int(w * 0.34), int(w * 0.27)], Qt.Horizontal)

    def _menus(self) -> None:
        view = self.menuBar().addMenu("&View")
        for key, dock in self.docks.items():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        for name in themes.THEMES:
            act = QAction(f"{themes.THEMES[name]} theme", self)
            act.triggered.connect(lambda _=False, n=name: self.apply_theme(n))
            view.addAction(act)
        reset = QAction("Reset layout", self)
        reset.triggered.connect(self.reset_layout)
        view.addAction(reset)
        cmd = QAction("Command line", self, shortcut=QKeySequence("Ctrl+L"))
        cmd.triggered.connect(self.command_line.edit.setFocus)
        view.addAction(cmd)

    # -- theme and layout ------------------------------------------------------------------------
    def apply_theme(self, name: str) -> None:
        self.theme = themes.apply(QApplication.instance(), name)
        if hasattr(self.map, "set_theme"):  # the map page follows (a placeholder map has no page)
            self.map.set_theme(self.theme)
        self.settings.setValue(f"theme/{self.ctx.session.user.username}", self.theme)

    def _layout_key(self) -> str:
        return f"layout/{self.ctx.session.user.username}"

    def save_layout(self) -> None:
        self.settings.setValue(self._layout_key() + "/state", self.saveState(LAYOUT_VERSION))
        self.settings.setValue(self._layout_key() + "/geometry", self.saveGeometry())

    def restore_layout(self) -> bool:
        state = self.settings.value(self._layout_key() + "/state")
        geometry = self.settings.value(self._layout_key() + "/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        return isinstance(state, QByteArray) and self.restoreState(state, LAYOUT_VERSION)

    def reset_layout(self) -> None:
        self.settings.remove(self._layout_key())
        self._restored = False
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self._tabify_defaults()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.save_layout()
        for widget in self.panels.values():
            closer = getattr(widget, "shutdown", None)
            if callable(closer):
                closer()
        super().closeEvent(event)
