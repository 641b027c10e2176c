"""Work around a PySide6 reference-count bug that aborts a long-running console.

PySide6 6.12.0 on CPython 3.11: every `SignalInstance.emit()` called from Python returns True
without taking a reference to it, so each emit takes one reference from `True`. After a few
thousand emits (a busy console does hundreds a second: the event bridge alone emits one per
event) the count reaches zero and CPython aborts with "bool_dealloc: deallocating True or False".
Found by the load benchmark (crashed after ~5 minutes at 200 actions/s).

We probe once at import: if an emit really costs `True` a reference, wrap `emit` to give that
reference back; on a fixed PySide6 or on CPython >= 3.12 (immortal True) nothing is patched.
"""
from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal, SignalInstance

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None
PROBES = 16


class _Probe(QObject):
    ping = Signal()


def emit_leaks_true() -> bool:
    """True when one Python-side emit takes a reference from `True` (and repays the probe's)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(PROBES):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    for _ in range(max(0, lost)):
        _incref(True)
    return lost >= PROBES


def install() -> bool:
    """Patch SignalInstance.emit if this PySide6 needs it; returns whether it did."""
    original = SignalInstance.emit
    if getattr(original, "_controlroom_fixed", False) or not emit_leaks_true():
        return False

    def emit(self, *args):  # type: ignore[no-untyped-def]
        result = original(self, *args)
        if result is True or result is False:
            _incref(result)  # the reference PySide6 forgot to take
        return result

    emit._controlroom_fixed = True  # type: ignore[attr-defined]
    SignalInstance.emit = emit
    return True


PATCHED = install()
