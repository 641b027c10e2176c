"""Per-role default layouts that fit a 1366×768 laptop and a 1920×1080 desk screen (issue 18 item 8).

Each role gets two dock columns around the map: the left column shows its top panel above a
stack of tabs, the right column likewise. What a role watches all shift is on top; everything else
is one tab away; panels the role rarely needs start closed (View menu, or a boards window on a
second screen) instead of being crammed in — the inspector's default was eight panels at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

if TYPE_CHECKING:
    from .main_window import MainWindow

# Panels that lay themselves out (their own scroll areas, buttons kept in view): never wrap
# them in a dock-level scroll area that would scroll their Save button away.
SELF_SCROLLING = frozenset({"incident_form", "contacts"})


@dataclass(frozen=True)
class RoleLayout:
    left: tuple[str, ...]    # first: the top panel; the rest: tabs under it (first one raised)
    right: tuple[str, ...]   # likewise; a one-element group means "one stack, full height"
    closed: tuple[str, ...] = ()  # start closed (View menu / boards window)
    right_stacked: bool = False  # True: the whole right column is one tab stack at full height
    left_top_share: float = 0.42  # the left top panel's share of the column height
    raise_right: str | None = None  # the right-column tab raised by default
    right_share: float = 0.27  # of the window width (the command panel needs more than a board)


_BOARDS = ("dashboards", "reconciliation", "banding", "replay", "recovery")
LAYOUTS: dict[str, RoleLayout] = {
    # the handler takes contacts and writes incidents: both in the wide left column
    "call_handler": RoleLayout(left=("contacts", "incident_form"),
                               right=("incidents", "prompts", "reference", "units", "talkgroups", "command"),
                               closed=("recovery",), left_top_share=0.45),
    "despatcher": RoleLayout(left=("incidents", "incident_form", "contacts"),
                             right=("units", "talkgroups", "command", "prompts", "intel", "reference", "recovery")),
    "supervisor": RoleLayout(left=("incidents", "incident_form", "contacts"),
                             right=("units", "talkgroups", "command", "prompts", "intel", "reference"),
                             closed=_BOARDS),
    "inspector": RoleLayout(left=("incidents", "incident_form", "contacts"),
                            right=("command", "units", "talkgroups", "prompts", "intel", "reference"),
                            closed=_BOARDS, right_stacked=True, raise_right="command", right_share=0.34),
    "trainer": RoleLayout(left=("incidents", "incident_form", "contacts"),
                          right=("trainer", "units", "talkgroups", "command", "prompts", "reference"),
                          closed=_BOARDS + ("intel",), right_stacked=True, raise_right="trainer"),
    "auditor": RoleLayout(left=("incidents", "incident_form"),
                          right=("audit", "replay", "units", "talkgroups", "command", "intel", "reference"),
                          closed=("contacts", "recovery", "prompts"), right_stacked=True, raise_right="audit"),
}


def layout_for(role: str) -> RoleLayout:
    return LAYOUTS.get(role, LAYOUTS["despatcher"])


def column_widths(window_width: int, right_share: float = 0.27) -> tuple[int, int]:
    """Left and right column widths: the map keeps at least ~35 % of a small screen."""
    left = int(min(max(window_width * (0.27 if right_share > 0.3 else 0.31), 400), 560))
    right = int(min(max(window_width * right_share, 340), 560))
    return left, right


def apply(win: "MainWindow") -> None:
    """Put every dock where the role's default says (called at start and by View ▸ Reset layout)."""
    spec = layout_for(win.ctx.session.user.role)
    docks = win.docks
    placed: set[str] = set()
    for area, names, stacked in ((Qt.LeftDockWidgetArea, spec.left, False),
                                 (Qt.RightDockWidgetArea, spec.right, spec.right_stacked)):
        present = [docks[n] for n in names if n in docks]
        placed.update(n for n in names if n in docks)
        _column(win, area, present, stacked)
    extra = [d for k, d in docks.items() if k not in placed and k not in spec.closed]
    right = [docks[n] for n in spec.right if n in docks]
    for dock in extra:  # panels added by later work: one tab away in the right column, never squeezed in
        win.addDockWidget(Qt.RightDockWidgetArea, dock)
        if right:
            win.tabifyDockWidget(right[-1], dock)
    for name in spec.closed:
        if name in docks:
            docks[name].setFloating(False)
            docks[name].close()
    _raise_defaults(win, spec)


def _column(win: "MainWindow", area: Qt.DockWidgetArea, present: list[QDockWidget], stacked: bool) -> None:
    for dock in present:
        dock.setFloating(False)
        win.addDockWidget(area, dock)
        dock.show()
    if not present:
        return
    if stacked or len(present) == 1:
        for dock in present[1:]:
            win.tabifyDockWidget(present[0], dock)
        return
    top, base = present[0], present[1]
    win.splitDockWidget(top, base, Qt.Vertical)
    for dock in present[2:]:
        win.tabifyDockWidget(base, dock)


def _raise_defaults(win: "MainWindow", spec: RoleLayout) -> None:
    docks = win.docks
    for group, stacked in ((spec.left, False), (spec.right, spec.right_stacked)):
        present = [n for n in group if n in docks]
        if not present:
            continue
        first = present[0] if stacked or len(present) == 1 else present[1]
        docks[first].raise_()
    if spec.raise_right and spec.raise_right in docks:
        docks[spec.raise_right].raise_()


def apply_sizes(win: "MainWindow") -> None:
    """Column widths and the left split for the window's current size (after it has one)."""
    spec = layout_for(win.ctx.session.user.role)
    d = win.docks
    left_w, right_w = column_widths(win.width(), spec.right_share)
    left = [d[n] for n in spec.left if n in d]
    right = [d[n] for n in spec.right if n in d]
    if left and right:
        win.resizeDocks([left[0], right[0]], [left_w, right_w], Qt.Horizontal)
    if len(left) >= 2:
        h = max(win.height() - 140, 300)
        top = int(h * spec.left_top_share)
        win.resizeDocks([left[0], left[1]], [top, h - top], Qt.Vertical)
    if len(right) >= 2 and not spec.right_stacked:
        h = max(win.height() - 140, 300)
        win.resizeDocks([right[0], right[1]], [h // 2, h - h // 2], Qt.Vertical)
