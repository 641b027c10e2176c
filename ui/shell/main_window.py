"""The console's main window: docks for every panel around the map, command line, status bar."""
from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QDockWidget, QFrame, QMainWindow, QScrollArea, QSizePolicy,
                               QToolBar, QVBoxLayout, QWidget)

from . import layouts, panels
from ..kit import themes
from ..cli.line import CommandLine
from ..kit.context import ConsoleContext
from .detach import Detacher, pull_on_screen
from .fallback_banner import FallbackBanner
from ..kit.room_banner import RoomBanner
from .status_bar import ConsoleStatusBar

log = logging.getLogger(__name__)

LAYOUT_VERSION = 2  # 2: per-role layouts (issue 18); older saved states fall back to them


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
        self.detacher = Detacher(self, lay)  # the map in its own window on another screen
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
        layouts.apply(self)
        self._default_state = self.saveState(LAYOUT_VERSION)  # what View ▸ Reset layout returns to
        QTimer.singleShot(0, self._default_sizes)  # sizes only stick once the window has its size
        self.status = ConsoleStatusBar(ctx)
        self.setStatusBar(self.status)
        self._menus()
        QShortcut(QKeySequence("F2"), self, activated=self.command_line.edit.setFocus)
        self.apply_theme(theme or str(self.settings.value(f"theme/{s.user.username}", "light")))
        self.resize(1600, 960)
        self._restored = restore and self.restore_layout()
        from .alarm_banner import install_alarm_band  # issue 20: emergencies, G1 alarms
        self.alarm_banner = install_alarm_band(self, ctx)
        if restore:
            self.detacher.restore(self.settings, self._layout_key())
            self.detach_map_action.blockSignals(True)
            self.detach_map_action.setChecked(self.detacher.map_detached)
            self.detach_map_action.blockSignals(False)
        from ui.kit.idle_lock import install_idle_lock  # issue 12: blank the console after idle time
        install_idle_lock(self)

    # -- building --------------------------------------------------------------------------------
    def _training_band(self) -> QWidget | None:
        from ui.shell.training_band import make_training_band
        return make_training_band(self.ctx)

    def _add_dock(self, spec: panels.PanelSpec) -> None:
        widget = panels.build(spec, self.ctx)
        dock = QDockWidget(spec.title, self)
        dock.setObjectName(f"dock_{spec.key}")
        # A scroll area lets a tall form shrink so the operator decides how space is shared.
        if spec.key in layouts.SELF_SCROLLING:
            dock.setWidget(widget)  # keeps its own buttons and banner in view
        else:
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

    def _default_sizes(self) -> None:
        if not self._restored:
            layouts.apply_sizes(self)

    def _menus(self) -> None:
        view = self.menuBar().addMenu("&View")
        for key, dock in self.docks.items():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        for name in themes.THEMES:
            act = QAction(f"{themes.THEMES[name]} theme", self)
            act.triggered.connect(lambda _=False, n=name: self.apply_theme(n))
            view.addAction(act)
        view.addSeparator()
        self.detach_map_action = QAction("Map in its own window", self, checkable=True)
        self.detach_map_action.toggled.connect(lambda on: self.detach_map() if on else self.attach_map())
        view.addAction(self.detach_map_action)
        boards = QAction("Boards in their own windows", self)
        boards.triggered.connect(self.detacher.detach_boards)
        view.addAction(boards)
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

    def detach_map(self):
        window = self.detacher.detach_map()
        self.detach_map_action.setChecked(True)
        return window

    def attach_map(self) -> None:
        self.detacher.attach_map()
        self.detach_map_action.setChecked(False)

    def save_layout(self) -> None:
        self.settings.setValue(self._layout_key() + "/state", self.saveState(LAYOUT_VERSION))
        self.settings.setValue(self._layout_key() + "/geometry", self.saveGeometry())
        self.detacher.save(self.settings, self._layout_key())

    def restore_layout(self) -> bool:
        state = self.settings.value(self._layout_key() + "/state")
        geometry = self.settings.value(self._layout_key() + "/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
            pull_on_screen(self)  # the monitor it was on may be gone
        return isinstance(state, QByteArray) and self.restoreState(state, LAYOUT_VERSION)

    def reset_layout(self) -> None:
        self.settings.remove(self._layout_key())
        self._restored = False
        self.attach_map()
        self.restoreState(self._default_state, LAYOUT_VERSION)
        QTimer.singleShot(0, self._default_sizes)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.save_layout()
        self._closing = True
        for widget in self.panels.values():
            closer = getattr(widget, "shutdown", None)
            if callable(closer):
                closer()
        self.detacher.close()
        super().closeEvent(event)
