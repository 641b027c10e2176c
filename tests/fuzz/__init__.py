"""Property-based fuzzing of every public service write (issue 15).

Profiles: the default run keeps each property to a few dozen examples so the suite stays well
under two minutes; `CONTROLROOM_FUZZ=long` runs 500 examples per property (minutes per service).
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, derandomize=False, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                      HealthCheck.filter_too_much, HealthCheck.data_too_large])
settings.register_profile("fuzz", max_examples=25, **_COMMON)
settings.register_profile("fuzz-long", max_examples=500, **_COMMON)

PROFILE = "fuzz-long" if os.environ.get("CONTROLROOM_FUZZ", "").lower() == "long" else "fuzz"
# Applied per test (not settings.load_profile) so other hypothesis tests keep their own settings.
FUZZ = settings.get_profile(PROFILE)
