"""One colour palette for list, map and boards (DESIGN §4). Never colour alone: pair with text."""
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
