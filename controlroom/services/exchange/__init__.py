"""Records leaving or entering the force: ExchangeService (service.py: EIDO export, the printable
report, analysts' CSV) and the import of another agency's EIDO document (importer.py), which
creates and attaches to incidents through IncidentService. The document formats themselves are
controlroom/exchange/ (no session)."""
from .importer import PartnerIncidentView
from .service import ExchangeService

__all__ = ["ExchangeService", "PartnerIncidentView"]
