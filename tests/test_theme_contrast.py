"""Both themes readable: every text/background pair meets WCAG AA (4.5:1), computed from the palette
and from the QSS the console actually loads (issue 18: dark-grey text on black in the night theme,
near-white command-line replies on light grey in the day theme)."""
from __future__ import annotations

import re

import pytest

from controlroom.kernel.config import RESOURCES
from controlroom.kernel import palette

AA = 4.5
THEMES = ("light", "dark")
_RULE = re.compile(r"([^{}]+)\{([^}]*)\}")
_PROP = re.compile(r"(?<![-\w])(color|background|background-color)\s*:\s*(#[0-9a-fA-F]{6})\b")
_STATE = re.compile(r"(:[\w-]+|\[[^\]]*\])+$")
MEANING = {**{f"grade {k}": v for k, v in palette.GRADE_COLOURS.items()},
           **{f"status {k}": v for k, v in palette.UNIT_STATUS_COLOURS.items()},
           **{f"room {k}": v for k, v in palette.ROOM_COLOURS.items()},
           "countdown ok": palette.COUNTDOWN_OK, "countdown warn": palette.COUNTDOWN_WARN,
           "countdown breach": palette.COUNTDOWN_BREACH, "ungraded": palette.UNGRADED_COLOUR,
           "training band": palette.TRAINING_BAND, "replay band": palette.REPLAY_BAND}


def qss_rules(theme: str) -> list[tuple[str, dict[str, str]]]:
    text = re.sub(r"/\*.*?\*/", "", (RESOURCES / "themes" / f"{theme}.qss").read_text(), flags=re.S)
    out = []
    for selectors, body in _RULE.findall(text):
        props = {("bg" if k.startswith("background") else "fg"): v.lower() for k, v in _PROP.findall(body)}
        out += [(sel.strip(), props) for sel in selectors.split(",")]
    return out


def qss_pairs(theme: str) -> list[tuple[str, str, str]]:
    """(selector, text, background) for every rule that sets a colour: a rule's own background, else
    its unstated-state rule's, else its container's (`A B` -> A), else the theme's grounds."""
    rules = qss_rules(theme)
    by_sel: dict[str, dict[str, str]] = {}
    for sel, props in rules:
        by_sel.setdefault(sel, {}).update(props)
    ground = palette.THEMES[theme]

    def look(sel: str, key: str) -> str | None:
        for s in (sel, _STATE.sub("", sel)):
            if key in by_sel.get(s, {}):
                return by_sel[s][key]
        return None

    pairs = []
    for sel, props in rules:
        if not props:
            continue
        if "fg" not in props and any(s.startswith(sel + " ") and "fg" in p for s, p in by_sel.items()):
            continue  # a container whose children set their own text colour
        fg = look(sel, "fg") or ground["text"]
        bg = look(sel, "bg")
        parts = sel.split()
        while bg is None and len(parts) > 1:
            parts = parts[:-1]
            bg = look(" ".join(parts), "bg")
        for b in [bg] if bg else [ground["base"], ground["window"]]:
            pairs.append((sel, fg, b))
    return pairs


@pytest.mark.parametrize("theme", THEMES)
def test_every_text_and_background_pair_of_the_qss_meets_aa(theme):
    low = [(s, fg, bg, round(palette.contrast(fg, bg), 2)) for s, fg, bg in qss_pairs(theme)
           if palette.contrast(fg, bg) < AA]
    assert not low, low
    assert len(qss_pairs(theme)) > 20  # the parser found the rules


@pytest.mark.parametrize("theme", THEMES)
def test_palette_text_colours_meet_aa_on_every_ground_of_the_theme(theme):
    t = palette.THEMES[theme]
    low = [(k, g, round(palette.contrast(t[k], t[g]), 2)) for k in palette.TEXT_KEYS for g in palette.GROUND_KEYS
           if palette.contrast(t[k], t[g]) < AA]
    low += [(room, g) for room, c in palette.ROOM_TEXT[theme].items() for g in palette.GROUND_KEYS
            if palette.contrast(c, t[g]) < AA]
    assert not low, low


@pytest.mark.parametrize("theme", THEMES)
def test_palette_mirrors_the_qss_the_console_loads(theme):
    by_sel = dict(qss_rules(theme))
    t = palette.THEMES[theme]
    assert by_sel["QWidget"]["fg"] == t["text"]
    assert by_sel["QTableView"]["bg"] == t["base"]
    assert by_sel["QMainWindow"]["bg"] == t["window"]
    assert by_sel["QHeaderView::section"]["bg"] == t["panel"]


