"""Run a service call off the GUI thread and report its result (or error) back on it.

Like Anki's operations: the console never freezes on a slow or dead database.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from controlroom.errors import ControlRoomError, Unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

_live: set["_Op"] = set()


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object)


class _Op(QRunnable):
    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.signals = _Signals()

    def run(self) -> None:
        try:
            result = self.fn()
        except ControlRoomError as exc:
            self.signals.failed.emit(exc)
        except Exception as exc:  # unexpected: report it as an error the operator can read
            log.exception("operation failed")
            self.signals.failed.emit(ControlRoomError(f"Unexpected error: {exc}"))
        else:
            self.signals.done.emit(result)


def pool() -> QThreadPool:
    return QThreadPool.globalInstance()


def run_op(parent: QObject | None, fn: Callable[[], T], *, on_done: Callable[[T], None] | None = None,
           on_error: Callable[[ControlRoomError], None] | None = None) -> None:
    """Call `fn()` on a worker; `on_done(result)` / `on_error(err)` run on the GUI thread."""
    op = _Op(fn)
    _live.add(op)

    def finish() -> None:
        _live.discard(op)

    def alive() -> bool:  # results for a widget closed meanwhile are dropped with it
        return parent is None or shiboken6.isValid(parent)

    def done(result: Any) -> None:
        finish()
        if on_done is not None and alive():
            on_done(result)

    def failed(err: ControlRoomError) -> None:
        finish()
        if on_error is not None and alive():
            on_error(err)
        elif not isinstance(err, Unavailable):
            log.warning("operation failed: %s", err)

    op.signals.done.connect(done)
    op.signals.failed.connect(failed)
    pool().start(op)


def wait_all(timeout_ms: int = 5000) -> bool:
    """For tests and shutdown: wait for outstanding operations."""
    return pool().waitForDone(timeout_ms)
