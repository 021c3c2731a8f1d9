"""Hypothesis profiles of the hostile-input tests.

``HYPOTHESIS_PROFILE=ci`` runs every property of tests/hostile with 10,000 examples
(derandomized, no deadline); the default profile runs ~300 so the suite stays fast.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}

settings.register_profile("ci", max_examples=10_000, derandomize=True, **_COMMON)
settings.register_profile("default", max_examples=300, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
