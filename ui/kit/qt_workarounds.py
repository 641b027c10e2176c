"""Work around PySide6 reference-count bugs that abort a long-running console.

PySide6 6.12.0 (an abi3 wheel) returns the singletons `None`, `True` and `False` to Python
without taking a reference for them. On CPython >= 3.12 they are immortal (PEP 683) and nothing
happens; on CPython 3.11 each such call takes one reference from the singleton, and when the
count reaches zero CPython aborts ("none_dealloc: deallocating None", "bool_dealloc").
Measured here (issue 18):
- every binding call that returns None drains `None`: a void method (`setText`, `update`,
  `painter.drawLine`), a null pointer (`parent()`), an invalid QVariant (`QSortFilterProxyModel.data`,
  `QModelIndex.data`, `QAction.data`, `QObject.property`). A console makes thousands a second,
  so it died every few minutes (first seen in the units panel's proxy `data()` and delegate `paint`);
- `SignalInstance.emit()` drains `True` (found by the load benchmark).

Both are probed once at import. If the binding drains a singleton, we give each of the three a
reserve of 2**60 references (CPython 3.12's immortality, for these three objects only): at the
rate a busy console drains them that lasts for millennia, and it covers every call site, not just
the ones we know of. `emit` is also wrapped to repay its reference, as before, and the item
models' proxies in ui/ avoid the binding's None path (ui/kit/proxy_models.py), so their hot path
does not drift at all. Set CONTROLROOM_QT_WORKAROUNDS=off to see the bug (the start-up guard,
`refusal()`, then refuses to start on a known-bad combination).
"""
from __future__ import annotations

import ctypes
import os
import sys

import PySide6
from PySide6.QtCore import QObject, Signal, SignalInstance

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None
PROBES = 16
RESERVE = 1 << 60
SINGLETONS = (None, True, False)
KNOWN_BAD = {("6.12.0", (3, 11))}
"""(PySide6, CPython) pairs measured to drain singletons; other CPython < 3.12 builds are probed."""


class _Probe(QObject):
    ping = Signal()


def _repay(obj: object, lost: int) -> None:
    for _ in range(max(0, lost)):
        _incref(obj)


def emit_leaks_true() -> bool:
    """True when one Python-side emit takes a reference from `True` (and repays the probe's)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(PROBES):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    _repay(True, lost)
    return lost >= PROBES


def none_return_leaks() -> bool:
    """True when a binding call returning None (void, null pointer, invalid QVariant) drains None."""
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(PROBES):
        probe.setObjectName("probe")  # void
        probe.property("no-such-property")  # invalid QVariant
    lost = before - sys.getrefcount(None)
    _repay(None, lost)
    return lost >= PROBES


def _refcnt(obj: object) -> ctypes.c_ssize_t:
    return ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is the first field of every object


def has_reserve(obj: object) -> bool:
    return sys.getrefcount(obj) > RESERVE // 2


def give_reserve() -> bool:
    """Give None, True and False RESERVE references each (once); True when they all hold one."""
    for obj in SINGLETONS:
        if has_reserve(obj):
            continue
        before = sys.getrefcount(obj)
        _refcnt(obj).value += RESERVE
        if sys.getrefcount(obj) - before < RESERVE - 1024:  # a layout we do not know: undo
            _refcnt(obj).value -= RESERVE
            return False
    return all(has_reserve(obj) for obj in SINGLETONS)


def patch_emit() -> bool:
    """Wrap SignalInstance.emit to repay the reference to True/False it forgets to take."""
    original = SignalInstance.emit
    if getattr(original, "_controlroom_fixed", False):
        return True

    def emit(self, *args):  # type: ignore[no-untyped-def]
        result = original(self, *args)
        if result is True or result is False:
            _incref(result)  # the reference PySide6 forgot to take
        return result

    emit._controlroom_fixed = True  # type: ignore[attr-defined]
    SignalInstance.emit = emit
    return True


def _disabled() -> bool:
    return os.environ.get("CONTROLROOM_QT_WORKAROUNDS", "").lower() in ("off", "0", "no")


def install() -> dict[str, bool]:
    """Probe the binding and patch what it needs; returns what was found and what was done."""
    state = {"emit_leaks_true": emit_leaks_true(), "none_return_leaks": none_return_leaks(),
             "emit_patched": False, "reserve": False}
    if _disabled():
        return state
    if state["emit_leaks_true"]:
        state["emit_patched"] = patch_emit()
    if state["emit_leaks_true"] or state["none_return_leaks"]:
        state["reserve"] = give_reserve()
    return state


STATE = install()
PATCHED = STATE["emit_patched"] or STATE["reserve"]


def broken() -> bool:
    """This binding drains a singleton on this interpreter (known pair, or measured at import)."""
    known = (PySide6.__version__, sys.version_info[:2]) in KNOWN_BAD
    return known or STATE["emit_leaks_true"] or STATE["none_return_leaks"]


def safe() -> bool:
    """Nothing can drain a singleton to zero: a sound binding, or a drained one given its reserve."""
    return not broken() or all(has_reserve(obj) for obj in SINGLETONS)


def refusal() -> str | None:
    """The start-up guard's message when this Qt binding would abort the console; None when safe."""
    if safe():
        return None
    py = ".".join(map(str, sys.version_info[:3]))
    return (f"controlroom cannot run safely on PySide6 {PySide6.__version__} with CPython {py}: this "
            "binding loses a reference to None/True/False on every call, and the console would abort "
            "within minutes ('none_dealloc'). The workaround in ui/kit/qt_workarounds.py is not active"
            + (" (CONTROLROOM_QT_WORKAROUNDS=off)" if _disabled() else "")
            + ". Use CPython 3.12 or later, or PySide6 6.11.x, or enable the workaround.")
