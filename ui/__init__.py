"""Qt layer of the controlroom console: widgets, Qt models and the map view."""
from . import qt_workarounds  # noqa: F401  (before any signal is emitted: PySide6 emit refcount bug)
