"""The services: one package per feature (incidents, units, talkgroups, command, contacts, rooms,
audit, intel, exchange) or one module for a one-module feature (alerts, paper, recovery,
reference, training, workforce), over the services' kernel at this level: base.py (ServiceContext,
Tx, db_errors, to_json), events.py, views.py (the frozen views several features share) and
validate.py. Features do not import each other except through the layers in pyproject.toml."""
