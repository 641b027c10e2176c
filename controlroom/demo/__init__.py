"""Simulators that drive the real services, for the demo, training and tests.

seed.py / seed_functions.py: the demo force loaded into a new database (rooms, areas, users, units,
talk groups; guidance and recovery rota); activity.py: the demo's live picture and DemoAvl;
avl.py: units moving along plausible paths; demand.py: contact history for dashboards and
forecasting; scenario.py: training scenarios (file format and player); debrief.py: an exercise's
actions against the scenario's expected timings. Nothing in the product's services imports these.
"""
