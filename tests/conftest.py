"""Suite-wide test settings: one Hypothesis profile for every property test.

CI runs on a shared 2-core machine where a single example can stall for seconds, so the
timing health checks and per-example deadlines are off; the number of examples is still set
per test. ``HYPOTHESIS_PROFILE=dev`` restores Hypothesis's defaults for local runs.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    print_blob=True,
)
settings.register_profile("dev")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
