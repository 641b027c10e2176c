"""Supervisor's wallboard: full screen, large type, the few figures a room watches from afar."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QFrame, QGridLayout, QVBoxLayout, QWidget)
from ..kit.plain import QLabel  # plain text unless made rich on purpose (issue 19)

from controlroom.services.contacts.dashboard import Dashboard

from controlroom.kernel import palette
from ..kit.context import ConsoleContext
from ..contacts.panel import fmt_wait
from .performance import DashboardFeed

OK, WARN, BAD, NEUTRAL = palette.COUNTDOWN_OK, palette.COUNTDOWN_WARN, palette.COUNTDOWN_BREACH, "#37474f"


class Tile(QFrame):
    """One figure: caption, big value, small detail; the colour always comes with words."""

    def __init__(self, caption: str) -> None:
        super().__init__()
        self.setObjectName("wallTile")
        self.caption = QLabel(caption.upper())
        self.value = QLabel("—")
        self.detail = QLabel("")
        for w, size, bold in ((self.caption, 22, True), (self.value, 84, True), (self.detail, 22, False)):
            w.setAlignment(Qt.AlignCenter)
            w.setStyleSheet(f"background: transparent; color: white; font-size: {size}px; font-weight: {'bold' if bold else 'normal'};")
        lay = QVBoxLayout(self)
        lay.addWidget(self.caption)
        lay.addWidget(self.value, 1)
        lay.addWidget(self.detail)
        self.set("—", "", NEUTRAL)

    def set(self, value: str, detail: str, colour: str) -> None:
        self.value.setText(value)
        self.detail.setText(detail)
        self.setStyleSheet(f"#wallTile {{ background: {colour}; border-radius: 12px; }}")


def sl_colour(pct: float | None, target: float = 90.0) -> str:
    if pct is None:
        return NEUTRAL
    return OK if pct >= target else WARN if pct >= target - 10 else BAD


class Wallboard(QWidget):
    def __init__(self, ctx: ConsoleContext, feed: DashboardFeed | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Control room wallboard")
        self.setObjectName("wallboard")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.setStyleSheet("#wallboard { background: #101418; }")
        self.feed = feed or DashboardFeed(ctx, parent=self)
        self.title = QLabel(f"{ctx.session.room.name} — contact wallboard")
        self.title.setStyleSheet("background: transparent; color: white; font-size: 30px; font-weight: bold;")
        self.tiles = {k: Tile(c) for k, c in (
            ("waiting", "Contacts waiting"), ("p1", "999 / P1 waiting"), ("longest", "Longest wait"),
            ("review", "Emergency flags to review"), ("sl999", "999 answered ≤ 10 s (hour)"),
            ("sl999s", "999 answered ≤ 10 s (shift)"), ("sl101", "101 answered ≤ 40 s (hour)"),
            ("abandoned", "Abandoned this shift"), ("g1", "G1 attended in target"))}
        grid = QGridLayout()
        grid.setSpacing(16)
        for i, t in enumerate(self.tiles.values()):
            grid.addWidget(t, i // 3, i % 3)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addLayout(grid, 1)
        QShortcut(QKeySequence(Qt.Key_Escape), self, activated=self.close)
        self.feed.updated.connect(self.apply)
        if self.feed.last is not None:
            self.apply(self.feed.last)

    def apply(self, d: Dashboard) -> None:
        t = self.tiles
        total, longest = d.queue_total(), d.longest_wait_s()
        p1 = next((q for q in d.queue if q.priority == 1), None)
        t["waiting"].set(str(total), " · ".join(f"P{q.priority} {q.waiting}" for q in d.queue) or "queue empty",
                         NEUTRAL if total < 10 else WARN)
        t["p1"].set(str(p1.waiting if p1 else 0), f"longest {fmt_wait(p1.longest_wait_s)}" if p1 else "none waiting",
                    BAD if p1 and p1.longest_wait_s > 10 else OK)
        t["longest"].set(fmt_wait(longest), "any priority", BAD if longest > 300 else WARN if longest > 60 else OK)
        t["review"].set(str(d.needs_review), "need a human decision" if d.needs_review else "none",
                        BAD if d.needs_review else OK)
        for key, channel, shift in (("sl999", "999", False), ("sl999s", "999", True), ("sl101", "101", False)):
            s = d.sl(channel, shift=shift)
            pct = None if s is None else s.pct
            t[key].set("—" if pct is None else f"{pct:.0f}%",
                       "no calls yet" if pct is None else f"{s.met}/{s.offered} · target {s.target_pct:.0f}%",
                       sl_colour(pct, s.target_pct if s else 90.0))
        shift_hours = [i for i, h in enumerate(d.hours) if h >= d.shift_start.replace(minute=0)]
        ab = sum(d.abandoned[i] for i in shift_hours)
        cb = sum(d.callbacks[i] for i in shift_hours)
        t["abandoned"].set(str(ab), f"{cb} called back · since {d.shift_start:%H:%M}", NEUTRAL)
        g1 = None if not d.g1_due else 100 * d.g1_met / d.g1_due
        t["g1"].set("—" if g1 is None else f"{g1:.0f}%", f"{d.g1_met}/{d.g1_due} this shift", sl_colour(g1))
        self.title.setText(f"{self.title.text().split(' — ')[0]} — contact wallboard · {d.now.astimezone():%H:%M:%S}")


def show_wallboard(ctx: ConsoleContext, feed: DashboardFeed | None = None) -> Wallboard:
    """Open the wallboard full screen (Esc closes it)."""
    w = Wallboard(ctx, feed)
    w.setAttribute(Qt.WA_DeleteOnClose)
    w.showFullScreen()
    return w


def make_panel(ctx: ConsoleContext) -> QWidget:
    return Wallboard(ctx)

