"""Police command: CommandService (service.py: spontaneous firearms command, armed authorisation,
Gold/Silver/Bronze roles, decisions, METHANE), its frozen views and text (views.py) and the
METHANE headings' aliases and columns (methane.py)."""
from .service import CommandService

__all__ = ["CommandService"]
