"""Console idle lock: after N idle minutes the console is covered until the password is re-entered.

The idle time is the force's policy, read from the database (meta 'policy.idle_lock_minutes',
read-only for consoles), never from the operator's own settings file. While locked, every other
top-level window of the console (firearms alert, replay, wallboard…) is hidden and comes back on
unlock. The password is re-checked by a fresh sign-in to the database (session.verify_password;
refusals audited; no lockout — the server's auth_delay slows guessing).
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QElapsedTimer, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QApplication, QLineEdit, QPushButton, QVBoxLayout, QWidget)
from .plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.errors import ControlRoomError

from .ops import run_op

DEFAULT_MINUTES = 10
_LOCKS: list["IdleLock"] = []  # the console's idle locks (one per main window)


def hold_while_locked(widget: QWidget) -> bool:
    """For a window about to pop up (a new alert): if the console is locked, keep it hidden and
    show it on unlock instead; True if it was held."""
    for lock in list(_LOCKS):
        if lock.is_locked:
            if widget not in lock._hidden:
                lock._hidden.append(widget)
            return True
    return False
ACTIVITY = {QEvent.KeyPress, QEvent.MouseButtonPress, QEvent.MouseMove, QEvent.Wheel, QEvent.TouchBegin}


def _owned_by(w: QWidget, owner: QWidget) -> bool:
    """w is owner or a window parented (at any depth, across windows) to owner."""
    while w is not None:
        if w is owner:
            return True
        w = w.parentWidget()
    return False


class LockOverlay(QWidget):
    """Opaque cover over the whole console: hides incident data from passers-by."""

    def __init__(self, parent: QWidget, who: str) -> None:
        super().__init__(parent)
        self.setObjectName("idleLock")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.setStyleSheet("#idleLock { background: palette(shadow); } #idleLock QLabel { color: palette(light); }")
        title = QLabel(f"Console locked — {who}")
        title.setStyleSheet("font-size: 20pt; font-weight: bold")
        self.password = QLineEdit(echoMode=QLineEdit.Password, placeholderText="Password")
        self.password.setMaximumWidth(320)
        self.unlock_btn = QPushButton("Unlock")
        self.message = QLabel("Locked after inactivity. Enter your password to continue.")
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        for w in (title, self.message, self.password, self.unlock_btn):
            lay.addWidget(w, 0, Qt.AlignHCenter)
        lay.addStretch(2)


class IdleLock(QObject):
    locked = Signal()
    unlocked = Signal()

    def __init__(self, window: QWidget, verify: Callable[[str], bool], *, idle_ms: int, who: str = "") -> None:
        super().__init__(window)
        self.window = window
        self.verify = verify
        self.who = who
        self.overlay: LockOverlay | None = None
        self.timer = QTimer(self, singleShot=True, interval=max(1, idle_ms))
        self.timer.timeout.connect(self.lock)
        self._since_restart = QElapsedTimer()
        self._since_restart.start()
        # Input for every widget of a top-level window passes through its QWindow first, so one
        # filter there sees all activity. (An application-wide Python filter would also be handed
        # half-destroyed internal objects, e.g. QtWebEngine's, and crash the interpreter.)
        self.handle = None
        self._hidden: list[QWidget] = []  # other top-level windows hidden while locked
        self._cover = QTimer(self, interval=200, timeout=self._hide_others)
        _LOCKS.append(self)
        self.destroyed.connect(lambda *_: _LOCKS.remove(self) if self in _LOCKS else None)
        window.installEventFilter(self)
        self._attach()
        if idle_ms > 0:
            self.timer.start()

    @property
    def is_locked(self) -> bool:
        return self.overlay is not None and self.overlay.isVisible()

    def _attach(self) -> None:
        handle = self.window.windowHandle()
        if handle is not None and handle is not self.handle:
            handle.installEventFilter(self)
            self.handle = handle

    def _detach(self) -> None:
        if self.handle is not None:
            self.handle.removeEventFilter(self)
            self.handle = None

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        t = event.type()
        if obj is self.window:
            if t == QEvent.Show:
                self._attach()
            elif t == QEvent.DeferredDelete:
                self._detach()
            elif t == QEvent.Resize and self.overlay is not None:
                self.overlay.setGeometry(self.window.rect())
            return False
        if self.is_locked:
            return self._guard(event)
        if t in ACTIVITY and self.timer.interval() > 0 and self._since_restart.elapsed() > 200:
            self._since_restart.restart()  # restarting on every mouse move would be wasted work
            self.timer.start()
        return False

    def _guard(self, event: QEvent) -> bool:
        """While locked: keys go to the password field, clicks only reach the overlay."""
        t = event.type()
        if t in (QEvent.KeyPress, QEvent.KeyRelease, QEvent.ShortcutOverride):
            focus = QApplication.focusWidget()
            if focus is None or not self.overlay.isAncestorOf(focus):
                self.overlay.password.setFocus()
            return False
        if t in (QEvent.MouseButtonPress, QEvent.MouseButtonRelease, QEvent.MouseButtonDblClick, QEvent.Wheel):
            target = self.window.childAt(self.window.mapFromGlobal(event.globalPosition().toPoint()))
            return not (target is self.overlay or (target is not None and self.overlay.isAncestorOf(target)))
        return False

    def lock(self) -> None:
        if self.is_locked or not self.window.isVisible():
            return  # (a console window that is closed or not yet shown has nothing to cover)
        if self.overlay is None:
            self.overlay = LockOverlay(self.window, self.who)
            self.overlay.unlock_btn.clicked.connect(self.try_unlock)
            self.overlay.password.returnPressed.connect(self.try_unlock)
        self.overlay.setGeometry(self.window.rect())
        self.overlay.password.clear()
        self.overlay.show()
        self.overlay.raise_()
        self.overlay.password.setFocus()
        self._hide_others()
        self._cover.start()  # windows that pop up while locked (a new alert) are hidden too
        self.locked.emit()

    def _hide_others(self) -> None:
        if not self.is_locked:  # closed while locked: this console no longer covers anything
            self._cover.stop()
            return
        others = [lk.window for lk in _LOCKS if lk is not self]
        for w in QApplication.topLevelWidgets():
            if w is self.window or not w.isVisible() or w.isAncestorOf(self.window):
                continue
            if any(_owned_by(w, o) for o in others):
                continue  # another console's window in this process (training room, tests): its own lock
            if w.windowType() in (Qt.ToolTip, Qt.Popup) or w.inherits("QMenu"):
                w.hide()
                continue
            w.hide()
            if w not in self._hidden:
                self._hidden.append(w)

    def _restore_others(self) -> None:
        self._cover.stop()
        hidden, self._hidden = self._hidden, []
        for w in hidden:
            try:
                w.show()
                w.raise_()
            except RuntimeError:  # deleted while we were locked
                pass

    def try_unlock(self) -> None:
        ov = self.overlay
        if ov is None or not ov.unlock_btn.isEnabled():
            return
        password = ov.password.text()
        ov.unlock_btn.setEnabled(False)
        ov.message.setText("Checking…")
        run_op(self.window, lambda: self.verify(password), on_done=self._checked, on_error=self._failed)

    def _checked(self, ok: bool) -> None:
        ov = self.overlay
        ov.unlock_btn.setEnabled(True)
        ov.password.clear()
        if not ok:
            ov.message.setText("Wrong password (the attempt is recorded).")
            return
        ov.hide()
        self._restore_others()
        ov.message.setText("Locked after inactivity. Enter your password to continue.")
        self.timer.start()
        self.unlocked.emit()

    def _failed(self, err: ControlRoomError) -> None:
        self.overlay.unlock_btn.setEnabled(True)
        self.overlay.message.setText(f"Cannot check the password now: {err} The console stays locked.")


def idle_minutes(session: object | None = None) -> float:
    """The force's policy from the database; the default when it cannot be read. The operator's
    settings file is NOT consulted (an operator could switch the lock off there)."""
    value = getattr(session, "policy", lambda *_: None)("idle_lock_minutes") if session else None
    try:
        return max(0.0, float(value)) if value is not None else float(DEFAULT_MINUTES)
    except (TypeError, ValueError):
        return float(DEFAULT_MINUTES)


def install_idle_lock(window: QWidget, *, idle_ms: int | None = None) -> IdleLock | None:
    """Attach the idle lock to a MainWindow (uses window.ctx.session); None when the force's
    policy turns it off."""
    ms = int(idle_minutes(window.ctx.session) * 60_000) if idle_ms is None else idle_ms
    if ms <= 0:
        return None
    session = window.ctx.session
    lock = IdleLock(window, session.verify_password, idle_ms=ms,
                    who=f"{session.user.display_name or session.user.username} @ {session.console_id}")
    window.idle_lock = lock
    return lock
