"""Time-travel replay. state.py: the pure reducer (VirtualRoomState; no database, no SQLAlchemy);
store.py: the Replayer (baseline + events + snapshots from the database); report.py: a segment as a
time-stamped report. Import the module you need: this package imports nothing by itself."""
