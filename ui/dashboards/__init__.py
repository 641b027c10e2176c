"""Boards: performance (contact dashboards), wallboard, answer banding, workforce forecast."""
