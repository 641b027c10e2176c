"""Officer-safety alerts (issue 20): queue.py (this console's open alerts, kept live), panel.py."""
