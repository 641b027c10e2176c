"""Contacts: one virtual queue for every channel — ContactService (service.py), emergency-content
rules for non-emergency channels (rules.py), service levels and dashboard figures (dashboard.py) and
999/101 answer banding (banding.py: BandingService). ContactView lives in the services' views.py
(handoff reads contacts too)."""
from ..views import ContactView, contact_view
from .banding import BandingService
from .service import THRIVE_KEYS, ContactService

__all__ = ["THRIVE_KEYS", "BandingService", "ContactService", "ContactView", "contact_view"]
