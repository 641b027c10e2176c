"""Despatch: the form's despatch tab (recommendations, assigned units) and the units panel."""
