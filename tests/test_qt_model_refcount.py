"""Every table model and proxy in ui/ can be asked for data all shift without draining None/True/False.

PySide6 6.12.0 on CPython 3.11 returns None from binding calls without a reference (issue 18): a
proxy's `super().data()` drained one reference to None per call and the console aborted with
"none_dealloc" every few minutes. These tests drive every model a console shows through `data()`
and `headerData()` for every role, ~100,000 calls each, and assert the singletons' reference
counts do not move; and that the binding-wide workaround keeps a process alive however many
None-returning calls it makes.
"""
from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QAbstractItemModel, QAbstractProxyModel, QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView

import ui  # noqa: F401  (the package import applies the Qt workaround first)
from controlroom.demo.activity import seed_demo_activity
from ui.kit import qt_workarounds
from ui.kit.context import ConsoleContext
from ui.kit.event_bridge import EventBridge
from ui.shell.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[1]
ROLES = [*range(0, 16), *range(Qt.UserRole, Qt.UserRole + 8)]
CALLS = 100_000
SINGLETONS = (None, True, False)
TOLERANCE = 200  # the console's listener and worker threads run meanwhile; a leak costs thousands


def refcounts() -> list[int]:
    return [sys.getrefcount(x) for x in SINGLETONS]


def steady(before: list[int]) -> bool:
    """No drift beyond the noise of the console's other threads (this leak costs one per call)."""
    return all(abs(a - b) <= TOLERANCE for a, b in zip(refcounts(), before))


def drive(model: QAbstractItemModel, calls: int) -> int:
    """Ask `model` for every role of every cell and header, round and round, about `calls` times."""
    rows, cols = min(model.rowCount(), 25), model.columnCount()
    cells = [model.index(r, c) for r in range(rows) for c in range(cols)]
    done = 0
    while done < calls:
        for role in ROLES:
            for ix in cells:
                model.data(ix, role)
            for c in range(cols):
                model.headerData(c, Qt.Horizontal, role)
            for r in range(rows):
                model.headerData(r, Qt.Vertical, role)
            model.data(QModelIndex(), role)
            done += len(cells) + cols + rows + 1
    return done


def models_of(widget) -> list[QAbstractItemModel]:
    found: list[QAbstractItemModel] = []
    for view in widget.findChildren(QAbstractItemView):
        m = view.model()
        while m is not None and m not in found:
            if type(m).__module__.startswith("ui."):  # ours; Qt's own (a combo box's) are driven from C++
                found.append(m)
            m = m.sourceModel() if isinstance(m, QAbstractProxyModel) else None
    return found


def ui_model_classes() -> set[type]:
    """Every QAbstractItemModel subclass defined in the ui package (imported by the console)."""
    out, todo = set(), [QAbstractItemModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("ui.") and not inspect.isabstract(sub):
                out.add(sub)
    return out


@pytest.fixture
def consoles(db_url, open_as, qapp):
    seed_demo_activity(db_url)
    wins = []
    for user in ("handler.north", "despatch.north", "super.south", "inspector.north"):
        s = open_as(user)
        w = MainWindow(ConsoleContext(session=s, bridge=EventBridge(s)), restore=False)
        w.show()
        wins.append(w)
    yield wins
    for w in wins:
        w.close()
        w.ctx.bridge.close()


def test_every_console_model_answers_100k_data_calls_without_draining_singletons(qtbot, consoles):
    qtbot.wait(1500)  # panels load their rows off the GUI thread
    models: list[QAbstractItemModel] = []
    for w in consoles:
        models += [m for m in models_of(w) if m not in models]
    assert len(models) >= 8
    driven = set()
    for m in models:
        if m.rowCount() == 0:
            continue
        drive(m, 200)  # warm caches (lazily built sort keys, brushes) before measuring
        before = refcounts()
        drive(m, 2_000)  # a short run first: an unpatched proxy fails here, long before an abort
        assert steady(before), f"{type(m).__name__}: {[a - b for a, b in zip(refcounts(), before)]}"
        calls = drive(m, CALLS)
        drift = [a - b for a, b in zip(refcounts(), before)]
        assert steady(before), f"{type(m).__name__}: refcount drift {drift} over {calls} calls"
        driven.add(type(m))
    assert {"UnitsFilter", "IncidentFilterProxy", "SourceDataProxy", "UnitsModel",
            "IncidentTableModel"} <= {c.__name__ for c in driven}


def test_no_ui_model_overrides_data_through_the_binding():
    """A proxy in ui/ must not call the C++ data()/headerData(), which hands back None unreferenced."""
    for cls in ui_model_classes():
        if issubclass(cls, QAbstractProxyModel):
            assert cls.data is not QAbstractProxyModel.data and "SourceDataProxy" in [
                c.__name__ for c in cls.__mro__], cls
    plain = [p.name for p in (ROOT / "ui").glob("*.py")
             if re.search(r"\bQ(SortFilter|Identity|Transpose)ProxyModel\(", p.read_text(encoding="utf-8"))]
    assert not plain, f"use ui.kit.proxy_models.SourceDataProxy instead of a plain Qt proxy in {plain}"


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    e = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=e, capture_output=True,
                          text=True, timeout=120)


CHURN = """
import ui  # noqa: F401  (the package import applies the Qt workaround first)
from PySide6.QtCore import QObject, QSortFilterProxyModel
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label, proxy, src = QLabel(), QSortFilterProxyModel(), QStandardItemModel(3, 3)
proxy.setSourceModel(src)
ix = proxy.index(0, 0)
for i in range(300_000):  # void calls, null pointers and invalid QVariants all return None
    label.setText("x"); label.parent(); proxy.data(ix, 1)
print("alive")
"""


@pytest.mark.skipif(not qt_workarounds.broken(), reason="this PySide6/CPython pair does not drain None")
def test_binding_wide_workaround_keeps_a_busy_process_alive():
    assert qt_workarounds.safe() and qt_workarounds.refusal() is None
    ok = _run(CHURN)
    assert ok.returncode == 0 and "alive" in ok.stdout, ok.stderr[-500:]
    bare = _run(CHURN, CONTROLROOM_QT_WORKAROUNDS="off")  # what the console did before the fix
    assert bare.returncode != 0 and "none_dealloc" in bare.stderr


@pytest.mark.skipif(not qt_workarounds.broken(), reason="this PySide6/CPython pair does not drain None")
def test_console_refuses_to_start_on_a_known_bad_unpatched_binding():
    bare = _run("import sys; from ui.shell.app import main; sys.exit(main(['--no-demo']))",
                CONTROLROOM_QT_WORKAROUNDS="off")
    assert bare.returncode == 3
    assert "cannot run safely on PySide6" in bare.stderr and "none_dealloc" in bare.stderr
