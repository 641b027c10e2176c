"""The kernel: what every layer may import and which imports nothing of ours above it.

errors (the ControlRoomError family; public name controlroom.errors), config (resource paths and
the YAML catalogues), roles (role names and the job-group ladder). No database, no Qt.
"""
