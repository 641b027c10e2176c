"""One colour palette for list, map and boards (DESIGN §4): the colours and labels of grades, unit and
incident statuses and rooms, and the themes' text colours. Qt-free (maps/builder.py draws with it too).
Never colour alone: pair with text."""
from __future__ import annotations

GRADE_COLOURS: dict[str, str] = {
    "G1": "#d32f2f",  # red
    "G2": "#f59e0b",  # amber
    "G3": "#1e6fd9",  # blue
    "G4": "#8a8f98",  # grey
}
GRADE_LABELS: dict[str, str] = {
    "G1": "G1 Emergency",
    "G2": "G2 Priority",
    "G3": "G3 Scheduled",
    "G4": "G4 Resolution",
}
UNGRADED_COLOUR = "#5f6368"

UNIT_STATUS_COLOURS: dict[str, str] = {
    "available": "#2e7d32",     # green
    "at_station": "#81c784",    # light green
    "en_route": "#1565c0",      # blue
    "at_scene": "#7b1fa2",      # purple
    "transporting": "#e65100",  # dark orange
    "committed": "#e65100",     # dark orange
    "refreshments": "#9e9e9e",  # grey
    "off_duty": "#424242",      # dark grey
    "emergency": "#b71c1c",     # deep red: an officer pressed the emergency button
}
UNIT_STATUS_LABELS: dict[str, str] = {
    "available": "Available",
    "at_station": "At station",
    "en_route": "En route",
    "at_scene": "At scene",
    "transporting": "Transporting",
    "committed": "Committed",
    "refreshments": "Refreshments",
    "off_duty": "Off duty",
    "emergency": "EMERGENCY",
}
STALE_COLOUR = "#b0b0b0"
INCIDENT_STATUS_LABELS: dict[str, str] = {
    "open": "Open",
    "despatched": "Despatched",
    "at_scene": "At scene",
    "closed": "Closed",
}

ROOM_COLOURS: dict[str, str] = {
    "north": "#1f5fbf",  # blue
    "south": "#00897b",  # teal
}
ROOM_LABELS: dict[str, str] = {"north": "North (Milton Keynes)", "south": "South (Abingdon)"}

TRAINING_BAND = "#c62828"
REPLAY_BAND = "#6a1b9a"

COUNTDOWN_OK = "#2e7d32"
COUNTDOWN_WARN = "#f59e0b"     # ≥ 75 % of the grade target used
COUNTDOWN_BREACH = "#d32f2f"   # target passed


def grade_colour(grade: str | None) -> str:
    return GRADE_COLOURS.get(grade or "", UNGRADED_COLOUR)


def unit_status_colour(status: str, *, stale: bool = False) -> str:
    return STALE_COLOUR if stale else UNIT_STATUS_COLOURS.get(status, STALE_COLOUR)


def room_colour(room: str | None) -> str:
    return ROOM_COLOURS.get(room or "", "#777777")


# ---- themes: the text colours each theme draws on its backgrounds (mirrors resources/themes/*.qss;
# tests/test_theme_contrast.py holds both to WCAG AA, 4.5:1, for every text/background pair) ----
THEMES: dict[str, dict[str, str]] = {
    "light": {"text": "#1d232b", "base": "#ffffff", "window": "#eef1f5", "panel": "#e4e9f0",
              "muted": "#525c69", "border": "#b8c2cf", "link": "#1f5fbf", "error": "#b71c1c",
              "ok": "#1b5e20", "stale": "#5f6368", "map": "#eceee8"},
    "dark": {"text": "#d7dde5", "base": "#161b22", "window": "#0f1318", "panel": "#222a35",
             "muted": "#9aa5b3", "border": "#3a4554", "link": "#8ab4ff", "error": "#ff8a80",
             "ok": "#66d17a", "stale": "#a3abb6", "map": "#10141a"},
}
TEXT_KEYS = ("text", "muted", "link", "error", "ok", "stale")
GROUND_KEYS = ("base", "window", "panel")
ROOM_TEXT: dict[str, dict[str, str]] = {  # a room's name drawn as coloured text on the theme's base
    "light": {"north": "#1f5fbf", "south": "#00695c"},
    "dark": {"north": "#8ab4ff", "south": "#4dd0c1"},
}
active_theme = "light"  # set by ui.kit.themes.apply; models read it for text drawn on the theme's ground


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of '#rrggbb'."""
    c = colour.lstrip("#")
    rgb = [int(c[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio (1 … 21) of two opaque colours."""
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def ink_on(background: str) -> str:
    """Black or white, whichever reads better on a meaning colour (grade, status, countdown, room)."""
    return "#000000" if contrast("#000000", background) >= contrast("#ffffff", background) else "#ffffff"


def theme_text(key: str, theme: str | None = None) -> str:
    return THEMES[theme or active_theme][key]


def room_text_colour(room: str | None, theme: str | None = None) -> str:
    return ROOM_TEXT[theme or active_theme].get(room or "", theme_text("muted", theme))


def _mix(colour: str, towards: str, share: float) -> str:
    a, b = colour.lstrip("#"), towards.lstrip("#")
    return "#" + "".join(f"{round(int(a[i:i + 2], 16) * (1 - share) + int(b[i:i + 2], 16) * share):02x}"
                         for i in (0, 2, 4))


def readable(colour: str, theme: str | None = None) -> str:
    """A meaning colour used as TEXT on the theme's grounds, lightened (night) or darkened (day)
    just enough for 4.5:1 on every ground: same hue, readable (grey #5f6368 on black was not)."""
    t = THEMES[theme or active_theme]
    towards = "#ffffff" if luminance(t["base"]) < 0.2 else "#000000"
    for step in range(11):
        c = _mix(colour, towards, step / 10)
        if all(contrast(c, t[g]) >= 4.5 for g in GROUND_KEYS):
            return c
    return towards
