"""`python -m tools.bench [--quick] [--duration 300]`: the one benchmark report (tools/bench/report.py)."""
from .report import main

raise SystemExit(main())
