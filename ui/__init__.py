"""Qt layer of the controlroom console: widgets, Qt models and the map view."""
from .kit import qt_workarounds  # noqa: F401  (first: PySide6 6.12/CPython 3.11 drain None/True, issue 18)
