"""Intelligence checks: IntelService (service.py: request, run, record, relay; every step audited)
and the adapter interface to the force's systems with the demo adapter (adapters.py)."""
from .adapters import DemoIntelAdapter, IntelAdapter, IntelResult
from .service import IntelService, purposes, subject_kinds

__all__ = ["DemoIntelAdapter", "IntelAdapter", "IntelResult", "IntelService", "purposes", "subject_kinds"]
