"""Audit: AuditService (service.py: reading, verifying and exporting the hash-chained audit
trail; quality sampling through qa.py's functions) and the head anchored outside the database
(anchor.py: `python -m controlroom.services.audit.anchor anchor|verify`; not imported here, so that
running it as a module finds it unimported)."""
from .qa import OUTCOMES, QA_CHECKLIST
from .service import GENESIS, AuditService, row_hash

__all__ = ["GENESIS", "OUTCOMES", "QA_CHECKLIST", "AuditService", "row_hash"]