def test_text_on_meaning_colours_is_black_or_white_whichever_meets_aa():
    low = {name: round(palette.contrast(palette.ink_on(c), c), 2) for name, c in MEANING.items()
           if palette.contrast(palette.ink_on(c), c) < AA}
    assert not low, low


def test_wcag_contrast_formula():
    assert palette.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert palette.contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("theme", THEMES)
def test_meaning_colours_drawn_as_text_are_made_readable_on_both_themes(theme):
    low = {}
    for name, c in {**MEANING, "stale": palette.STALE_COLOUR}.items():
        r = palette.readable(c, theme)
        worst = min(palette.contrast(r, palette.THEMES[theme][g]) for g in palette.GROUND_KEYS)
        if worst < AA:
            low[name] = (r, round(worst, 2))
    assert not low, low
    assert palette.contrast(palette.UNGRADED_COLOUR, palette.THEMES["dark"]["base"]) < AA  # why it exists


def test_models_draw_text_in_readable_colours_for_the_active_theme(qtbot):
    from datetime import datetime, timezone

    from PySide6.QtCore import Qt

    from controlroom.services.views import IncidentView
    from ui.kit import themes
    from ui.incidents.model import COL, IncidentTableModel

    t0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    model = IncidentTableModel(lambda: t0)
    model.load([IncidentView(id=1, urn="TV-1", channel="999", incident_type="ASSAULT", summary="x", lat=52.0,
                             lon=-0.7, area_code="mk", room_code="south", grade="G2", status="open", version=1,
                             created_at=t0, deadline_at=t0)], {})
    try:
        for theme in THEMES:
            themes.apply(None, theme)
            palette.active_theme = theme
            grade = model.index(0, COL["Grade"])
            ink, bg = (model.data(grade, r).name() for r in (Qt.ForegroundRole, Qt.BackgroundRole))
            assert palette.contrast(ink, bg) >= AA  # amber G2: black ink, not white
            room = model.data(model.index(0, COL["Room"]), Qt.ForegroundRole).name()
            assert palette.contrast(room, palette.THEMES[theme]["base"]) >= AA
    finally:
        palette.active_theme = "light"


@pytest.mark.parametrize("theme", THEMES)
def test_check_boxes_and_radio_buttons_are_visible_checked_or_not(qtbot, theme):
    """Issue 18: the night theme's unchecked boxes (the incident flags, 'Accredited') were all but
    invisible. Drawn as the console draws them: the box's frame stands out from the ground by at
    least 3:1 (WCAG 1.4.11, non-text contrast), and checked differs from unchecked at a glance."""
    from PySide6.QtWidgets import QApplication, QCheckBox, QRadioButton, QStyle, QStyleOptionButton
    from ui.kit import themes

    app = QApplication.instance()
    old = app.styleSheet(), app.property("controlroomTheme")
    themes.apply(app, theme)
    try:
        ground = palette.THEMES[theme]["window"]
        for cls in (QCheckBox, QRadioButton):
            drawn = {}
            for checked in (False, True):
                w = cls("Firearms")
                qtbot.addWidget(w)
                w.setChecked(checked)
                w.resize(160, 30)
                w.show()
                qtbot.waitExposed(w)
                opt = QStyleOptionButton()
                w.initStyleOption(opt)
                sub = QStyle.SE_CheckBoxIndicator if cls is QCheckBox else QStyle.SE_RadioButtonIndicator
                rect = w.style().subElementRect(sub, opt, w)
                img = w.grab().toImage()
                px = [img.pixelColor(x, y).name() for x in range(rect.left(), rect.right() + 1)
                      for y in range(rect.top(), rect.bottom() + 1)]
                drawn[checked] = px
                best = max(palette.contrast(c, ground) for c in px)
                assert best >= 3.0, (cls.__name__, checked, theme, best)
            differ = sum(a != b for a, b in zip(drawn[False], drawn[True])) / len(drawn[False])
            assert differ > 0.2, (cls.__name__, theme, differ)  # a fill, not a hairline
    finally:
        app.setStyleSheet(old[0])
        app.setProperty("controlroomTheme", old[1])
        palette.active_theme = "light"
