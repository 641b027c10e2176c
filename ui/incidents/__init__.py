"""Incidents: the form (form, form_location, form_tabs, close), the list (list_panel, model), hub (signals from the command line's verbs)."""
