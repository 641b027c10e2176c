"""Simulators that drive the real services, for the demo, training and tests.

The demo force itself (rooms, areas, users, units, talk groups; guidance and recovery rota) is
data that `init_database(demo=True)` loads inside its migrating transaction: controlroom/db/seed.py
and seed_functions.py. Here: activity.py: the demo's live picture and DemoAvl;
avl.py: units moving along plausible paths; demand.py: contact history for dashboards and
forecasting; scenario.py: training scenarios (file format and player); debrief.py: an exercise's
actions against the scenario's expected timings. Nothing in the product's services imports these.
"""
