"""The time-travel replay window and its models (REPLAY on the command line)."""
