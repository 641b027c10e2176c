"""Benchmark drivers, run from a checkout: `python -m tools.bench` (the report),
`python -m tools.bench.worker` / `tools.bench.listeners` (the load and scale children).
tests/perf imports the shared helpers from tools.bench.common."""
