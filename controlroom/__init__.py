"""controlroom: domain, services and database of the control-room console (no Qt here)."""
__version__ = "0.1.0"
