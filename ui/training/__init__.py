"""The trainer's window and its models (scenario player controls, debrief)."""
