"""Light and dark ("night shift") themes from QSS files in resources/themes/."""
from __future__ import annotations

from PySide6.QtWidgets import QApplication

from controlroom.kernel.config import resource_path

from controlroom.kernel import palette

THEMES = {"light": "Day (light)", "dark": "Night shift (dark)"}


def apply(app: QApplication | None, name: str) -> str:
    name = name if name in THEMES else "light"
    if app is not None:
        app.setStyle("Fusion")
        qss = resource_path(f"themes/{name}.qss").read_text(encoding="utf-8")
        # images the style sheet names (the check mark) live beside it, wherever the package is
        app.setStyleSheet(qss.replace("@themes@", resource_path("themes").as_posix()))
        app.setProperty("controlroomTheme", name)
    palette.active_theme = name  # models draw text on the theme's ground in its colours
    return name
