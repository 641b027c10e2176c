"""The F2 command line: line.py (the widget), registry.py (verb table), verbs.py (every verb,
registered in one place) and the verb handlers by kind (incidents, despatch, talkgroups,
police_command)."""
