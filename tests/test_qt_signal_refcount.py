"""PySide6 6.12 took a reference from True on every Python-side emit; a busy console aborted."""
from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, Signal

import ui  # noqa: F401  (installs ui.kit.qt_workarounds)


class _Emitter(QObject):
    event = Signal(object)


def test_emitting_signals_does_not_drain_references_to_true(qtbot):
    e = _Emitter()
    got: list[int] = []
    e.event.connect(got.append)
    before = sys.getrefcount(True)
    for i in range(300):
        e.event.emit(i)
    worker = threading.Thread(target=lambda: [e.event.emit(i) for i in range(300)])  # as the event bridge does
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(got) == 600)
    assert sys.getrefcount(True) - before > -50  # unpatched: -600 (and an abort after a few thousand)
