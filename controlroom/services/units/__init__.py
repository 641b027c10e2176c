"""Units: the one home of the unit status machine — UnitService (service.py: statuses, AVL
positions, the status model and labels) and DespatchService (despatch.py: assign, arrive, clear,
divert, recommend the nearest capable unit), sharing one in-memory UnitIndex (index.py)."""
from .despatch import DespatchService, needed_capability
from .service import UNIT_COLUMNS, UnitService, UnitView, unit_view

__all__ = ["UNIT_COLUMNS", "DespatchService", "UnitService", "UnitView", "needed_capability", "unit_view"]
