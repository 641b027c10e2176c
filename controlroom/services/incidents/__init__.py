"""Incidents: the record from creation to closure — IncidentService (service.py: create, update,
grade, log, THRIVE, links, breaches, related incidents), supervised downgrades (signoff.py),
prompts to the owning room (prompts.py); closing codes and link kinds (lifecycle.py), the related
incidents' SQL (related.py), their frozen views (views.py) and local times in log lines (clock.py)."""
from ..views import FLAG_NAMES
from .prompts import PromptService
from .service import IncidentService, normalise_phone, target_minutes
from .signoff import SignoffService

__all__ = ["FLAG_NAMES", "IncidentService", "PromptService", "SignoffService", "normalise_phone",
           "target_minutes"]
