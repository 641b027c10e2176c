"""Multi-screen: the map and the boards in their own top-level windows (issue 18 item 8).

The map moves into a MapWindow (the console keeps a "bring it back" placeholder where it was);
the boards (units, talk groups, performance…) float as their own windows. Both are saved per user
in QSettings with the dock layout and, when the screen they were saved on is gone, pulled back
onto a screen that exists.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QPoint, QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from .main_window import MainWindow

BOARDS = ("units", "talkgroups", "dashboards", "banding", "reconciliation")


def on_screen(widget: QWidget) -> bool:
    """True when the widget's centre is on one of the screens there are now."""
    centre = widget.frameGeometry().center()
    return any(s.availableGeometry().contains(centre) for s in QGuiApplication.screens())


def pull_on_screen(widget: QWidget) -> bool:
    """Move a window whose screen has gone onto the primary screen, shrunk to fit; True if moved."""
    if on_screen(widget):
        return False
    avail: QRect = QGuiApplication.primaryScreen().availableGeometry()
    w, h = min(widget.width(), avail.width() - 40), min(widget.height(), avail.height() - 40)
    widget.resize(max(w, 200), max(h, 150))
    widget.move(avail.topLeft() + QPoint(20, 20))
    return True


def second_screen_origin(offset: int = 0) -> QPoint:
    """Top-left for a detached window: on another screen when there is one."""
    screens = QGuiApplication.screens()
    screen = screens[1] if len(screens) > 1 else QGuiApplication.primaryScreen()
    return screen.availableGeometry().topLeft() + QPoint(40 + offset, 40 + offset)


class MapWindow(QWidget):
    """The map on its own (e.g. on the wall screen or a second monitor)."""

    def __init__(self, win: "MainWindow") -> None:
        super().__init__(None, Qt.Window)
        self.win = win
        self.setObjectName("mapWindow")
        self.setWindowTitle(f"Map — {win.windowTitle()}")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if not getattr(self.win, "_closing", False):
            self.win.attach_map()  # closing the map's window brings the map home, never loses it
        super().closeEvent(event)


class MapPlaceholder(QWidget):
    def __init__(self, win: "MainWindow") -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        text = QLabel("The map is in its own window.")
        text.setAlignment(Qt.AlignCenter)
        back = QPushButton("Bring the map back here")
        back.clicked.connect(win.attach_map)
        lay.addWidget(text)
        lay.addWidget(back, 0, Qt.AlignCenter)
        lay.addStretch(1)


class Detacher:
    """Owns the map's window and the boards' floating state for one main window."""

    def __init__(self, win: "MainWindow", map_host: QVBoxLayout) -> None:
        self.win, self.host = win, map_host
        self.window: MapWindow | None = None
        self.placeholder = MapPlaceholder(win)
        self.placeholder.hide()
        map_host.addWidget(self.placeholder, 1)

    @property
    def map_detached(self) -> bool:
        return self.window is not None

    def detach_map(self, geometry: QByteArray | None = None) -> MapWindow:
        if self.window is None:
            self.window = MapWindow(self.win)
            self.host.removeWidget(self.win.map)
            self.window.layout().addWidget(self.win.map)
            self.win.map.show()
            self.placeholder.show()
            self.window.resize(1000, 700)
            self.window.move(second_screen_origin())
        if geometry is not None:
            self.window.restoreGeometry(geometry)
        pull_on_screen(self.window)
        self.window.show()
        return self.window

    def attach_map(self) -> None:
        if self.window is None:
            return
        window, self.window = self.window, None
        window.layout().removeWidget(self.win.map)
        self.placeholder.hide()
        self.host.insertWidget(self.host.indexOf(self.placeholder), self.win.map, 1)
        self.win.map.show()
        window.hide()
        window.deleteLater()

    def detach_boards(self) -> list[str]:
        moved = []
        for i, key in enumerate(k for k in BOARDS if k in self.win.docks):
            dock = self.win.docks[key]
            dock.show()
            dock.setFloating(True)
            dock.resize(560, 420)
            dock.move(second_screen_origin(30 * i))
            moved.append(key)
        return moved

    def save(self, settings, key: str) -> None:
        if self.window is not None:
            settings.setValue(key + "/map_window", self.window.saveGeometry())
        else:
            settings.remove(key + "/map_window")

    def restore(self, settings, key: str) -> None:
        geometry = settings.value(key + "/map_window")
        if isinstance(geometry, QByteArray):
            self.detach_map(geometry)
        for dock in self.win.docks.values():
            if dock.isFloating():
                pull_on_screen(dock)

    def close(self) -> None:
        if self.window is not None:
            self.window.hide()
            self.window.deleteLater()
